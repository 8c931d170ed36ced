/**
 * The one StoreBuilder implementation behind every `Stores.*Builder`: a spec (what byte store to
 * open, logged or not) plus serdes, and how to wrap the byte store in its typed face.
 */
import { StreamsException } from '../errors/exception-handlers.ts';
import type { Serde } from '../serdes/serde.ts';
import type { DefaultSerdes, StoreBuilder, StoreContext, StoreSpec } from './store-builder.ts';

export class TypedStoreBuilder<K, V, S> implements StoreBuilder<S> {
  spec: StoreSpec;
  readonly keySerde: Serde<K>;
  readonly valueSerde: Serde<V>;
  readonly #wrap: (ctx: StoreContext, spec: StoreSpec, k: Serde<K>, v: Serde<V>) => S;

  constructor(
    spec: StoreSpec,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
    wrap: (ctx: StoreContext, spec: StoreSpec, k: Serde<K>, v: Serde<V>) => S,
  ) {
    this.spec = spec;
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

  build(ctx: StoreContext, defaults?: DefaultSerdes): S {
    const keySerde = this.keySerde ?? defaults?.key;
    const valueSerde = this.valueSerde ?? defaults?.value;
    if (!keySerde || !valueSerde) {
      throw new StreamsException(
        `No ${keySerde ? 'value' : 'key'} serde for store "${this.spec.name}": pass one where the store is defined (e.g. { ${keySerde ? 'value' : 'key'}: Serdes.Long() } in the aggregation's options) or set defaultKeySerde/defaultValueSerde in the config`,
      );
    }
    return this.#wrap(ctx, this.spec, keySerde, valueSerde);
  }
}
