/**
 * Shared by the DSL classes of one StreamsBuilder: adds nodes, stores and internal topics to the
 * topology with stable generated names.
 */
import type { ProcessorSupplier } from '../../processor/api/processor.ts';
import type { Serde } from '../../serdes/serde.ts';
import type { StoreBuilder } from '../../state/store-builder.ts';
import { Stores } from '../../state/stores.ts';
import type { StreamPartitioner } from '../../topology/extractors.ts';
import { NameGenerator } from '../../topology/naming.ts';
import { TopologyGraph } from '../../topology/topology-graph.ts';
import type { Materialized } from '../options.ts';
import { filterProcessor } from './stateless.ts';

export class BuilderContext {
  readonly topology = new TopologyGraph();
  readonly names = new NameGenerator();

  /** Inputs joined by key must be co-partitioned: the runtime checks partition counts at start. */
  requireCopartition(...nodeNames: string[]): void {
    const topics = [...new Set(nodeNames.flatMap((n) => upstreamTopics(this.topology, n)))];
    if (topics.length > 1) this.topology.addCopartitionGroup(topics);
  }

  /** A user-given name, or a stable generated one. */
  name(given: string | undefined, kind: string, anchor: string): string {
    return given !== undefined ? this.names.claim(given) : this.names.generate(kind, anchor);
  }

  addProcessor(
    kind: string,
    supplier: ProcessorSupplier<any, any, any, any>,
    parents: readonly string[],
    given?: string,
  ): string {
    const name = this.name(given, kind, parents.join('+'));
    this.topology.addProcessor(name, supplier, ...parents);
    return name;
  }

  /** A timestamped key-value store for a table or aggregation. */
  keyValueStore<K, V>(
    materialized: Materialized<K, V> | undefined,
    storeKind: string,
    anchor: string,
    keySerde: Serde<K> | undefined,
    valueSerde: Serde<V> | undefined,
  ): { name: string; builder: StoreBuilder; queryable: boolean } {
    const name = this.name(materialized?.name, storeKind, anchor);
    const supplier =
      materialized?.storeType === 'in-memory'
        ? Stores.inMemoryKeyValueStore(name)
        : Stores.persistentKeyValueStore(name);
    const builder = Stores.timestampedKeyValueStoreBuilder(
      supplier,
      keySerde as Serde<K>,
      valueSerde as Serde<V>,
    );
    applyLogging(builder, materialized);
    return { name, builder, queryable: materialized?.name !== undefined };
  }

  /**
   * Routes records through `<applicationId>-<topicName>-repartition` so that each key lands on the
   * partition that owns it. Returns the name of the source node reading the repartition topic.
   */
  repartition(
    parent: string,
    topicBase: string,
    keySerde: Serde<any> | undefined,
    valueSerde: Serde<any> | undefined,
    options: {
      numberOfPartitions?: number;
      partitioner?: StreamPartitioner<any, any>;
      dropNullKeys?: boolean;
    } = {},
  ): string {
    const topic = `${topicBase}-repartition`;
    let upstream = parent;
    if (options.dropNullKeys !== false) {
      // A record without a key has no partition to go to; it is dropped, as in Kafka Streams.
      upstream = this.addProcessor(
        'KSTREAM-FILTER',
        filterProcessor((k) => k !== null && k !== undefined),
        [parent],
        `${topic}-filter`,
      );
    }
    this.topology.addRepartitionTopic(topic, options.numberOfPartitions);
    const sinkOptions: {
      keySerde?: Serde<any>;
      valueSerde?: Serde<any>;
      partitioner?: StreamPartitioner<any, any>;
      internal: boolean;
    } = { internal: true };
    if (keySerde) sinkOptions.keySerde = keySerde;
    if (valueSerde) sinkOptions.valueSerde = valueSerde;
    if (options.partitioner) sinkOptions.partitioner = options.partitioner;
    this.topology.addSink(this.names.claim(`${topic}-sink`), topic, sinkOptions, upstream);
    const sourceName = this.names.claim(`${topic}-source`);
    const sourceOptions: { keySerde?: Serde<any>; valueSerde?: Serde<any>; internal: boolean } = {
      internal: true,
    };
    if (keySerde) sourceOptions.keySerde = keySerde;
    if (valueSerde) sourceOptions.valueSerde = valueSerde;
    this.topology.addSource(sourceName, topic, sourceOptions);
    return sourceName;
  }
}

function applyLogging(
  builder: {
    withLoggingDisabled(): unknown;
    withLoggingEnabled(c: Record<string, string>): unknown;
    withCachingEnabled(): unknown;
  },
  m: Materialized<any, any> | undefined,
): void {
  if (m?.logging === false) builder.withLoggingDisabled();
  else if (typeof m?.logging === 'object') builder.withLoggingEnabled(m.logging);
  // Tables and aggregations cache by default, as in Kafka Streams: updates of a key between
  // commits are folded before they reach the changelog and downstream.
  if (m?.caching !== false) builder.withCachingEnabled();
}

/** Source topics upstream of a node, as written in the topology. */
export function upstreamTopics(
  topology: TopologyGraph,
  nodeName: string,
  seen = new Set<string>(),
): string[] {
  if (seen.has(nodeName)) return [];
  seen.add(nodeName);
  const node = topology.node(nodeName);
  if (node.kind === 'source') return [...node.topics];
  return node.parents.flatMap((p) => upstreamTopics(topology, p, seen));
}
