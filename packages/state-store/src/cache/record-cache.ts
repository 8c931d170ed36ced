// The record cache (Kafka Streams' cache.max.bytes): a write-back cache in front of a
// key-value store. Updates stay in the cache until a flush or an eviction, so a key updated
// many times between commits reaches the inner store, the changelog and downstream processors
// once, with its latest value. Reads see cached writes.

import { bytesId, compareBytes, compareIds, type KeyValueBytes, prefixUpperBound } from '../bytes.ts';
import type { KeyValueBytesStore } from '../key-value/key-value-bytes-store.ts';

/**
 * Called once per dirty key when it is written to the inner store: `oldValue` is what the inner
 * store held before. Not called when both are null (a key created and deleted between flushes).
 */
export type CacheFlushListener = (key: Buffer, newValue: Buffer | null, oldValue: Buffer | null) => void;

export interface CachingKeyValueStoreOptions {
  /** Upper bound of the cached bytes (keys + values + a fixed per-entry overhead). */
  maxBytes: number;
  onFlush?: CacheFlushListener;
}

/** Approximate bookkeeping cost of one entry (Map slot, entry object, string id). */
export const CACHE_ENTRY_OVERHEAD_BYTES = 64;

interface CacheEntry {
  id: string;
  key: Buffer;
  /** null: known to be deleted (dirty) or absent from the inner store (clean). */
  value: Buffer | null;
  dirty: boolean;
  size: number;
  // LRU list links: older is toward eviction.
  older: CacheEntry | undefined;
  newer: CacheEntry | undefined;
}

export class CachingKeyValueStore implements KeyValueBytesStore {
  readonly inner: KeyValueBytesStore;
  readonly maxBytes: number;
  #onFlush: CacheFlushListener | undefined;
  readonly #entries = new Map<string, CacheEntry>();
  // An explicit doubly linked LRU list: re-inserting into a Map to track recency would leave
  // deleted slots that make finding the eldest entry O(n) until the Map rehashes.
  #eldest: CacheEntry | undefined;
  #newest: CacheEntry | undefined;
  // Dirty keys in order of their last write: the order flush() writes them in.
  readonly #dirty = new Set<string>();
  #bytes = 0;

  constructor(inner: KeyValueBytesStore, options: CachingKeyValueStoreOptions) {
    if (!(options.maxBytes >= 0)) throw new RangeError(`maxBytes must be >= 0, got ${options.maxBytes}`);
    this.inner = inner;
    this.maxBytes = options.maxBytes;
    this.#onFlush = options.onFlush;
  }

  get name(): string {
    return this.inner.name;
  }
  get persistent(): boolean {
    return this.inner.persistent;
  }
  get isOpen(): boolean {
    return this.inner.isOpen;
  }
  /**
   * Replaces the flush listener: the processor that owns the store registers it when it starts,
   * after the store was opened.
   */
  setFlushListener(listener: CacheFlushListener | undefined): void {
    this.#onFlush = listener;
  }

  /** Bytes currently accounted to cached entries. */
  get cachedBytes(): number {
    return this.#bytes;
  }
  get dirtyCount(): number {
    return this.#dirty.size;
  }

  get(key: Buffer): Buffer | undefined {
    const id = bytesId(key);
    const entry = this.#entries.get(id);
    if (entry !== undefined) {
      this.#unlink(entry);
      this.#link(entry);
      return entry.value ?? undefined;
    }
    const value = this.inner.get(key);
    this.#insert(id, key, value ?? null, false);
    return value;
  }

  put(key: Buffer, value: Buffer | null): void {
    this.#insert(bytesId(key), key, value, true);
  }

  putIfAbsent(key: Buffer, value: Buffer): Buffer | undefined {
    const existing = this.get(key);
    if (existing === undefined) this.put(key, value);
    return existing;
  }

  putAll(entries: ReadonlyArray<readonly [Buffer, Buffer | null]>): void {
    for (const [key, value] of entries) this.put(key, value);
  }

  delete(key: Buffer): Buffer | undefined {
    const old = this.get(key);
    this.put(key, null);
    return old;
  }

  range(from: Buffer | null, to: Buffer | null): Iterable<KeyValueBytes> {
    if (from !== null && to !== null && compareBytes(from, to) > 0) return [];
    return this.#merge(this.inner.range(from, to), from, true, to, true, false);
  }

  reverseRange(from: Buffer | null, to: Buffer | null): Iterable<KeyValueBytes> {
    if (from !== null && to !== null && compareBytes(from, to) > 0) return [];
    return this.#merge(this.inner.reverseRange(from, to), from, true, to, true, true);
  }

  prefixScan(prefix: Buffer): Iterable<KeyValueBytes> {
    return this.#merge(this.inner.prefixScan(prefix), prefix, true, prefixUpperBound(prefix), false, false);
  }

  all(): Iterable<KeyValueBytes> {
    return this.#merge(this.inner.all(), null, true, null, true, false);
  }

  reverseAll(): Iterable<KeyValueBytes> {
    return this.#merge(this.inner.reverseAll(), null, true, null, true, true);
  }

  /** The inner store's count corrected by the pending writes (one inner lookup per dirty key). */
  approximateNumEntries(): number {
    let delta = 0;
    for (const id of this.#dirty) {
      const entry = this.#entries.get(id) as CacheEntry;
      delta += (entry.value === null ? 0 : 1) - (this.inner.get(entry.key) === undefined ? 0 : 1);
    }
    return this.inner.approximateNumEntries() + delta;
  }

  /** Restoration bypasses the cache; any cached copy of a restored key is dropped. */
  restoreBatch(records: Iterable<{ key: Buffer; value: Buffer | null }>): void {
    const self = this;
    this.inner.restoreBatch(
      (function* dropCached() {
        for (const record of records) {
          self.#remove(bytesId(record.key));
          yield record;
        }
      })(),
    );
  }

  /**
   * Writes every dirty entry to the inner store, in order of last write, calling the listener
   * for each; entries stay cached, clean. Does not flush the inner store: under exactly-once the
   * runtime flushes caches before the Kafka commit and commits the task database after it.
   */
  flushCache(): void {
    // A snapshot, because the listener may write to this store again (downstream processing).
    for (const id of [...this.#dirty]) {
      const entry = this.#entries.get(id);
      this.#dirty.delete(id);
      if (entry?.dirty) {
        entry.dirty = false;
        this.#write(entry);
      }
    }
  }

  /** flushCache(), then flush the inner store. */
  flush(): void {
    this.flushCache();
    this.inner.flush();
  }

  /**
   * Drops every cached entry without writing it, dirty ones included: for when the task's
   * transaction aborted and the inner store was rolled back to its last commit.
   */
  clearCache(): void {
    this.#entries.clear();
    this.#dirty.clear();
    this.#eldest = undefined;
    this.#newest = undefined;
    this.#bytes = 0;
  }

  /** Writes pending entries to the inner store (listener included), then closes it. */
  close(): void {
    this.flushCache();
    this.clearCache();
    this.inner.close();
  }

  #insert(id: string, key: Buffer, value: Buffer | null, dirty: boolean): void {
    const size = entrySize(key, value);
    let entry = this.#entries.get(id);
    if (entry === undefined) {
      entry = { id, key, value, dirty, size, older: undefined, newer: undefined };
      this.#entries.set(id, entry);
    } else {
      this.#unlink(entry);
      this.#bytes -= entry.size;
      entry.key = key;
      entry.value = value;
      entry.dirty = dirty;
      entry.size = size;
    }
    this.#link(entry);
    this.#bytes += size;
    if (dirty) {
      this.#dirty.delete(id);
      this.#dirty.add(id);
    }
    this.#evict();
  }

  #remove(id: string): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    this.#entries.delete(id);
    this.#dirty.delete(id);
    this.#unlink(entry);
    this.#bytes -= entry.size;
  }

  #link(entry: CacheEntry): void {
    entry.older = this.#newest;
    entry.newer = undefined;
    if (this.#newest === undefined) this.#eldest = entry;
    else this.#newest.newer = entry;
    this.#newest = entry;
  }

  #unlink(entry: CacheEntry): void {
    if (entry.older === undefined) this.#eldest = entry.newer;
    else entry.older.newer = entry.newer;
    if (entry.newer === undefined) this.#newest = entry.older;
    else entry.newer.older = entry.older;
    entry.older = undefined;
    entry.newer = undefined;
  }

  #evict(): void {
    while (this.#bytes > this.maxBytes && this.#eldest !== undefined) {
      const entry = this.#eldest;
      this.#remove(entry.id);
      if (entry.dirty) this.#write(entry);
    }
  }

  #write(entry: CacheEntry): void {
    const old = this.inner.get(entry.key) ?? null;
    this.inner.put(entry.key, entry.value);
    if (this.#onFlush !== undefined && (entry.value !== null || old !== null))
      this.#onFlush(entry.key, entry.value, old);
  }

  *#merge(
    stored: Iterable<KeyValueBytes>,
    from: Buffer | null,
    fromInclusive: boolean,
    to: Buffer | null,
    toInclusive: boolean,
    reverse: boolean,
  ): Generator<KeyValueBytes> {
    // Cached entries in range, sorted on demand: ranges over a cached store are rare next to
    // get/put, which this keeps O(1).
    const cached: CacheEntry[] = [];
    for (const entry of this.#entries.values()) {
      if (from !== null) {
        const c = compareBytes(entry.key, from);
        if (c < 0 || (c === 0 && !fromInclusive)) continue;
      }
      if (to !== null) {
        const c = compareBytes(entry.key, to);
        if (c > 0 || (c === 0 && !toInclusive)) continue;
      }
      cached.push(entry);
    }
    const direction = reverse ? -1 : 1;
    cached.sort((a, b) => direction * compareIds(a.id, b.id));

    const iterator = stored[Symbol.iterator]();
    try {
      let next = iterator.next();
      let i = 0;
      while (i < cached.length || next.done !== true) {
        const entry = cached[i];
        if (
          next.done === true ||
          (entry !== undefined && direction * compareBytes(entry.key, next.value.key) <= 0)
        ) {
          const c = entry as CacheEntry;
          // The cached entry shadows the stored one with the same key, whatever its value.
          if (next.done !== true && compareBytes(c.key, next.value.key) === 0) next = iterator.next();
          i++;
          if (c.value !== null) yield { key: c.key, value: c.value };
        } else {
          yield next.value;
          next = iterator.next();
        }
      }
    } finally {
      iterator.return?.();
    }
  }
}

function entrySize(key: Buffer, value: Buffer | null): number {
  return key.length + (value === null ? 0 : value.length) + CACHE_ENTRY_OVERHEAD_BYTES;
}
