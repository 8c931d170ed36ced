/**
 * Typed window stores over a WindowBytesStore: values per (key, window start), kept for a
 * retention period of stream time. Windowed aggregations use the timestamped variant (value plus
 * the largest timestamp that contributed to it); stream-stream joins keep every record
 * (retainDuplicates).
 */
import type { WindowBytesStore } from '@kafka-pattern/state-store';
import type { KeyValue } from '../processor/api/record.ts';
import type { Serde } from '../serdes/serde.ts';
import type { Windowed } from '../serdes/windowed.ts';
import type { StoreContext, StoreSpec } from './store-builder.ts';
import { StoreOperations } from './store-operations.ts';
import { TypedStoreBuilder } from './typed-store-builder.ts';
import { type ValueAndTimestamp, valueAndTimestampSerde } from './value-and-timestamp.ts';

/** One window of one key: its start and value (`timestamp` in Kafka Streams' WindowStoreIterator). */
export interface WindowedValue<V> {
  readonly windowStart: number;
  readonly value: V;
}

/**
 * Read access to a window store. Windows are identified by their start; a window's end is its
 * start plus the store's window size.
 */
export interface ReadOnlyWindowStore<K, V> {
  readonly name: string;
  readonly windowSizeMs: number;
  /** The value of one window, or undefined. */
  fetch(key: K, windowStart: number): V | undefined;
  /** Windows of `key` with `timeFrom <= start <= timeTo`, by start ascending. */
  fetch(key: K, timeFrom: number, timeTo: number): WindowedValue<V>[];
  backwardFetch(key: K, timeFrom: number, timeTo: number): WindowedValue<V>[];
  /** Keys in `[keyFrom, keyTo]` (null = open), windows starting in `[timeFrom, timeTo]`; by key bytes, then start. */
  fetchRange(
    keyFrom: K | null,
    keyTo: K | null,
    timeFrom: number,
    timeTo: number,
  ): KeyValue<Windowed<K>, V>[];
  fetchAll(timeFrom: number, timeTo: number): KeyValue<Windowed<K>, V>[];
  all(): KeyValue<Windowed<K>, V>[];
}

export interface WindowStore<K, V> extends ReadOnlyWindowStore<K, V> {
  readonly retentionMs: number;
  readonly retainDuplicates: boolean;
  /**
   * A null value deletes the window (ignored when duplicates are retained). Returns false when
   * nothing was stored because the window has already expired.
   */
  put(key: K, value: V | null, windowStart: number): boolean;
}

export type TimestampedWindowStore<K, V> = WindowStore<K, ValueAndTimestamp<V>>;

export class TypedWindowStore<K, V> implements WindowStore<K, V> {
  readonly name: string;
  readonly inner: WindowBytesStore;
  readonly operations = new StoreOperations();
  readonly operationsKind = 'window';
  readonly #keySerde: Serde<K>;
  readonly #valueSerde: Serde<V>;
  readonly #topic: string;

  constructor(
    name: string,
    inner: WindowBytesStore,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
    serdeTopic: string,
  ) {
    this.name = name;
    this.inner = inner;
    this.#keySerde = keySerde;
    this.#valueSerde = valueSerde;
    this.#topic = serdeTopic;
  }

  get windowSizeMs(): number {
    return this.inner.windowSizeMs;
  }

  get retentionMs(): number {
    return this.inner.retentionMs;
  }

  get retainDuplicates(): boolean {
    return this.inner.retainDuplicates;
  }

  #key(key: K): Buffer {
    const bytes = this.#keySerde.serialize(this.#topic, key);
    if (bytes === null) throw new Error(`Window store "${this.name}" cannot hold a null key`);
    return bytes;
  }

  #value(bytes: Buffer): V {
    return this.#valueSerde.deserialize(this.#topic, bytes) as V;
  }

  #windowed(it: Iterable<{ key: Buffer; windowStart: number; value: Buffer }>): KeyValue<Windowed<K>, V>[] {
    const size = this.inner.windowSizeMs;
    const out: KeyValue<Windowed<K>, V>[] = [];
    for (const e of it) {
      const key = this.#keySerde.deserialize(this.#topic, e.key) as K;
      out.push({
        key: { key, window: { start: e.windowStart, end: e.windowStart + size } },
        value: this.#value(e.value),
      });
    }
    return out;
  }

  put(key: K, value: V | null, windowStart: number): boolean {
    this.operations.puts++;
    const bytes = value === null ? null : this.#valueSerde.serialize(this.#topic, value);
    return this.inner.put(this.#key(key), bytes, windowStart);
  }

  fetch(key: K, windowStart: number): V | undefined;
  fetch(key: K, timeFrom: number, timeTo: number): WindowedValue<V>[];
  fetch(key: K, timeFrom: number, timeTo?: number): V | undefined | WindowedValue<V>[] {
    if (timeTo === undefined) {
      this.operations.gets++;
      const bytes = this.inner.fetch(this.#key(key), timeFrom);
      return bytes === undefined ? undefined : this.#value(bytes);
    }
    this.operations.scans++;
    const out: WindowedValue<V>[] = [];
    for (const e of this.inner.fetchRange(this.#key(key), timeFrom, timeTo))
      out.push({ windowStart: e.windowStart, value: this.#value(e.value) });
    return out;
  }

  backwardFetch(key: K, timeFrom: number, timeTo: number): WindowedValue<V>[] {
    this.operations.scans++;
    const out: WindowedValue<V>[] = [];
    for (const e of this.inner.backwardFetchRange(this.#key(key), timeFrom, timeTo))
      out.push({ windowStart: e.windowStart, value: this.#value(e.value) });
    return out;
  }

  fetchRange(
    keyFrom: K | null,
    keyTo: K | null,
    timeFrom: number,
    timeTo: number,
  ): KeyValue<Windowed<K>, V>[] {
    this.operations.scans++;
    const from = keyFrom === null || keyFrom === undefined ? null : this.#key(keyFrom);
    const to = keyTo === null || keyTo === undefined ? null : this.#key(keyTo);
    return this.#windowed(this.inner.fetchKeyRange(from, to, timeFrom, timeTo));
  }

  fetchAll(timeFrom: number, timeTo: number): KeyValue<Windowed<K>, V>[] {
    this.operations.scans++;
    return this.#windowed(this.inner.fetchAll(timeFrom, timeTo));
  }

  all(): KeyValue<Windowed<K>, V>[] {
    this.operations.scans++;
    return this.#windowed(this.inner.all());
  }
}

/** A window store's plain values, as `getWindowStore` shows a timestamped one in tests. */
export class PlainWindowValueView<K, V> implements ReadOnlyWindowStore<K, V> {
  readonly name: string;
  readonly #inner: ReadOnlyWindowStore<K, ValueAndTimestamp<V>>;

  constructor(inner: ReadOnlyWindowStore<K, ValueAndTimestamp<V>>) {
    this.name = inner.name;
    this.#inner = inner;
  }

  get windowSizeMs(): number {
    return this.#inner.windowSizeMs;
  }

  fetch(key: K, windowStart: number): V | undefined;
  fetch(key: K, timeFrom: number, timeTo: number): WindowedValue<V>[];
  fetch(key: K, timeFrom: number, timeTo?: number): V | undefined | WindowedValue<V>[] {
    if (timeTo === undefined) return this.#inner.fetch(key, timeFrom)?.value;
    return this.#inner
      .fetch(key, timeFrom, timeTo)
      .map((e) => ({ windowStart: e.windowStart, value: e.value.value }));
  }
  backwardFetch(key: K, timeFrom: number, timeTo: number): WindowedValue<V>[] {
    return this.#inner
      .backwardFetch(key, timeFrom, timeTo)
      .map((e) => ({ windowStart: e.windowStart, value: e.value.value }));
  }
  fetchRange(
    keyFrom: K | null,
    keyTo: K | null,
    timeFrom: number,
    timeTo: number,
  ): KeyValue<Windowed<K>, V>[] {
    return this.#inner.fetchRange(keyFrom, keyTo, timeFrom, timeTo).map(plain);
  }
  fetchAll(timeFrom: number, timeTo: number): KeyValue<Windowed<K>, V>[] {
    return this.#inner.fetchAll(timeFrom, timeTo).map(plain);
  }
  all(): KeyValue<Windowed<K>, V>[] {
    return this.#inner.all().map(plain);
  }
}

function plain<K, V>(e: KeyValue<Windowed<K>, ValueAndTimestamp<V>>): KeyValue<Windowed<K>, V> {
  return { key: e.key, value: e.value.value };
}

/** Which window byte store a builder opens: name, backend, retention, window size, duplicates. */
export interface WindowBytesStoreSupplier {
  readonly name: string;
  readonly persistent: boolean;
  readonly retentionMs: number;
  readonly windowSizeMs: number;
  readonly retainDuplicates: boolean;
}

export type WindowStoreBuilder<K, V> = TypedStoreBuilder<K, V, WindowStore<K, V>>;
export type TimestampedWindowStoreBuilder<K, V> = TypedStoreBuilder<K, V, TimestampedWindowStore<K, V>>;

export function windowBytesStoreSupplier(
  name: string,
  persistent: boolean,
  retentionMs: number,
  windowSizeMs: number,
  retainDuplicates: boolean,
): WindowBytesStoreSupplier {
  for (const [what, v] of [
    ['retention period', retentionMs],
    ['window size', windowSizeMs],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new RangeError(
        `The ${what} of window store "${name}" must be a whole number of milliseconds >= 0, got ${String(v)}`,
      );
  }
  if (windowSizeMs > retentionMs) {
    throw new RangeError(
      `The retention period of window store "${name}" must be no smaller than its window size: got size=${windowSizeMs} ms, retention=${retentionMs} ms`,
    );
  }
  return { name, persistent, retentionMs, windowSizeMs, retainDuplicates };
}

function windowSpec(supplier: WindowBytesStoreSupplier, kind: 'window' | 'timestampedWindow'): StoreSpec {
  return {
    name: supplier.name,
    kind,
    persistent: supplier.persistent,
    logging: true,
    changelogConfig: {},
    caching: false,
    windowSizeMs: supplier.windowSizeMs,
    retentionMs: supplier.retentionMs,
    retainDuplicates: supplier.retainDuplicates,
  };
}

export function windowStoreBuilder<K, V>(
  supplier: WindowBytesStoreSupplier,
  keySerde: Serde<K>,
  valueSerde: Serde<V>,
): WindowStoreBuilder<K, V> {
  return new TypedStoreBuilder(
    windowSpec(supplier, 'window'),
    keySerde,
    valueSerde,
    (ctx: StoreContext, spec, k, v) =>
      new TypedWindowStore(spec.name, ctx.windowBytesStore(spec), k, v, ctx.serdeTopic(spec.name)),
  );
}

export function timestampedWindowStoreBuilder<K, V>(
  supplier: WindowBytesStoreSupplier,
  keySerde: Serde<K>,
  valueSerde: Serde<V>,
): TimestampedWindowStoreBuilder<K, V> {
  return new TypedStoreBuilder(
    windowSpec(supplier, 'timestampedWindow'),
    keySerde,
    valueSerde,
    (ctx: StoreContext, spec, k, v) =>
      new TypedWindowStore(
        spec.name,
        ctx.windowBytesStore(spec),
        k,
        valueAndTimestampSerde(v),
        ctx.serdeTopic(spec.name),
      ),
  );
}
