/**
 * The topology users hold: what `StreamsBuilder.build()` returns and what the Processor API
 * builds with `new Topology().addSource(...).addProcessor(...)...`. It offers the Processor API's
 * building methods and `describe()`; the graph behind it (nodes, stores, sub-topologies) belongs
 * to the runtime and the test driver (`topology-graph.ts`).
 *
 * A topology built by a StreamsBuilder is a frozen snapshot: building more on the builder
 * afterwards does not change it, and its building methods throw a TopologyException.
 */
import type { ProcessorSupplier } from '../processor/api/processor.ts';
import type { StoreBuilder } from '../state/store-builder.ts';
import { describeTopology, type TopologyDescription } from './describe.ts';
import type { TopicNameExtractor } from './extractors.ts';
import { type SinkOptions, type SourceOptions, topologyGraph } from './topology-graph.ts';

export class Topology {
  /** A source node reading one or more topics. */
  addSource<K = unknown, V = unknown>(
    name: string,
    topics: string | readonly string[],
    options: SourceOptions<K, V> = {},
  ): this {
    topologyGraph(this).addSource(name, topics, options);
    return this;
  }

  /** A processor node fed by the given parent nodes. */
  addProcessor<KIn, VIn, KOut, VOut>(
    name: string,
    supplier: ProcessorSupplier<KIn, VIn, KOut, VOut>,
    ...parentNames: string[]
  ): this {
    topologyGraph(this).addProcessor(name, supplier, ...parentNames);
    return this;
  }

  /** A sink node writing what its parents forward to a topic (or a topic chosen per record). */
  addSink<K = unknown, V = unknown>(
    name: string,
    topic: string | TopicNameExtractor<K, V>,
    options: SinkOptions<K, V>,
    ...parentNames: string[]
  ): this {
    topologyGraph(this).addSink(name, topic, options, ...parentNames);
    return this;
  }

  /** A store, connected to the given processors. */
  addStateStore(builder: StoreBuilder, ...processorNames: string[]): this {
    topologyGraph(this).addStateStore(builder, ...processorNames);
    return this;
  }

  /**
   * A global store: every instance reads all partitions of `topic` into it through `supplier`,
   * outside the tasks, and every task can read it. The topic is the store's changelog.
   */
  addGlobalStore<K, V>(
    builder: StoreBuilder,
    sourceName: string,
    topic: string,
    options: Omit<SourceOptions<K, V>, 'internal'>,
    processorName: string,
    supplier: ProcessorSupplier<K, V, never, never>,
  ): this {
    topologyGraph(this).addGlobalStore(builder, sourceName, topic, options, processorName, supplier);
    return this;
  }

  /** Gives processors access to a store that was added before. */
  connectProcessorAndStateStores(storeName: string, ...processorNames: string[]): this {
    topologyGraph(this).connectProcessorAndStateStores(storeName, ...processorNames);
    return this;
  }

  describe(): TopologyDescription {
    return describeTopology(topologyGraph(this));
  }
}
