// InMemorySessionStore: sessions in process memory, ordered by (key bytes, end, start), with
// stream-time retention on the session end (see retention.ts).

import { bytesId, compareBytes, compareIds } from '../bytes.ts';
import { SortedMap } from '../internals/sorted-map.ts';
import { Retention } from '../retention.ts';
import { storeClosedError } from '../store.ts';
import type {
  SessionBytes,
  SessionBytesStore,
  SessionBytesStoreOptions,
  SessionRestoreRecord,
} from './session-bytes-store.ts';

interface SessionKey {
  /** bytesId(key): string comparison is faster than Buffer comparison, with the same order. */
  id: string;
  key: Buffer;
  end: number;
  start: number;
}

function compareSessionKeys(a: SessionKey, b: SessionKey): number {
  const c = compareIds(a.id, b.id);
  if (c !== 0) return c;
  if (a.end !== b.end) return a.end < b.end ? -1 : 1;
  if (a.start !== b.start) return a.start < b.start ? -1 : 1;
  return 0;
}

export class InMemorySessionStore implements SessionBytesStore {
  readonly name: string;
  readonly persistent = false;
  readonly retentionMs: number;
  #open = true;
  readonly #retention: Retention;
  readonly #map = new SortedMap<SessionKey, Buffer>(compareSessionKeys);
  // Session keys per segment of their end time; see InMemoryWindowStore.
  readonly #segments = new Map<number, SessionKey[]>();

  constructor(name: string, options: SessionBytesStoreOptions) {
    this.name = name;
    this.retentionMs = options.retentionMs;
    this.#retention = new Retention(options.retentionMs, options.segmentIntervalMs);
  }

  get isOpen(): boolean {
    return this.#open;
  }

  observedStreamTime(): number {
    return this.#retention.streamTime;
  }

  findSessions(
    key: Buffer,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): Iterable<SessionBytes> {
    this.#check();
    return this.#scan(key, key, earliestSessionEndTime, latestSessionStartTime);
  }

  findSessionsKeyRange(
    keyFrom: Buffer | null,
    keyTo: Buffer | null,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): Iterable<SessionBytes> {
    this.#check();
    return this.#scan(keyFrom, keyTo, earliestSessionEndTime, latestSessionStartTime);
  }

  fetchSession(key: Buffer, start: number, end: number): Buffer | undefined {
    this.#check();
    if (this.#retention.isExpired(end)) return undefined;
    return this.#map.get({ id: bytesId(key), key, end, start });
  }

  fetch(key: Buffer): Iterable<SessionBytes> {
    this.#check();
    return this.#scan(key, key, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
  }

  put(key: Buffer, start: number, end: number, value: Buffer | null): void {
    this.#check();
    this.#put(key, start, end, value);
  }

  remove(key: Buffer, start: number, end: number): void {
    this.put(key, start, end, null);
  }

  restoreBatch(records: Iterable<SessionRestoreRecord>): void {
    this.#check();
    for (const { key, start, end, value } of records) {
      this.#put(Buffer.from(key), start, end, value === null ? null : Buffer.from(value));
    }
  }

  flush(): void {
    // Nothing to make durable: the changelog is this store's durability.
  }

  close(): void {
    this.#open = false;
    this.#map.clear();
    this.#segments.clear();
  }

  #put(key: Buffer, start: number, end: number, value: Buffer | null): void {
    const sessionKey: SessionKey = { id: bytesId(key), key, end, start };
    // A delete moves stream time too, as in Kafka Streams (see SqliteSessionStore).
    this.#advance(end);
    if (value === null) {
      this.#map.delete(sessionKey);
      return;
    }
    if (this.#retention.isExpired(end)) return;
    if (!this.#map.set(sessionKey, value)) return;
    const segmentId = this.#retention.segmentId(end);
    const segment = this.#segments.get(segmentId);
    if (segment === undefined) this.#segments.set(segmentId, [sessionKey]);
    else segment.push(sessionKey);
  }

  #advance(end: number): void {
    const purgeBelow = this.#retention.advance(end);
    if (purgeBelow === undefined) return;
    for (const [segmentId, keys] of this.#segments) {
      if (segmentId * this.#retention.segmentIntervalMs >= purgeBelow) continue;
      for (const sessionKey of keys) this.#map.delete(sessionKey);
      this.#segments.delete(segmentId);
    }
  }

  *#scan(
    keyFrom: Buffer | null,
    keyTo: Buffer | null,
    earliestEnd: number,
    latestStart: number,
  ): Generator<SessionBytes> {
    if (keyFrom !== null && keyTo !== null && compareBytes(keyFrom, keyTo) > 0) return;
    const minEnd = Math.max(earliestEnd, this.#retention.minLiveTime);
    const single = keyFrom !== null && keyTo !== null && compareBytes(keyFrom, keyTo) === 0;
    const entries = this.#map.entries({
      // For one key the end bound narrows the scan itself; across keys it can only filter.
      from:
        keyFrom === null
          ? undefined
          : {
              id: bytesId(keyFrom),
              key: keyFrom,
              end: single ? minEnd : Number.NEGATIVE_INFINITY,
              start: Number.NEGATIVE_INFINITY,
            },
      to:
        keyTo === null
          ? undefined
          : {
              id: bytesId(keyTo),
              key: keyTo,
              end: Number.POSITIVE_INFINITY,
              start: Number.POSITIVE_INFINITY,
            },
    });
    for (const [sessionKey, value] of entries) {
      const { end, start } = sessionKey;
      if (end < minEnd || start > latestStart || this.#retention.isExpired(end)) continue;
      yield { key: sessionKey.key, start, end, value };
    }
  }

  #check(): void {
    if (!this.#open) throw storeClosedError(this.name);
  }
}
