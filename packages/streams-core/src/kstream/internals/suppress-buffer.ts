/**
 * The buffer behind `KTable.suppress`: the latest change per key, ordered by buffer time (window
 * end, or the time of the key's first held-back update) and then key bytes. It lives in a
 * key-value store, logged like any other, and is rebuilt from that store when a task starts, so
 * held-back updates survive restarts. A key updated again keeps its place in the order, as in
 * Kafka Streams.
 */
import type { KeyValueBytesStore } from '@kafka-pattern/state-store';
import { Headers } from '../../processor/api/headers.ts';
import type { Serde } from '../../serdes/serde.ts';
import type { StoreContext, StoreSpec } from '../../state/store-builder.ts';
import { TypedStoreBuilder } from '../../state/typed-store-builder.ts';
import type { Change } from '../change.ts';

interface Entry {
  readonly keyBytes: Buffer;
  readonly hex: string;
  readonly time: number;
  timestamp: number;
  topic: string;
  headers: Array<readonly [string, Buffer]>;
  prior: Buffer | null;
  old: Buffer | null;
  new: Buffer | null;
  size: number;
}

export interface Eviction<K, V> {
  readonly key: K;
  readonly change: Change<V>;
  readonly timestamp: number;
  readonly headers: Headers;
}

export class SuppressionBuffer<K, V> {
  readonly name: string;
  readonly inner: KeyValueBytesStore;
  readonly #keySerde: Serde<K>;
  readonly #valueSerde: Serde<V>;
  readonly #topic: string;
  readonly #byKey = new Map<string, Entry>();
  /** Sorted by (time, key bytes). */
  readonly #order: Entry[] = [];
  #bytes = 0;

  constructor(
    name: string,
    inner: KeyValueBytesStore,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
    topic: string,
  ) {
    this.name = name;
    this.inner = inner;
    this.#keySerde = keySerde;
    this.#valueSerde = valueSerde;
    this.#topic = topic;
    this.rebuild();
  }

  /** Reloads the order from the store (after restoration from the changelog). */
  rebuild(): void {
    this.#byKey.clear();
    this.#order.length = 0;
    this.#bytes = 0;
    for (const e of this.inner.all()) this.#index(decode(Buffer.from(e.key), e.value));
  }

  get numRecords(): number {
    return this.#order.length;
  }

  /** Estimated bytes held, counted as Kafka Streams counts them. */
  get bufferSize(): number {
    return this.#bytes;
  }

  get minTimestamp(): number {
    return this.#order.length === 0 ? Number.POSITIVE_INFINITY : this.#order[0]!.time;
  }

  put(
    time: number,
    key: K,
    change: Change<V>,
    context: { timestamp: number; headers: Headers; topic: string },
  ): void {
    const keyBytes = this.#keySerde.serialize(this.#topic, key);
    if (keyBytes === null) throw new Error(`Suppression buffer "${this.name}" cannot hold a null key`);
    const hex = keyBytes.toString('hex');
    const serialize = (v: V | null) =>
      v === null || v === undefined ? null : this.#valueSerde.serialize(this.#topic, v);
    const old = serialize(change.oldValue);
    const value = serialize(change.newValue);
    const existing = this.#byKey.get(hex);
    let entry: Entry;
    if (existing) {
      this.#bytes -= existing.size;
      existing.timestamp = context.timestamp;
      existing.topic = context.topic;
      existing.headers = context.headers.toArray();
      existing.old = old;
      existing.new = value;
      existing.size = sizeOf(existing, false);
      this.#bytes += existing.size;
      entry = existing;
    } else {
      entry = {
        keyBytes,
        hex,
        time,
        timestamp: context.timestamp,
        topic: context.topic,
        headers: context.headers.toArray(),
        prior: old,
        old,
        new: value,
        size: 0,
      };
      this.#index(entry);
    }
    this.inner.put(keyBytes, encode(entry));
  }

  /** Removes and returns the entry that comes first in buffer time. */
  evictFirst(): Eviction<K, V> {
    const e = this.#order.shift();
    if (!e) throw new Error(`Suppression buffer "${this.name}" is empty`);
    this.#byKey.delete(e.hex);
    this.#bytes -= e.size;
    this.inner.delete(e.keyBytes);
    const read = (b: Buffer | null) => (b === null ? null : this.#valueSerde.deserialize(this.#topic, b));
    return {
      key: this.#keySerde.deserialize(this.#topic, e.keyBytes) as K,
      change: { newValue: read(e.new), oldValue: read(e.old) },
      timestamp: e.timestamp,
      headers: Headers.wrap([...e.headers]),
    };
  }

  #index(e: Entry): void {
    e.size = sizeOf(e, e.prior === e.old);
    this.#bytes += e.size;
    this.#byKey.set(e.hex, e);
    let lo = 0;
    let hi = this.#order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.#order[mid]!;
      if (m.time < e.time || (m.time === e.time && Buffer.compare(m.keyBytes, e.keyBytes) < 0)) lo = mid + 1;
      else hi = mid;
    }
    this.#order.splice(lo, 0, e);
  }
}

/** Buffer time, key, the prior, old and new values and the record context, as Kafka Streams estimates them. */
function sizeOf(e: Entry, oldIsPrior: boolean): number {
  let size = 8 + e.keyBytes.length;
  size += e.prior?.length ?? 0;
  if (!oldIsPrior) size += e.old?.length ?? 0;
  size += e.new?.length ?? 0;
  size += 8 + 8 + 4 + e.topic.length;
  for (const [k, v] of e.headers) size += k.length + v.length;
  return size;
}

function writeBytes(parts: Buffer[], b: Buffer | null): void {
  const len = Buffer.allocUnsafe(4);
  len.writeInt32BE(b === null ? -1 : b.length, 0);
  parts.push(len);
  if (b !== null) parts.push(b);
}

/**
 * Stored layout: buffer time, record timestamp (8 bytes each), topic, header count and headers,
 * then prior, old and new values; strings and byte arrays are 4-byte length-prefixed (-1 = null).
 * `old === prior` is kept as a flag so the size estimate survives a rebuild.
 */
function encode(e: Entry): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.allocUnsafe(21);
  head.writeBigInt64BE(BigInt(e.time), 0);
  head.writeBigInt64BE(BigInt(e.timestamp), 8);
  head.writeUInt8(e.prior === e.old ? 1 : 0, 16);
  head.writeUInt32BE(e.headers.length, 17);
  parts.push(head);
  writeBytes(parts, Buffer.from(e.topic, 'utf8'));
  for (const [k, v] of e.headers) {
    writeBytes(parts, Buffer.from(k, 'utf8'));
    writeBytes(parts, v);
  }
  writeBytes(parts, e.prior);
  if (e.prior !== e.old) writeBytes(parts, e.old);
  writeBytes(parts, e.new);
  return Buffer.concat(parts);
}

function decode(keyBytes: Buffer, bytes: Buffer): Entry {
  let at = 21;
  const read = (): Buffer | null => {
    const len = bytes.readInt32BE(at);
    at += 4;
    if (len < 0) return null;
    const b = Buffer.from(bytes.subarray(at, at + len));
    at += len;
    return b;
  };
  const time = Number(bytes.readBigInt64BE(0));
  const timestamp = Number(bytes.readBigInt64BE(8));
  const oldIsPrior = bytes.readUInt8(16) === 1;
  const headerCount = bytes.readUInt32BE(17);
  const topic = read()!.toString('utf8');
  const headers: Array<readonly [string, Buffer]> = [];
  for (let i = 0; i < headerCount; i++) headers.push([read()!.toString('utf8'), read()!]);
  const prior = read();
  const old = oldIsPrior ? prior : read();
  const value = read();
  return {
    keyBytes,
    hex: keyBytes.toString('hex'),
    time,
    timestamp,
    topic,
    headers,
    prior,
    old,
    new: value,
    size: 0,
  };
}

export function suppressionBufferBuilder<K, V>(
  name: string,
  keySerde: Serde<K>,
  valueSerde: Serde<V>,
  logging: boolean,
  logConfig: Readonly<Record<string, string>>,
) {
  const spec: StoreSpec = {
    name,
    kind: 'keyValue',
    persistent: true,
    logging,
    changelogConfig: { ...logConfig },
    caching: false,
  };
  return new TypedStoreBuilder(
    spec,
    keySerde,
    valueSerde,
    (ctx: StoreContext, s, k, v) =>
      new SuppressionBuffer(s.name, ctx.keyValueBytesStore(s), k, v, ctx.serdeTopic(s.name)),
  );
}
