/**
 * Entry point of the DSL: declare source streams and tables, chain operators, then `build()` the
 * topology that the runtime or the test driver executes.
 */

import type { ProcessorSupplier } from '../processor/api/processor.ts';
import { isAsyncSerde } from '../serdes/async-serde.ts';
import type { Serde } from '../serdes/serde.ts';
import type { StoreBuilder } from '../state/store-builder.ts';
import { type TopicDeclaration, Topology } from '../topology/topology.ts';
import { bindTopologyGraph } from '../topology/topology-graph.ts';
import { GlobalKTable } from './global-ktable.ts';
import { BuilderContext } from './internals/builder-context.ts';
import { tableSourceProcessor } from './internals/table-source.ts';
import { storeValueGetter } from './internals/table-value-getter.ts';
import { KStream } from './kstream.ts';
import { KTable } from './ktable.ts';
import type { Consumed, Materialized, StreamConsumed } from './options.ts';

export class StreamsBuilder {
  readonly #ctx = new BuilderContext();
  #built = false;

  /** A stream of the records of one or more topics. */
  stream<K = unknown, V = unknown>(
    topics: string | readonly string[],
    consumed: StreamConsumed<K, V> = {},
  ): KStream<K, V> {
    const list = typeof topics === 'string' ? [topics] : [...topics];
    const name = this.#ctx.name(consumed.name, 'KSTREAM-SOURCE', `topics:${list.join(',')}`);
    this.#ctx.topology.addSource(name, list, {
      ...(consumed.key ? { keySerde: consumed.key } : {}),
      ...(consumed.value ? { valueSerde: consumed.value } : {}),
      ...(consumed.timestampExtractor ? { timestampExtractor: consumed.timestampExtractor } : {}),
    });
    // An asynchronous serde is for this source only: a store or sink downstream gets its own.
    const valueSerde = isAsyncSerde(consumed.value) ? undefined : (consumed.value as Serde<V> | undefined);
    return new KStream<K, V>(this.#ctx, name, consumed.key, valueSerde, false);
  }

  /** A table of a topic's latest value per key; a null value deletes the key. */
  table<K = unknown, V = unknown>(
    topic: string,
    consumed: Consumed<K, V> = {},
    materialized: Materialized<K, V> = {},
  ): KTable<K, V> {
    const sourceName = this.#ctx.name(consumed.name, 'KSTREAM-SOURCE', `topics:${topic}`);
    this.#ctx.topology.addSource(sourceName, topic, {
      ...(consumed.key ? { keySerde: consumed.key } : {}),
      ...(consumed.value ? { valueSerde: consumed.value } : {}),
      ...(consumed.timestampExtractor ? { timestampExtractor: consumed.timestampExtractor } : {}),
    });
    const processorName = this.#ctx.names.generate('KTABLE-SOURCE', sourceName);
    const keySerde: Serde<K> | undefined = materialized.key ?? consumed.key;
    const valueSerde: Serde<V> | undefined = materialized.value ?? consumed.value;
    const store = this.#ctx.keyValueStore(
      materialized,
      `${topic}-STATE-STORE`,
      processorName,
      keySerde,
      valueSerde,
    );
    this.#ctx.topology.addProcessor(processorName, tableSourceProcessor(store.name), sourceName);
    this.#ctx.topology.addStateStore(store.builder, processorName);
    return KTable.materialized(this.#ctx, processorName, keySerde, valueSerde, store.name);
  }

  /**
   * A table of a topic that every instance reads in full (all partitions), to join streams with
   * by a key derived from each record: `stream.join(globalTable, (k, v) => v.productId, joiner)`.
   */
  globalTable<K = unknown, V = unknown>(
    topic: string,
    consumed: Consumed<K, V> = {},
    materialized: Materialized<K, V> = {},
  ): GlobalKTable<K, V> {
    const sourceName = this.#ctx.name(consumed.name, 'KSTREAM-SOURCE', `global:${topic}`);
    const processorName = this.#ctx.names.generate('KTABLE-SOURCE', sourceName);
    const keySerde: Serde<K> | undefined = materialized.key ?? consumed.key;
    const valueSerde: Serde<V> | undefined = materialized.value ?? consumed.value;
    // The topic is the global store's changelog: the store itself keeps no other.
    const store = this.#ctx.keyValueStore(
      { ...materialized, logging: false, caching: false },
      `${topic}-STATE-STORE`,
      processorName,
      keySerde,
      valueSerde,
    );
    this.#ctx.topology.addGlobalStore(
      store.builder,
      sourceName,
      topic,
      {
        ...(consumed.key ? { keySerde: consumed.key } : {}),
        ...(consumed.value ? { valueSerde: consumed.value } : {}),
        ...(consumed.timestampExtractor ? { timestampExtractor: consumed.timestampExtractor } : {}),
      },
      processorName,
      tableSourceProcessor(store.name) as ProcessorSupplier<K, V, never, never>,
    );
    return new GlobalKTable<K, V>(store.name, keySerde, valueSerde, storeValueGetter<K, V>(store.name));
  }

  /** Adds a store for processors given to `KStream.process` (which name it). */
  addStateStore(builder: StoreBuilder): this {
    this.#ctx.topology.addStateStore(builder);
    return this;
  }

  /**
   * A topic the application creates at start when it does not exist yet, with the partition
   * count of `partitionsOf`; an existing one is used as it is. Streams may read it: it need not
   * exist before start (`builder.addTopic('payments-retry', { partitionsOf: 'payments' })`).
   */
  addTopic(name: string, declaration: TopicDeclaration): this {
    this.#ctx.topology.addDeclaredTopic({ name, ...declaration });
    return this;
  }

  /**
   * The topology built so far, to run with KafkaStreams or a TopologyTestDriver: a snapshot that
   * nothing built on this builder afterwards changes, and that cannot be changed itself.
   */
  build(): Topology {
    this.#built = true;
    return bindTopologyGraph(new Topology(), this.#ctx.topology.snapshot());
  }

  get built(): boolean {
    return this.#built;
  }
}
