// InMemoryWindowStore: windowed values in process memory, ordered by (key bytes, window start,
// sequence number), with stream-time retention (see retention.ts).

import { compareBytes } from '../bytes.ts';
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

interface WindowKey {
  key: Buffer;
  windowStart: number;
  seqnum: number;
}

function compareWindowKeys(a: WindowKey, b: WindowKey): number {
  const c = compareBytes(a.key, b.key);
  if (c !== 0) return c;
  if (a.windowStart !== b.windowStart) return a.windowStart < b.windowStart ? -1 : 1;
  if (a.seqnum !== b.seqnum) return a.seqnum < b.seqnum ? -1 : 1;
  return 0;
}

export class InMemoryWindowStore implements WindowBytesStore {
  readonly name: string;
  readonly persistent = false;
  readonly retentionMs: number;
  readonly windowSizeMs: number;
  readonly retainDuplicates: boolean;
  #open = true;
  readonly #retention: Retention;
  readonly #map = new SortedMap<WindowKey, Buffer>(compareWindowKeys);
  // Keys per segment, so expiry removes whole segments without scanning the key order.
  // A key may be listed twice after delete + re-put; deleting it twice is harmless.
  readonly #segments = new Map<number, WindowKey[]>();
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
    if (!this.retainDuplicates) return this.#map.get({ key, windowStart, seqnum: 0 });
    for (const [, value] of this.#map.entries({
      from: { key, windowStart, seqnum: Number.NEGATIVE_INFINITY },
      to: { key, windowStart, seqnum: Number.POSITIVE_INFINITY },
    })) {
      return value;
    }
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
    this.#map.clear();
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
      this.#insert({ key, windowStart, seqnum }, value);
      return true;
    }
    const windowKey: WindowKey = { key, windowStart, seqnum: 0 };
    if (value === null) this.#map.delete(windowKey);
    else this.#insert(windowKey, value);
    return true;
  }

  #insert(windowKey: WindowKey, value: Buffer): void {
    if (!this.#map.set(windowKey, value)) return;
    const segmentId = this.#retention.segmentId(windowKey.windowStart);
    const segment = this.#segments.get(segmentId);
    if (segment === undefined) this.#segments.set(segmentId, [windowKey]);
    else segment.push(windowKey);
  }

  #advance(windowStart: number): void {
    const purgeBelow = this.#retention.advance(windowStart);
    if (purgeBelow === undefined) return;
    for (const [segmentId, keys] of this.#segments) {
      if (segmentId * this.#retention.segmentIntervalMs >= purgeBelow) continue;
      for (const windowKey of keys) this.#map.delete(windowKey);
      this.#segments.delete(segmentId);
    }
  }

  *#fetchKey(key: Buffer, timeFrom: number, timeTo: number, reverse: boolean): Generator<WindowedValue> {
    const from = Math.max(timeFrom, this.#retention.minLiveTime);
    if (from > timeTo) return;
    const entries = this.#map.entries({
      from: { key, windowStart: from, seqnum: Number.NEGATIVE_INFINITY },
      to: { key, windowStart: timeTo, seqnum: Number.POSITIVE_INFINITY },
      reverse,
    });
    for (const [windowKey, value] of entries) {
      // Re-checked per entry: stream time may advance while the caller iterates.
      if (this.#retention.isExpired(windowKey.windowStart)) continue;
      yield { windowStart: windowKey.windowStart, value };
    }
  }

  *#scan(
    keyFrom: Buffer | null,
    keyTo: Buffer | null,
    timeFrom: number,
    timeTo: number,
  ): Generator<WindowedKeyValue> {
    if (keyFrom !== null && keyTo !== null && compareBytes(keyFrom, keyTo) > 0) return;
    const entries = this.#map.entries({
      from:
        keyFrom === null
          ? undefined
          : { key: keyFrom, windowStart: Number.NEGATIVE_INFINITY, seqnum: Number.NEGATIVE_INFINITY },
      to:
        keyTo === null
          ? undefined
          : { key: keyTo, windowStart: Number.POSITIVE_INFINITY, seqnum: Number.POSITIVE_INFINITY },
    });
    for (const [windowKey, value] of entries) {
      const t = windowKey.windowStart;
      if (t < timeFrom || t > timeTo || this.#retention.isExpired(t)) continue;
      yield { key: windowKey.key, windowStart: t, value };
    }
  }

  #check(): void {
    if (!this.#open) throw storeClosedError(this.name);
  }
}
