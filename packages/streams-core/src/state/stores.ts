import type { Serde } from '../serdes/serde.ts';
import { TypedKeyValueStore, type KeyValueStore } from './key-value-store.ts';
import type { StoreBuilder, StoreContext, StoreKind, StoreSpec } from './store-builder.ts';
import { valueAndTimestampSerde, type ValueAndTimestamp } from './value-and-timestamp.ts';

/** Which byte store a builder should open: names and backends, without serdes. */
export interface KeyValueBytesStoreSupplier {
  readonly name: string;
  readonly persistent: boolean;
}

class KeyValueStoreBuilderImpl<K, V, S> implements StoreBuilder<S> {
  spec: StoreSpec;
  readonly keySerde: Serde<K>;
  readonly valueSerde: Serde<V>;
  readonly #wrap: (ctx: StoreContext, spec: StoreSpec, k: Serde<K>, v: Serde<V>) => S;

  constructor(
    supplier: KeyValueBytesStoreSupplier,
    kind: StoreKind,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
    wrap: (ctx: StoreContext, spec: StoreSpec, k: Serde<K>, v: Serde<V>) => S,
  ) {
    this.spec = { name: supplier.name, kind, persistent: supplier.persistent, logging: true, changelogConfig: {}, caching: false };
    this.keySerde = keySerde;
    this.valueSerde = valueSerde;
    this.#wrap = wrap;
  }

  /** Keeps the store local only: faster, but lost with the machine (no changelog to restore from). */
  withLoggingDisabled(): this {
    this.spec = { ...this.spec, logging: false };
    return this;
  }

  withLoggingEnabled(config: Record<string, string> = {}): this {
    this.spec = { ...this.spec, logging: true, changelogConfig: { ...config } };
    return this;
  }

  withCachingEnabled(): this {
    this.spec = { ...this.spec, caching: true };
    return this;
  }

  withCachingDisabled(): this {
    this.spec = { ...this.spec, caching: false };
    return this;
  }

  build(ctx: StoreContext): S {
    return this.#wrap(ctx, this.spec, this.keySerde, this.valueSerde);
  }
}

export type KeyValueStoreBuilder<K, V> = KeyValueStoreBuilderImpl<K, V, KeyValueStore<K, V>>;
export type TimestampedKeyValueStoreBuilder<K, V> = KeyValueStoreBuilderImpl<K, V, KeyValueStore<K, ValueAndTimestamp<V>>>;

/** Factory of store suppliers and builders for the Processor API, as Kafka Streams' `Stores`. */
export const Stores = {
  /** On SQLite in the task's state directory, logged to a changelog topic. */
  persistentKeyValueStore(name: string): KeyValueBytesStoreSupplier {
    return { name, persistent: true };
  },
  inMemoryKeyValueStore(name: string): KeyValueBytesStoreSupplier {
    return { name, persistent: false };
  },
  keyValueStoreBuilder<K, V>(supplier: KeyValueBytesStoreSupplier, keySerde: Serde<K>, valueSerde: Serde<V>): KeyValueStoreBuilder<K, V> {
    return new KeyValueStoreBuilderImpl(supplier, 'keyValue', keySerde, valueSerde, (ctx, spec, k, v) =>
      new TypedKeyValueStore(spec.name, ctx.keyValueBytesStore(spec), k, v, ctx.serdeTopic(spec.name)),
    );
  },
  timestampedKeyValueStoreBuilder<K, V>(
    supplier: KeyValueBytesStoreSupplier,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
  ): TimestampedKeyValueStoreBuilder<K, V> {
    return new KeyValueStoreBuilderImpl(supplier, 'timestampedKeyValue', keySerde, valueSerde, (ctx, spec, k, v) =>
      new TypedKeyValueStore(spec.name, ctx.keyValueBytesStore(spec), k, valueAndTimestampSerde(v), ctx.serdeTopic(spec.name)),
    );
  },
};
