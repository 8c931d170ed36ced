// Change-logging wrappers: each write to the wrapped store is also handed to a ChangelogSink,
// which the runtime turns into a record on the store's changelog topic. Reads and restoration
// pass straight through (restoration reads the changelog, it must not write it back).

import type { KeyValueBytes } from '../bytes.ts';
import type { KeyValueBytesStore } from '../key-value/key-value-bytes-store.ts';
import type {
  SessionBytes,
  SessionBytesStore,
  SessionRestoreRecord,
} from '../session/session-bytes-store.ts';
import type {
  WindowBytesStore,
  WindowedKeyValue,
  WindowedValue,
  WindowRestoreRecord,
} from '../window/window-bytes-store.ts';
import { encodeSessionChangelogKey, encodeWindowChangelogKey } from './changelog-keys.ts';

/** Receives every change as a changelog record: key bytes and value (null = tombstone). */
export type ChangelogSink = (key: Buffer, value: Buffer | null) => void;

export class ChangeLoggingKeyValueStore implements KeyValueBytesStore {
  readonly inner: KeyValueBytesStore;
  readonly #sink: ChangelogSink;

  constructor(inner: KeyValueBytesStore, sink: ChangelogSink) {
    this.inner = inner;
    this.#sink = sink;
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

  get(key: Buffer): Buffer | undefined {
    return this.inner.get(key);
  }

  put(key: Buffer, value: Buffer | null): void {
    this.inner.put(key, value);
    this.#sink(key, value);
  }

  putIfAbsent(key: Buffer, value: Buffer): Buffer | undefined {
    const existing = this.inner.putIfAbsent(key, value);
    if (existing === undefined) this.#sink(key, value);
    return existing;
  }

  putAll(entries: ReadonlyArray<readonly [Buffer, Buffer | null]>): void {
    this.inner.putAll(entries);
    for (const [key, value] of entries) this.#sink(key, value);
  }

  delete(key: Buffer): Buffer | undefined {
    const old = this.inner.delete(key);
    this.#sink(key, null);
    return old;
  }

  range(from: Buffer | null, to: Buffer | null): Iterable<KeyValueBytes> {
    return this.inner.range(from, to);
  }
  reverseRange(from: Buffer | null, to: Buffer | null): Iterable<KeyValueBytes> {
    return this.inner.reverseRange(from, to);
  }
  prefixScan(prefix: Buffer): Iterable<KeyValueBytes> {
    return this.inner.prefixScan(prefix);
  }
  all(): Iterable<KeyValueBytes> {
    return this.inner.all();
  }
  reverseAll(): Iterable<KeyValueBytes> {
    return this.inner.reverseAll();
  }
  approximateNumEntries(): number {
    return this.inner.approximateNumEntries();
  }
  restoreBatch(records: Iterable<{ key: Buffer; value: Buffer | null }>): void {
    this.inner.restoreBatch(records);
  }
  flush(): void {
    this.inner.flush();
  }
  close(): void {
    this.inner.close();
  }
}

/**
 * Logs `key | windowStart | seqnum`. Like Kafka Streams, the sequence number of a
 * retainDuplicates store comes from a counter in this layer (31 bits, wrapping), so each
 * duplicate gets its own changelog key and compaction keeps all of them; it is 0 otherwise.
 * Puts the store drops (expired window, null on a duplicates store) are not logged.
 */
export class ChangeLoggingWindowStore implements WindowBytesStore {
  readonly inner: WindowBytesStore;
  readonly #sink: ChangelogSink;
  #seqnum = 0;

  constructor(inner: WindowBytesStore, sink: ChangelogSink) {
    this.inner = inner;
    this.#sink = sink;
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
  get retentionMs(): number {
    return this.inner.retentionMs;
  }
  get windowSizeMs(): number {
    return this.inner.windowSizeMs;
  }
  get retainDuplicates(): boolean {
    return this.inner.retainDuplicates;
  }

  put(key: Buffer, value: Buffer | null, windowStart: number): boolean {
    if (!this.inner.put(key, value, windowStart)) return false;
    let seqnum = 0;
    if (this.inner.retainDuplicates) {
      this.#seqnum = (this.#seqnum + 1) & 0x7fffffff;
      seqnum = this.#seqnum;
    }
    this.#sink(encodeWindowChangelogKey(key, windowStart, seqnum), value);
    return true;
  }

  fetch(key: Buffer, windowStart: number): Buffer | undefined {
    return this.inner.fetch(key, windowStart);
  }
  fetchRange(key: Buffer, timeFrom: number, timeTo: number): Iterable<WindowedValue> {
    return this.inner.fetchRange(key, timeFrom, timeTo);
  }
  backwardFetchRange(key: Buffer, timeFrom: number, timeTo: number): Iterable<WindowedValue> {
    return this.inner.backwardFetchRange(key, timeFrom, timeTo);
  }
  fetchKeyRange(
    keyFrom: Buffer | null,
    keyTo: Buffer | null,
    timeFrom: number,
    timeTo: number,
  ): Iterable<WindowedKeyValue> {
    return this.inner.fetchKeyRange(keyFrom, keyTo, timeFrom, timeTo);
  }
  fetchAll(timeFrom: number, timeTo: number): Iterable<WindowedKeyValue> {
    return this.inner.fetchAll(timeFrom, timeTo);
  }
  all(): Iterable<WindowedKeyValue> {
    return this.inner.all();
  }
  observedStreamTime(): number {
    return this.inner.observedStreamTime();
  }
  restoreBatch(records: Iterable<WindowRestoreRecord>): void {
    this.inner.restoreBatch(records);
  }
  flush(): void {
    this.inner.flush();
  }
  close(): void {
    this.inner.close();
  }
}

/**
 * Logs `key | end | start`. A put the store drops because the session already expired
 * (end <= observedStreamTime - retentionMs) is not logged; removals always are.
 */
export class ChangeLoggingSessionStore implements SessionBytesStore {
  readonly inner: SessionBytesStore;
  readonly #sink: ChangelogSink;

  constructor(inner: SessionBytesStore, sink: ChangelogSink) {
    this.inner = inner;
    this.#sink = sink;
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
  get retentionMs(): number {
    return this.inner.retentionMs;
  }

  put(key: Buffer, start: number, end: number, value: Buffer | null): void {
    this.inner.put(key, start, end, value);
    if (value !== null && end <= this.inner.observedStreamTime() - this.inner.retentionMs) return;
    this.#sink(encodeSessionChangelogKey(key, start, end), value);
  }

  remove(key: Buffer, start: number, end: number): void {
    this.put(key, start, end, null);
  }

  findSessions(
    key: Buffer,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): Iterable<SessionBytes> {
    return this.inner.findSessions(key, earliestSessionEndTime, latestSessionStartTime);
  }
  findSessionsKeyRange(
    keyFrom: Buffer | null,
    keyTo: Buffer | null,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): Iterable<SessionBytes> {
    return this.inner.findSessionsKeyRange(keyFrom, keyTo, earliestSessionEndTime, latestSessionStartTime);
  }
  fetchSession(key: Buffer, start: number, end: number): Buffer | undefined {
    return this.inner.fetchSession(key, start, end);
  }
  fetch(key: Buffer): Iterable<SessionBytes> {
    return this.inner.fetch(key);
  }
  observedStreamTime(): number {
    return this.inner.observedStreamTime();
  }
  restoreBatch(records: Iterable<SessionRestoreRecord>): void {
    this.inner.restoreBatch(records);
  }
  flush(): void {
    this.inner.flush();
  }
  close(): void {
    this.inner.close();
  }
}
