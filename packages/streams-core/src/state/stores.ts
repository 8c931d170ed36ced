import type { Serde } from '../serdes/serde.ts';
import { type KeyValueStore, TypedKeyValueStore } from './key-value-store.ts';
import {
  type SessionBytesStoreSupplier,
  type SessionStoreBuilder,
  sessionBytesStoreSupplier,
  sessionStoreBuilder,
} from './session-store.ts';
import type { StoreKind, StoreSpec } from './store-builder.ts';
import { TypedStoreBuilder } from './typed-store-builder.ts';
import { type ValueAndTimestamp, valueAndTimestampSerde } from './value-and-timestamp.ts';
import {
  type TimestampedWindowStoreBuilder,
  timestampedWindowStoreBuilder,
  type WindowBytesStoreSupplier,
  type WindowStoreBuilder,
  windowBytesStoreSupplier,
  windowStoreBuilder,
} from './window-store.ts';

/** Which byte store a builder should open: names and backends, without serdes. */
export interface KeyValueBytesStoreSupplier {
  readonly name: string;
  readonly persistent: boolean;
}

export type KeyValueStoreBuilder<K, V> = TypedStoreBuilder<K, V, KeyValueStore<K, V>>;
export type TimestampedKeyValueStoreBuilder<K, V> = TypedStoreBuilder<
  K,
  V,
  KeyValueStore<K, ValueAndTimestamp<V>>
>;

function keyValueSpec(supplier: KeyValueBytesStoreSupplier, kind: StoreKind): StoreSpec {
  return {
    name: supplier.name,
    kind,
    persistent: supplier.persistent,
    logging: true,
    changelogConfig: {},
    caching: false,
  };
}

/** Factory of store suppliers and builders for the Processor API, as Kafka Streams' `Stores`. */
export const Stores = {
  /** On SQLite in the task's state directory, logged to a changelog topic. */
  persistentKeyValueStore(name: string): KeyValueBytesStoreSupplier {
    return { name, persistent: true };
  },
  inMemoryKeyValueStore(name: string): KeyValueBytesStoreSupplier {
    return { name, persistent: false };
  },
  keyValueStoreBuilder<K, V>(
    supplier: KeyValueBytesStoreSupplier,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): KeyValueStoreBuilder<K, V> {
    return new TypedStoreBuilder(
      keyValueSpec(supplier, 'keyValue'),
      keySerde,
      valueSerde,
      (ctx, spec, k, v) =>
        new TypedKeyValueStore(spec.name, ctx.keyValueBytesStore(spec), k, v, ctx.serdeTopic(spec.name)),
    );
  },
  timestampedKeyValueStoreBuilder<K, V>(
    supplier: KeyValueBytesStoreSupplier,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): TimestampedKeyValueStoreBuilder<K, V> {
    return new TypedStoreBuilder(
      keyValueSpec(supplier, 'timestampedKeyValue'),
      keySerde,
      valueSerde,
      (ctx, spec, k, v) =>
        new TypedKeyValueStore(
          spec.name,
          ctx.keyValueBytesStore(spec),
          k,
          valueAndTimestampSerde(v),
          ctx.serdeTopic(spec.name),
        ),
    );
  },
  /** A window store on SQLite; `retainDuplicates` keeps every value put (stream-stream join buffers). */
  persistentWindowStore(
    name: string,
    retentionPeriodMs: number,
    windowSizeMs: number,
    retainDuplicates = false,
  ): WindowBytesStoreSupplier {
    return windowBytesStoreSupplier(name, true, retentionPeriodMs, windowSizeMs, retainDuplicates);
  },
  inMemoryWindowStore(
    name: string,
    retentionPeriodMs: number,
    windowSizeMs: number,
    retainDuplicates = false,
  ): WindowBytesStoreSupplier {
    return windowBytesStoreSupplier(name, false, retentionPeriodMs, windowSizeMs, retainDuplicates);
  },
  windowStoreBuilder<K, V>(
    supplier: WindowBytesStoreSupplier,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): WindowStoreBuilder<K, V> {
    return windowStoreBuilder(supplier, keySerde, valueSerde);
  },
  /** Values with the timestamp of the record that last updated them, as windowed aggregations keep them. */
  timestampedWindowStoreBuilder<K, V>(
    supplier: WindowBytesStoreSupplier,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): TimestampedWindowStoreBuilder<K, V> {
    return timestampedWindowStoreBuilder(supplier, keySerde, valueSerde);
  },
  persistentSessionStore(name: string, retentionPeriodMs: number): SessionBytesStoreSupplier {
    return sessionBytesStoreSupplier(name, true, retentionPeriodMs);
  },
  inMemorySessionStore(name: string, retentionPeriodMs: number): SessionBytesStoreSupplier {
    return sessionBytesStoreSupplier(name, false, retentionPeriodMs);
  },
  sessionStoreBuilder<K, V>(
    supplier: SessionBytesStoreSupplier,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): SessionStoreBuilder<K, V> {
    return sessionStoreBuilder(supplier, keySerde, valueSerde);
  },
};
