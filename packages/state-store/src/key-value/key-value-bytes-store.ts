// The byte-level key-value store contract. Typed access (serdes) is layered on top by
// streams-core; every implementation orders keys by unsigned byte comparison (compareBytes).

import type { KeyValueBytes } from '../bytes.ts';
import type { StateStore } from '../store.ts';

export interface KeyValueBytesStore extends StateStore {
  get(key: Buffer): Buffer | undefined;
  /** A null value deletes the key (a tombstone). */
  put(key: Buffer, value: Buffer | null): void;
  /** Stores the value only when the key is absent; returns the existing value if there is one. */
  putIfAbsent(key: Buffer, value: Buffer): Buffer | undefined;
  putAll(entries: ReadonlyArray<readonly [Buffer, Buffer | null]>): void;
  /** Returns the value that was removed. */
  delete(key: Buffer): Buffer | undefined;
  /** Keys in [from, to], both inclusive, ascending; null leaves that side open. Empty when from > to. */
  range(from: Buffer | null, to: Buffer | null): Iterable<KeyValueBytes>;
  /** The same keys as range(from, to), descending. */
  reverseRange(from: Buffer | null, to: Buffer | null): Iterable<KeyValueBytes>;
  /** Keys that start with prefix, ascending. */
  prefixScan(prefix: Buffer): Iterable<KeyValueBytes>;
  all(): Iterable<KeyValueBytes>;
  reverseAll(): Iterable<KeyValueBytes>;
  approximateNumEntries(): number;
  /** Applies changelog records (null value = delete) without logging them again. */
  restoreBatch(records: Iterable<{ key: Buffer; value: Buffer | null }>): void;
}
