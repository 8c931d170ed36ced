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

/** How the runtime creates a declared topic that does not exist yet. */
export interface TopicDeclaration {
  /** The topic of the topology (source, sink or declared) whose partition count it gets. */
  partitionsOf: string;
  /** Topic configs for its creation, e.g. `{ 'retention.ms': '604800000' }`. */
  configs?: Record<string, string>;
}

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

  /**
   * A topic the application creates at start when it does not exist yet, with the partition
   * count of `partitionsOf` (as Spring's retry topics take the main topic's). An existing one is
   * used as it is. The topology may read it as a source: it need not exist before start.
   */
  addTopic(name: string, declaration: TopicDeclaration): this {
    topologyGraph(this).addDeclaredTopic({ name, ...declaration });
    return this;
  }

  describe(): TopologyDescription {
    return describeTopology(topologyGraph(this));
  }
}
