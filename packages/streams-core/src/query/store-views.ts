/**
 * What `KafkaStreams.store(...)` hands to users: read-only key-value, window and session views of
 * one store, the names of those store types, and the exceptions a query throws when the store
 * does not exist or cannot be read now.
 *
 * A view holds no data. It reads through a `StoreSource` (the store's copies on this instance's
 * tasks, see `composite-stores.ts`): point lookups go to the one copy holding the key, scans read
 * every copy and merge their answers in key order.
 */
import { StreamsException } from '../errors/exception-handlers.ts';
import type { KeyValue } from '../processor/api/record.ts';
import type { Serde } from '../serdes/serde.ts';
import type { Windowed } from '../serdes/windowed.ts';
import type { ReadOnlyKeyValueStore } from '../state/key-value-store.ts';
import type { ReadOnlySessionStore } from '../state/session-store.ts';
import type { StoreKind } from '../state/store-builder.ts';
import type { ReadOnlyWindowStore, WindowedValue } from '../state/window-store.ts';

/** The store does not exist in the topology. */
export class UnknownStateStoreException extends StreamsException {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownStateStoreException';
  }
}

/** The store exists but cannot be read now (the instance is not RUNNING): retry later. */
export class InvalidStateStoreException extends StreamsException {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidStateStoreException';
  }
}

/** How a store is read: key-value (plain or timestamped), window (plain or timestamped), session. */
export type QueryableStoreType = 'keyValue' | 'window' | 'session';

export interface QueryableStoreTypes<K, V> {
  keyValue: ReadOnlyKeyValueStore<K, V>;
  window: ReadOnlyWindowStore<K, V>;
  session: ReadOnlySessionStore<K, V>;
}

/** What the views need to know about a store. */
export interface QueryableStoreInfo {
  readonly name: string;
  readonly type: QueryableStoreType;
  readonly kind: StoreKind;
  readonly subtopology: number;
  readonly keySerde: Serde<unknown>;
  /** The topic name the store's serdes are given: its changelog topic. */
  readonly serdeTopic: string;
}

/** The copies of one store a view reads: one per local task. */
export interface StoreSource {
  readonly info: QueryableStoreInfo;
  /** The copy holding `key`, or undefined when its partition is not local. */
  forKey<S>(key: unknown): S | undefined;
  /** Every local copy, in partition order. */
  all<S>(): S[];
  /** Merges per-copy answers into one in key-byte order (reversed when asked). */
  merge<E>(lists: E[][], keyOf: (entry: E) => unknown, reverse?: boolean): E[];
}

/** The read-only view of a store of the given type. */
export function storeView<K, V, T extends QueryableStoreType>(
  source: StoreSource,
  type: T,
  windowSizeMs: number,
): QueryableStoreTypes<K, V>[T] {
  const view =
    type === 'keyValue'
      ? new KeyValueView(source)
      : type === 'window'
        ? new WindowView(source, windowSizeMs)
        : new SessionView(source);
  return view as unknown as QueryableStoreTypes<K, V>[T];
}

class KeyValueView<K, V> implements ReadOnlyKeyValueStore<K, V> {
  readonly name: string;
  readonly #source: StoreSource;

  constructor(source: StoreSource) {
    this.#source = source;
    this.name = source.info.name;
  }

  get(key: K): V | undefined {
    return this.#source.forKey<ReadOnlyKeyValueStore<K, V>>(key)?.get(key);
  }

  range(from: K | null, to: K | null): KeyValue<K, V>[] {
    return this.#merge((s) => s.range(from, to), false);
  }

  reverseRange(from: K | null, to: K | null): KeyValue<K, V>[] {
    return this.#merge((s) => s.reverseRange(from, to), true);
  }

  all(): KeyValue<K, V>[] {
    return this.#merge((s) => s.all(), false);
  }

  reverseAll(): KeyValue<K, V>[] {
    return this.#merge((s) => s.reverseAll(), true);
  }

  approximateNumEntries(): number {
    let n = 0;
    for (const s of this.#source.all<ReadOnlyKeyValueStore<K, V>>()) n += s.approximateNumEntries();
    return n;
  }

  #merge(read: (s: ReadOnlyKeyValueStore<K, V>) => KeyValue<K, V>[], reverse: boolean): KeyValue<K, V>[] {
    return this.#source.merge(
      this.#source.all<ReadOnlyKeyValueStore<K, V>>().map(read),
      (e) => e.key,
      reverse,
    );
  }
}

class WindowView<K, V> implements ReadOnlyWindowStore<K, V> {
  readonly name: string;
  readonly windowSizeMs: number;
  readonly #source: StoreSource;

  constructor(source: StoreSource, windowSizeMs: number) {
    this.#source = source;
    this.name = source.info.name;
    this.windowSizeMs = windowSizeMs;
  }

  fetch(key: K, windowStart: number): V | undefined;
  fetch(key: K, timeFrom: number, timeTo: number): WindowedValue<V>[];
  fetch(key: K, timeFrom: number, timeTo?: number): V | undefined | WindowedValue<V>[] {
    const store = this.#source.forKey<ReadOnlyWindowStore<K, V>>(key);
    if (timeTo === undefined) return store?.fetch(key, timeFrom);
    return store?.fetch(key, timeFrom, timeTo) ?? [];
  }

  backwardFetch(key: K, timeFrom: number, timeTo: number): WindowedValue<V>[] {
    return this.#source.forKey<ReadOnlyWindowStore<K, V>>(key)?.backwardFetch(key, timeFrom, timeTo) ?? [];
  }

  fetchRange(
    keyFrom: K | null,
    keyTo: K | null,
    timeFrom: number,
    timeTo: number,
  ): KeyValue<Windowed<K>, V>[] {
    return this.#merge((s) => s.fetchRange(keyFrom, keyTo, timeFrom, timeTo));
  }

  fetchAll(timeFrom: number, timeTo: number): KeyValue<Windowed<K>, V>[] {
    return this.#merge((s) => s.fetchAll(timeFrom, timeTo));
  }

  all(): KeyValue<Windowed<K>, V>[] {
    return this.#merge((s) => s.all());
  }

  #merge(read: (s: ReadOnlyWindowStore<K, V>) => KeyValue<Windowed<K>, V>[]): KeyValue<Windowed<K>, V>[] {
    return this.#source.merge(this.#source.all<ReadOnlyWindowStore<K, V>>().map(read), (e) => e.key.key);
  }
}

class SessionView<K, V> implements ReadOnlySessionStore<K, V> {
  readonly name: string;
  readonly #source: StoreSource;

  constructor(source: StoreSource) {
    this.#source = source;
    this.name = source.info.name;
  }

  fetch(key: K): KeyValue<Windowed<K>, V>[] {
    return this.#source.forKey<ReadOnlySessionStore<K, V>>(key)?.fetch(key) ?? [];
  }

  findSessions(
    key: K,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): KeyValue<Windowed<K>, V>[] {
    return (
      this.#source
        .forKey<ReadOnlySessionStore<K, V>>(key)
        ?.findSessions(key, earliestSessionEndTime, latestSessionStartTime) ?? []
    );
  }

  findSessionsRange(
    keyFrom: K | null,
    keyTo: K | null,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): KeyValue<Windowed<K>, V>[] {
    const lists = this.#source
      .all<ReadOnlySessionStore<K, V>>()
      .map((s) => s.findSessionsRange(keyFrom, keyTo, earliestSessionEndTime, latestSessionStartTime));
    return this.#source.merge(lists, (e) => e.key.key);
  }

  fetchSession(key: K, sessionStart: number, sessionEnd: number): V | undefined {
    return this.#source.forKey<ReadOnlySessionStore<K, V>>(key)?.fetchSession(key, sessionStart, sessionEnd);
  }
}
