// The byte-level session store contract: one value per (key, session start, session end), kept
// for a retention period measured in stream time (the largest session end put so far).
//
// Order: findSessions and fetch are ascending by session end, then start (Kafka Streams' order).
// findSessionsKeyRange is ordered by key bytes first, then end, then start, on both backends.

import type { StateStore } from '../store.ts';

export interface SessionBytes {
  key: Buffer;
  start: number;
  end: number;
  value: Buffer;
}

export interface SessionRestoreRecord {
  key: Buffer;
  start: number;
  end: number;
  value: Buffer | null;
}

export interface SessionBytesStoreOptions {
  retentionMs: number;
  /** Granularity at which expired sessions are physically removed; default max(retention / 2, 60 s). */
  segmentIntervalMs?: number;
}

export interface SessionBytesStore extends StateStore {
  readonly retentionMs: number;
  /** Sessions of key with end >= earliestSessionEndTime and start <= latestSessionStartTime. */
  findSessions(
    key: Buffer,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): Iterable<SessionBytes>;
  findSessionsKeyRange(
    keyFrom: Buffer | null,
    keyTo: Buffer | null,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): Iterable<SessionBytes>;
  fetchSession(key: Buffer, start: number, end: number): Buffer | undefined;
  /** Every live session of key. */
  fetch(key: Buffer): Iterable<SessionBytes>;
  /** A null value removes the session. A session with end <= observedStreamTime - retentionMs is dropped. */
  put(key: Buffer, start: number, end: number, value: Buffer | null): void;
  remove(key: Buffer, start: number, end: number): void;
  /** The largest session end ever put, or -1. */
  observedStreamTime(): number;
  restoreBatch(records: Iterable<SessionRestoreRecord>): void;
}
