// The ordered map behind the in-memory stores: a list of sorted chunks (each at most
// MAX_CHUNK entries). Lookups are two binary searches, O(log n); an insert or delete moves at
// most one chunk's worth of entries, so the hot path never shifts the whole key set the way a
// single sorted array would.

const MAX_CHUNK = 512;

export type Comparator<K> = (a: K, b: K) => number;

export interface SortedRange<K> {
  from?: K | undefined;
  fromInclusive?: boolean;
  to?: K | undefined;
  toInclusive?: boolean;
  reverse?: boolean;
}

export class SortedMap<K, V> {
  readonly #compare: Comparator<K>;
  #keys: K[][] = [[]];
  #values: V[][] = [[]];
  #size = 0;
  // Bumped on every structural change so live iterators know to re-seek instead of trusting
  // a stale (chunk, index) position.
  #version = 0;

  constructor(compare: Comparator<K>) {
    this.#compare = compare;
  }

  get size(): number {
    return this.#size;
  }

  get(key: K): V | undefined {
    const [c, i] = this.#lowerBound(key);
    const keys = this.#keys[c] as K[];
    if (i < keys.length && this.#compare(keys[i] as K, key) === 0) return (this.#values[c] as V[])[i];
    return undefined;
  }

  /** Returns true when the key was not present before. */
  set(key: K, value: V): boolean {
    const [c, i] = this.#lowerBound(key);
    const keys = this.#keys[c] as K[];
    const values = this.#values[c] as V[];
    if (i < keys.length && this.#compare(keys[i] as K, key) === 0) {
      keys[i] = key;
      values[i] = value;
      return false;
    }
    keys.splice(i, 0, key);
    values.splice(i, 0, value);
    this.#size++;
    this.#version++;
    if (keys.length > MAX_CHUNK) {
      const half = keys.length >>> 1;
      this.#keys.splice(c + 1, 0, keys.splice(half));
      this.#values.splice(c + 1, 0, values.splice(half));
    }
    return true;
  }

  /** Returns the removed value, or undefined when the key was absent. */
  delete(key: K): V | undefined {
    const [c, i] = this.#lowerBound(key);
    const keys = this.#keys[c] as K[];
    if (i >= keys.length || this.#compare(keys[i] as K, key) !== 0) return undefined;
    const values = this.#values[c] as V[];
    const old = values[i];
    keys.splice(i, 1);
    values.splice(i, 1);
    this.#size--;
    this.#version++;
    if (keys.length === 0 && this.#keys.length > 1) {
      this.#keys.splice(c, 1);
      this.#values.splice(c, 1);
    }
    return old;
  }

  clear(): void {
    this.#keys = [[]];
    this.#values = [[]];
    this.#size = 0;
    this.#version++;
  }

  /**
   * Entries within the bounds, ascending (or descending with `reverse`). Iteration is weakly
   * consistent: writes made while iterating are allowed, and the iterator continues after the
   * last key it returned.
   */
  *entries(range: SortedRange<K> = {}): Generator<[K, V]> {
    const { from, to, reverse = false } = range;
    const fromInclusive = range.fromInclusive ?? true;
    const toInclusive = range.toInclusive ?? true;
    if (from !== undefined && to !== undefined) {
      const c = this.#compare(from, to);
      if (c > 0 || (c === 0 && !(fromInclusive && toInclusive))) return;
    }
    if (!reverse) {
      let [c, i] =
        from === undefined ? [0, 0] : fromInclusive ? this.#lowerBound(from) : this.#upperBound(from);
      let version = this.#version;
      while (c < this.#keys.length) {
        const keys = this.#keys[c] as K[];
        if (i >= keys.length) {
          c++;
          i = 0;
          continue;
        }
        const key = keys[i] as K;
        if (to !== undefined) {
          const cmp = this.#compare(key, to);
          if (cmp > 0 || (cmp === 0 && !toInclusive)) return;
        }
        yield [key, (this.#values[c] as V[])[i] as V];
        if (version !== this.#version) {
          [c, i] = this.#upperBound(key);
          version = this.#version;
        } else {
          i++;
        }
      }
    } else {
      let [c, i] = to === undefined ? this.#end() : toInclusive ? this.#upperBound(to) : this.#lowerBound(to);
      i--;
      let version = this.#version;
      while (c >= 0) {
        if (i < 0) {
          c--;
          if (c >= 0) i = (this.#keys[c] as K[]).length - 1;
          continue;
        }
        const key = (this.#keys[c] as K[])[i] as K;
        if (from !== undefined) {
          const cmp = this.#compare(key, from);
          if (cmp < 0 || (cmp === 0 && !fromInclusive)) return;
        }
        yield [key, (this.#values[c] as V[])[i] as V];
        if (version !== this.#version) {
          [c, i] = this.#lowerBound(key);
          i--;
          version = this.#version;
        } else {
          i--;
        }
      }
    }
  }

  #end(): [number, number] {
    const c = this.#keys.length - 1;
    return [c, (this.#keys[c] as K[]).length];
  }

  // Position of the first key >= `key`: the chunk is the first whose last key is >= `key`.
  #lowerBound(key: K): [number, number] {
    const chunks = this.#keys;
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = chunks[mid] as K[];
      if (this.#compare(chunk[chunk.length - 1] as K, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    const chunk = chunks[lo] as K[];
    let a = 0;
    let b = chunk.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (this.#compare(chunk[mid] as K, key) < 0) a = mid + 1;
      else b = mid;
    }
    return [lo, a];
  }

  // Position of the first key > `key`.
  #upperBound(key: K): [number, number] {
    const chunks = this.#keys;
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = chunks[mid] as K[];
      if (this.#compare(chunk[chunk.length - 1] as K, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    const chunk = chunks[lo] as K[];
    let a = 0;
    let b = chunk.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (this.#compare(chunk[mid] as K, key) <= 0) a = mid + 1;
      else b = mid;
    }
    return [lo, a];
  }
}
