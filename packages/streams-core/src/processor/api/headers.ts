/**
 * Record headers: an ordered list of (key, bytes) pairs in which a key may repeat, as in Kafka.
 * Headers travel with a record through stateless and stateful operators alike. Copies share
 * their pairs until one of them is written to (copy on write), so a record passed along
 * unchanged never copies its headers.
 */
export type HeaderValue = Buffer | string;

export class Headers implements Iterable<readonly [string, Buffer]> {
  #entries: Array<readonly [string, Buffer]>;
  /** Another Headers (or a view) holds the same array: copy before writing. */
  #shared = false;

  constructor(entries?: Iterable<readonly [string, HeaderValue]>) {
    this.#entries = [];
    if (entries) for (const [k, v] of entries) this.#entries.push([k, toBuffer(v)]);
  }

  /** Wraps raw header pairs without copying them (the caller hands them over). */
  static wrap(entries: Array<readonly [string, Buffer]>): Headers {
    const h = new Headers();
    h.#entries = entries;
    return h;
  }

  get size(): number {
    return this.#entries.length;
  }

  add(key: string, value: HeaderValue): this {
    if (this.#shared) {
      this.#entries = this.#entries.slice();
      this.#shared = false;
    }
    this.#entries.push([key, toBuffer(value)]);
    return this;
  }

  /** Replaces every header of this key with one value. */
  set(key: string, value: HeaderValue): this {
    this.remove(key);
    return this.add(key, value);
  }

  remove(key: string): this {
    if (!this.has(key)) return this;
    this.#entries = this.#entries.filter(([k]) => k !== key);
    this.#shared = false;
    return this;
  }

  /** The last value of a key, as Kafka's `lastHeader`. */
  lastValue(key: string): Buffer | undefined {
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const e = this.#entries[i]!;
      if (e[0] === key) return e[1];
    }
    return undefined;
  }

  get(key: string): Buffer | undefined {
    return this.lastValue(key);
  }

  getString(key: string): string | undefined {
    return this.lastValue(key)?.toString('utf8');
  }

  has(key: string): boolean {
    return this.lastValue(key) !== undefined;
  }

  values(key: string): Buffer[] {
    return this.#entries.filter(([k]) => k === key).map(([, v]) => v);
  }

  toArray(): Array<readonly [string, Buffer]> {
    return this.#entries.slice();
  }

  /** A copy that shares the pairs until either side is written to. */
  clone(): Headers {
    const copy = Headers.wrap(this.#entries);
    copy.#shared = true;
    this.#shared = true;
    return copy;
  }

  /** The pairs as they are, without copying; writing to these headers later does not change them. */
  view(): ReadonlyArray<readonly [string, Buffer]> {
    this.#shared = true;
    return this.#entries;
  }

  [Symbol.iterator](): Iterator<readonly [string, Buffer]> {
    return this.#entries[Symbol.iterator]();
  }

  toJSON(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.#entries) out[k] = v.toString('utf8');
    return out;
  }
}

function toBuffer(v: HeaderValue): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}
