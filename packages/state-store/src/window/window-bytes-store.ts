// The byte-level window store contract: values per (key, window start), kept for a retention
// period measured in stream time.
//
// Order: fetchRange is ascending by window start (backwardFetchRange descending). fetchKeyRange,
// fetchAll and all are ordered by key bytes, then window start, then insertion (duplicates).
// Kafka Streams' RocksDB store uses key-then-time within a segment and its in-memory store
// time-then-key; both of our backends use key-then-time everywhere.

import type { StateStore } from '../store.ts';

export interface WindowedValue {
  windowStart: number;
  value: Buffer;
}

export interface WindowedKeyValue {
  key: Buffer;
  windowStart: number;
  value: Buffer;
}

export interface WindowRestoreRecord {
  key: Buffer;
  windowStart: number;
  value: Buffer | null;
  /** Sequence number from the changelog key; only meaningful when retainDuplicates. */
  seqnum?: number;
}

export interface WindowBytesStoreOptions {
  retentionMs: number;
  windowSizeMs: number;
  retainDuplicates?: boolean;
  /** Granularity at which expired data is physically removed; default max(retention / 2, 60 s). */
  segmentIntervalMs?: number;
}

export interface WindowBytesStore extends StateStore {
  readonly retentionMs: number;
  readonly windowSizeMs: number;
  /** Stream-stream join buffers keep several values per (key, windowStart): each put appends. */
  readonly retainDuplicates: boolean;
  /**
   * A null value deletes (ignored when retainDuplicates). Returns false when nothing was
   * stored: the window is already expired (windowStart <= observedStreamTime - retentionMs),
   * or a null put on a retainDuplicates store.
   */
  put(key: Buffer, value: Buffer | null, windowStart: number): boolean;
  /** With retainDuplicates, the earliest value put for that window. */
  fetch(key: Buffer, windowStart: number): Buffer | undefined;
  /** Windows of key with timeFrom <= windowStart <= timeTo, ascending by window start. */
  fetchRange(key: Buffer, timeFrom: number, timeTo: number): Iterable<WindowedValue>;
  backwardFetchRange(key: Buffer, timeFrom: number, timeTo: number): Iterable<WindowedValue>;
  /** Keys in [keyFrom, keyTo] (null = open) and windows in [timeFrom, timeTo]; by key, then window start. */
  fetchKeyRange(
    keyFrom: Buffer | null,
    keyTo: Buffer | null,
    timeFrom: number,
    timeTo: number,
  ): Iterable<WindowedKeyValue>;
  fetchAll(timeFrom: number, timeTo: number): Iterable<WindowedKeyValue>;
  all(): Iterable<WindowedKeyValue>;
  /** The largest window start ever put, or -1. */
  observedStreamTime(): number;
  restoreBatch(records: Iterable<WindowRestoreRecord>): void;
}
