import { CachingKeyValueStore, type KeyValueBytesStore } from '@kafka-pattern/state-store';
import type { KeyValue } from '../processor/api/record.ts';
import type { Serde, Serializer } from '../serdes/serde.ts';
import { StoreOperations } from './store-operations.ts';

/** Read access to a key-value store, as interactive queries and the test driver see it. */
export interface ReadOnlyKeyValueStore<K, V> {
  readonly name: string;
  /** The value of a key, or undefined when the key is absent. */
  get(key: K): V | undefined;
  /** Keys between `from` and `to`, both inclusive, in the order of their serialized bytes. */
  range(from: K | null, to: K | null): KeyValue<K, V>[];
  reverseRange(from: K | null, to: K | null): KeyValue<K, V>[];
  all(): KeyValue<K, V>[];
  reverseAll(): KeyValue<K, V>[];
  approximateNumEntries(): number;
}

export interface KeyValueStore<K, V> extends ReadOnlyKeyValueStore<K, V> {
  /** A null value deletes the key. */
  put(key: K, value: V | null): void;
  putIfAbsent(key: K, value: V): V | undefined;
  putAll(entries: ReadonlyArray<KeyValue<K, V | null>>): void;
  delete(key: K): V | undefined;
  /**
   * Entries whose serialized key starts with the serialized `prefix`, in key order: keys built
   * from several parts (a foreign key, then a primary key) are found by their first part.
   */
  prefixScan<P>(prefix: P, prefixSerializer: Serializer<P>): KeyValue<K, V>[];
}

/**
 * The typed face of a byte store. Keys and values are serialized with the store's serdes, using
 * the changelog topic's name as the serde topic, as Kafka Streams does.
 */
export class TypedKeyValueStore<K, V> implements KeyValueStore<K, V> {
  readonly name: string;
  readonly inner: KeyValueBytesStore;
  readonly operations = new StoreOperations();
  readonly operationsKind = 'keyValue';
  readonly #keySerde: Serde<K>;
  readonly #valueSerde: Serde<V>;
  readonly #topic: string;

  constructor(
    name: string,
    inner: KeyValueBytesStore,
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

  #key(key: K): Buffer {
    const bytes = this.#keySerde.serialize(this.#topic, key);
    if (bytes === null) throw new Error(`Store "${this.name}" cannot hold a null key`);
    return bytes;
  }

  #value(bytes: Buffer | undefined): V | undefined {
    if (bytes === undefined) return undefined;
    return this.#valueSerde.deserialize(this.#topic, bytes) ?? undefined;
  }

  #entries(it: Iterable<{ key: Buffer; value: Buffer }>): KeyValue<K, V>[] {
    const out: KeyValue<K, V>[] = [];
    for (const e of it) {
      out.push({
        key: this.#keySerde.deserialize(this.#topic, e.key) as K,
        value: this.#valueSerde.deserialize(this.#topic, e.value) as V,
      });
    }
    return out;
  }

  #bound(k: K | null): Buffer | null {
    return k === null || k === undefined ? null : this.#key(k);
  }

  get(key: K): V | undefined {
    this.operations.gets++;
    return this.#value(this.inner.get(this.#key(key)));
  }

  put(key: K, value: V | null): void {
    this.operations.puts++;
    this.inner.put(this.#key(key), value === null ? null : this.#valueSerde.serialize(this.#topic, value));
  }

  putIfAbsent(key: K, value: V): V | undefined {
    this.operations.puts++;
    const bytes = this.#valueSerde.serialize(this.#topic, value);
    if (bytes === null) return this.get(key);
    return this.#value(this.inner.putIfAbsent(this.#key(key), bytes));
  }

  putAll(entries: ReadonlyArray<KeyValue<K, V | null>>): void {
    this.operations.puts += entries.length;
    this.inner.putAll(
      entries.map(
        (e) =>
          [
            this.#key(e.key),
            e.value === null ? null : this.#valueSerde.serialize(this.#topic, e.value),
          ] as const,
      ),
    );
  }

  delete(key: K): V | undefined {
    this.operations.deletes++;
    return this.#value(this.inner.delete(this.#key(key)));
  }

  /**
   * With the record cache on, registers who hears of updates when the cache flushes them
   * (folded: one call per key per flush, old value = what was flushed before) and returns true;
   * returns false when the store writes through, so the caller forwards each update itself.
   */
  setFlushListener(listener: (key: K, newValue: V | null, oldValue: V | null) => void): boolean {
    if (!(this.inner instanceof CachingKeyValueStore)) return false;
    const topic = this.#topic;
    this.inner.setFlushListener((k, n, o) => {
      listener(
        this.#keySerde.deserialize(topic, k) as K,
        n === null ? null : this.#valueSerde.deserialize(topic, n),
        o === null ? null : this.#valueSerde.deserialize(topic, o),
      );
    });
    return true;
  }

  range(from: K | null, to: K | null): KeyValue<K, V>[] {
    this.operations.scans++;
    return this.#entries(this.inner.range(this.#bound(from), this.#bound(to)));
  }

  prefixScan<P>(prefix: P, prefixSerializer: Serializer<P>): KeyValue<K, V>[] {
    this.operations.scans++;
    const bytes = prefixSerializer.serialize(this.#topic, prefix);
    if (bytes === null) throw new Error(`Store "${this.name}" cannot scan for a null prefix`);
    return this.#entries(this.inner.prefixScan(bytes));
  }

  reverseRange(from: K | null, to: K | null): KeyValue<K, V>[] {
    this.operations.scans++;
    return this.#entries(this.inner.reverseRange(this.#bound(from), this.#bound(to)));
  }

  all(): KeyValue<K, V>[] {
    this.operations.scans++;
    return this.#entries(this.inner.all());
  }

  reverseAll(): KeyValue<K, V>[] {
    this.operations.scans++;
    return this.#entries(this.inner.reverseAll());
  }

  approximateNumEntries(): number {
    return this.inner.approximateNumEntries();
  }
}

/** A view of a timestamped store that shows plain values, as `getKeyValueStore` gives in tests and queries. */
export class PlainValueView<K, V> implements ReadOnlyKeyValueStore<K, V> {
  readonly name: string;
  readonly #inner: ReadOnlyKeyValueStore<K, { value: V; timestamp: number }>;

  constructor(inner: ReadOnlyKeyValueStore<K, { value: V; timestamp: number }>) {
    this.name = inner.name;
    this.#inner = inner;
  }

  get(key: K): V | undefined {
    return this.#inner.get(key)?.value;
  }
  range(from: K | null, to: K | null): KeyValue<K, V>[] {
    return this.#inner.range(from, to).map(plain);
  }
  reverseRange(from: K | null, to: K | null): KeyValue<K, V>[] {
    return this.#inner.reverseRange(from, to).map(plain);
  }
  all(): KeyValue<K, V>[] {
    return this.#inner.all().map(plain);
  }
  reverseAll(): KeyValue<K, V>[] {
    return this.#inner.reverseAll().map(plain);
  }
  approximateNumEntries(): number {
    return this.#inner.approximateNumEntries();
  }
}

function plain<K, V>(e: KeyValue<K, { value: V; timestamp: number }>): KeyValue<K, V> {
  return { key: e.key, value: e.value.value };
}
