// InMemoryWindowStore: windowed values in process memory, ordered by (key bytes, window start,
// sequence number), with stream-time retention (see retention.ts).

import { bytesId, compareIds } from '../bytes.ts';
import { SortedMap } from '../internals/sorted-map.ts';
import { Retention } from '../retention.ts';
import { storeClosedError } from '../store.ts';
import type {
  WindowBytesStore,
  WindowBytesStoreOptions,
  WindowedKeyValue,
  WindowedValue,
  WindowRestoreRecord,
} from './window-bytes-store.ts';

interface WindowPosition {
  /** bytesId(key): string comparison is faster than Buffer comparison, with the same order. */
  id: string;
  windowStart: number;
  seqnum: number;
}

interface WindowEntry extends WindowPosition {
  key: Buffer;
  value: Buffer;
}

function comparePositions(a: WindowPosition, b: WindowPosition): number {
  const c = compareIds(a.id, b.id);
  if (c !== 0) return c;
  if (a.windowStart !== b.windowStart) return a.windowStart < b.windowStart ? -1 : 1;
  if (a.seqnum !== b.seqnum) return a.seqnum < b.seqnum ? -1 : 1;
  return 0;
}

function pointId(id: string, windowStart: number, seqnum: number): string {
  return `${windowStart}/${seqnum}/${id}`;
}

/** Buffers are kept by reference, as in InMemoryKeyValueStore; restored records are copied. */
export class InMemoryWindowStore implements WindowBytesStore {
  readonly name: string;
  readonly persistent = false;
  readonly retentionMs: number;
  readonly windowSizeMs: number;
  readonly retainDuplicates: boolean;
  #open = true;
  readonly #retention: Retention;
  readonly #order = new SortedMap<WindowPosition, WindowEntry>(comparePositions);
  // Point lookups (fetch, and the put that follows it in a windowed aggregation) by hash
  // instead of a binary search.
  readonly #points = new Map<string, WindowEntry>();
  // Entries per segment, so expiry removes whole segments without scanning the key order.
  // A position may be listed twice after delete + re-put; removing it twice is harmless.
  readonly #segments = new Map<number, WindowEntry[]>();
  #seqnum = 0;

  constructor(name: string, options: WindowBytesStoreOptions) {
    this.name = name;
    this.retentionMs = options.retentionMs;
    this.windowSizeMs = options.windowSizeMs;
    this.retainDuplicates = options.retainDuplicates ?? false;
    this.#retention = new Retention(options.retentionMs, options.segmentIntervalMs);
  }

  get isOpen(): boolean {
    return this.#open;
  }

  observedStreamTime(): number {
    return this.#retention.streamTime;
  }

  put(key: Buffer, value: Buffer | null, windowStart: number): boolean {
    this.#check();
    return this.#put(key, value, windowStart, undefined);
  }

  fetch(key: Buffer, windowStart: number): Buffer | undefined {
    this.#check();
    if (this.#retention.isExpired(windowStart)) return undefined;
    const id = bytesId(key);
    if (!this.retainDuplicates) return this.#points.get(pointId(id, windowStart, 0))?.value;
    const entries = this.#order.entries({
      from: { id, windowStart, seqnum: Number.NEGATIVE_INFINITY },
      to: { id, windowStart, seqnum: Number.POSITIVE_INFINITY },
    });
    for (const [, entry] of entries) return entry.value;
    return undefined;
  }

  fetchRange(key: Buffer, timeFrom: number, timeTo: number): Iterable<WindowedValue> {
    this.#check();
    return this.#fetchKey(key, timeFrom, timeTo, false);
  }

  backwardFetchRange(key: Buffer, timeFrom: number, timeTo: number): Iterable<WindowedValue> {
    this.#check();
    return this.#fetchKey(key, timeFrom, timeTo, true);
  }

  fetchKeyRange(
    keyFrom: Buffer | null,
    keyTo: Buffer | null,
    timeFrom: number,
    timeTo: number,
  ): Iterable<WindowedKeyValue> {
    this.#check();
    return this.#scan(keyFrom, keyTo, timeFrom, timeTo);
  }

  fetchAll(timeFrom: number, timeTo: number): Iterable<WindowedKeyValue> {
    this.#check();
    return this.#scan(null, null, timeFrom, timeTo);
  }

  all(): Iterable<WindowedKeyValue> {
    this.#check();
    return this.#scan(null, null, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
  }

  restoreBatch(records: Iterable<WindowRestoreRecord>): void {
    this.#check();
    for (const record of records) {
      const value = record.value === null ? null : Buffer.from(record.value);
      this.#put(Buffer.from(record.key), value, record.windowStart, record.seqnum);
    }
  }

  flush(): void {
    // Nothing to make durable: the changelog is this store's durability.
  }

  close(): void {
    this.#open = false;
    this.#order.clear();
    this.#points.clear();
    this.#segments.clear();
  }

  #put(key: Buffer, value: Buffer | null, windowStart: number, restoredSeqnum: number | undefined): boolean {
    this.#advance(windowStart);
    if (this.#retention.isExpired(windowStart)) return false;
    if (this.retainDuplicates) {
      if (value === null) return false;
      let seqnum: number;
      if (restoredSeqnum === undefined) {
        seqnum = this.#seqnum++;
      } else {
        seqnum = restoredSeqnum;
        if (seqnum >= this.#seqnum) this.#seqnum = seqnum + 1;
      }
      this.#insert(key, windowStart, seqnum, value);
      return true;
    }
    if (value === null) this.#remove(pointId(bytesId(key), windowStart, 0));
    else this.#insert(key, windowStart, 0, value);
    return true;
  }

  #insert(key: Buffer, windowStart: number, seqnum: number, value: Buffer): void {
    const id = bytesId(key);
    const point = pointId(id, windowStart, seqnum);
    const existing = this.#points.get(point);
    if (existing !== undefined) {
      existing.value = value;
      return;
    }
    const entry: WindowEntry = { id, key, windowStart, seqnum, value };
    this.#points.set(point, entry);
    this.#order.set(entry, entry);
    const segmentId = this.#retention.segmentId(windowStart);
    const segment = this.#segments.get(segmentId);
    if (segment === undefined) this.#segments.set(segmentId, [entry]);
    else segment.push(entry);
  }

  #remove(point: string): void {
    const entry = this.#points.get(point);
    if (entry === undefined) return;
    this.#points.delete(point);
    this.#order.delete(entry);
  }

  #advance(windowStart: number): void {
    const purgeBelow = this.#retention.advance(windowStart);
    if (purgeBelow === undefined) return;
    for (const [segmentId, entries] of this.#segments) {
      if (segmentId * this.#retention.segmentIntervalMs >= purgeBelow) continue;
      for (const entry of entries) this.#remove(pointId(entry.id, entry.windowStart, entry.seqnum));
      this.#segments.delete(segmentId);
    }
  }

  *#fetchKey(key: Buffer, timeFrom: number, timeTo: number, reverse: boolean): Generator<WindowedValue> {
    const from = Math.max(timeFrom, this.#retention.minLiveTime);
    if (from > timeTo) return;
    const id = bytesId(key);
    const entries = this.#order.entries({
      from: { id, windowStart: from, seqnum: Number.NEGATIVE_INFINITY },
      to: { id, windowStart: timeTo, seqnum: Number.POSITIVE_INFINITY },
      reverse,
    });
    for (const [, entry] of entries) {
      // Re-checked per entry: stream time may advance while the caller iterates.
      if (this.#retention.isExpired(entry.windowStart)) continue;
      yield { windowStart: entry.windowStart, value: entry.value };
    }
  }

  *#scan(
    keyFrom: Buffer | null,
    keyTo: Buffer | null,
    timeFrom: number,
    timeTo: number,
  ): Generator<WindowedKeyValue> {
    const idFrom = keyFrom === null ? undefined : bytesId(keyFrom);
    const idTo = keyTo === null ? undefined : bytesId(keyTo);
    if (idFrom !== undefined && idTo !== undefined && idFrom > idTo) return;
    const entries = this.#order.entries({
      from:
        idFrom === undefined
          ? undefined
          : { id: idFrom, windowStart: Number.NEGATIVE_INFINITY, seqnum: Number.NEGATIVE_INFINITY },
      to:
        idTo === undefined
          ? undefined
          : { id: idTo, windowStart: Number.POSITIVE_INFINITY, seqnum: Number.POSITIVE_INFINITY },
    });
    for (const [, entry] of entries) {
      const t = entry.windowStart;
      if (t < timeFrom || t > timeTo || this.#retention.isExpired(t)) continue;
      yield { key: entry.key, windowStart: t, value: entry.value };
    }
  }

  #check(): void {
    if (!this.#open) throw storeClosedError(this.name);
  }
}
