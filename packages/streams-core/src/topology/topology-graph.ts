/**
 * The topology's graph, as the runtime and the test driver execute it: source, processor and
 * sink nodes, the stores they use, the internal topics between sub-topologies, and the
 * sub-topologies themselves (global ones numbered after the others).
 *
 * The DSL builds one of these through its builder context, and `new Topology()` wraps one for
 * the Processor API. `StreamsBuilder.build()` hands out a frozen copy, so a built topology never
 * changes. Users hold the `Topology` facade (`topology.ts`); internal code reaches the graph
 * behind it with `topologyGraph()`. Not exported from the package.
 */
import type { ProcessorSupplier } from '../processor/api/processor.ts';
import { type AsyncSerde, isAsyncSerde } from '../serdes/async-serde.ts';
import type { Serde } from '../serdes/serde.ts';
import type { StoreBuilder } from '../state/store-builder.ts';
import type { StreamPartitioner, TimestampExtractor, TopicNameExtractor } from './extractors.ts';
import { groupSubtopologies } from './subtopologies.ts';
import type { Topology } from './topology.ts';
import { TopologyException } from './topology-errors.ts';

export interface SourceNodeDef {
  readonly kind: 'source';
  readonly name: string;
  /** Topic names as written; internal ones are prefixed with the application id at run time. */
  readonly topics: readonly string[];
  readonly internal: boolean;
  readonly keySerde: Serde<any> | undefined;
  readonly valueSerde: Serde<any> | AsyncSerde<any> | undefined;
  readonly timestampExtractor: TimestampExtractor | undefined;
  /** Feeds a global store: read in full by every instance, outside the tasks. */
  readonly global?: boolean;
  readonly parents: string[];
  readonly children: string[];
}

export interface ProcessorNodeDef {
  readonly kind: 'processor';
  readonly name: string;
  readonly supplier: ProcessorSupplier<any, any, any, any>;
  readonly stores: string[];
  readonly global?: boolean;
  readonly parents: string[];
  readonly children: string[];
}

export interface SinkNodeDef {
  readonly kind: 'sink';
  readonly name: string;
  readonly topic: string | TopicNameExtractor<any, any>;
  readonly internal: boolean;
  readonly keySerde: Serde<any> | undefined;
  readonly valueSerde: Serde<any> | AsyncSerde<any> | undefined;
  readonly partitioner: StreamPartitioner<any, any> | undefined;
  readonly parents: string[];
  readonly children: string[];
}

export type NodeDef = SourceNodeDef | ProcessorNodeDef | SinkNodeDef;

export interface RepartitionTopicDef {
  /** Name without the application id prefix, e.g. `word-counts-repartition`. */
  readonly name: string;
  readonly numberOfPartitions: number | undefined;
  /**
   * A topic (as written) whose partition count this one takes, instead of that of the
   * sub-topology writing it: a foreign-key join sends subscriptions from one table's tasks to
   * the partitions of another table.
   */
  readonly copartitionWith?: string | undefined;
}

/**
 * A topic the application creates at start when it does not exist yet (retry topics, a pattern's
 * own dead-letter topic), with the partition count of another topic of the topology. Unlike
 * internal topics its name is used as written, and an existing one is used as it is.
 */
export interface DeclaredTopicDef {
  readonly name: string;
  /** The topic whose partition count a new one gets: a source or sink topic, or another declared one. */
  readonly partitionsOf: string;
  readonly configs?: Readonly<Record<string, string>> | undefined;
}

export interface Subtopology {
  readonly id: number;
  /** Node names in an order where every parent comes before its children. */
  readonly nodes: readonly string[];
  readonly sourceNodes: readonly string[];
  readonly stores: readonly string[];
  /** Topics read, as written (internal ones unprefixed). */
  readonly sourceTopics: readonly { topic: string; internal: boolean }[];
  /** Groups of source topics that must be co-partitioned (joins). */
  readonly copartitionGroups: readonly (readonly string[])[];
}

export interface SourceOptions<K, V> {
  keySerde?: Serde<K>;
  /** An asynchronous serde decodes a batch's values before the batch is processed. */
  valueSerde?: Serde<V> | AsyncSerde<V>;
  timestampExtractor?: TimestampExtractor;
  /** Internal topic (repartition): the runtime prefixes the application id and creates it. */
  internal?: boolean;
}

export interface SinkOptions<K, V> {
  keySerde?: Serde<K>;
  /** An asynchronous serde encodes values before the records are produced. */
  valueSerde?: Serde<V> | AsyncSerde<V>;
  partitioner?: StreamPartitioner<K, V>;
  internal?: boolean;
}

export class TopologyGraph {
  readonly #nodes = new Map<string, NodeDef>();
  readonly #stores = new Map<string, { builder: StoreBuilder; processors: string[] }>();
  readonly #repartitionTopics = new Map<string, RepartitionTopicDef>();
  readonly #copartition: string[][] = [];
  readonly #sourceTopicOwner = new Map<string, string>();
  readonly #globalStores = new Map<string, { source: string; processor: string; topic: string }>();
  readonly #declaredTopics = new Map<string, DeclaredTopicDef>();
  #frozen = false;
  #subtopologies: Subtopology[] | undefined;
  #globalSubtopologies: Subtopology[] | undefined;

  addSource<K = unknown, V = unknown>(
    name: string,
    topics: string | readonly string[],
    options: SourceOptions<K, V> = {},
  ): this {
    this.#mutable();
    const list = typeof topics === 'string' ? [topics] : [...topics];
    if (list.length === 0) throw new TopologyException(`Source "${name}" needs at least one topic`);
    syncKeySerde(`source "${name}"`, options.keySerde);
    for (const t of list) {
      const owner = this.#sourceTopicOwner.get(t);
      if (owner)
        throw new TopologyException(
          `Topic "${t}" is already read by source "${owner}": a topic can be a source once per topology (merge the streams instead)`,
        );
    }
    this.#add({
      kind: 'source',
      name,
      topics: list,
      internal: options.internal ?? false,
      keySerde: options.keySerde,
      valueSerde: options.valueSerde,
      timestampExtractor: options.timestampExtractor,
      parents: [],
      children: [],
    });
    for (const t of list) this.#sourceTopicOwner.set(t, name);
    return this;
  }

  addProcessor<KIn, VIn, KOut, VOut>(
    name: string,
    supplier: ProcessorSupplier<KIn, VIn, KOut, VOut>,
    ...parentNames: string[]
  ): this {
    this.#mutable();
    if (parentNames.length === 0)
      throw new TopologyException(`Processor "${name}" needs at least one parent node`);
    this.#add({ kind: 'processor', name, supplier, stores: [], parents: [], children: [] });
    for (const p of parentNames) this.#connect(p, name);
    return this;
  }

  addSink<K = unknown, V = unknown>(
    name: string,
    topic: string | TopicNameExtractor<K, V>,
    options: SinkOptions<K, V>,
    ...parentNames: string[]
  ): this {
    this.#mutable();
    if (parentNames.length === 0)
      throw new TopologyException(`Sink "${name}" needs at least one parent node`);
    syncKeySerde(`sink "${name}"`, options.keySerde);
    this.#add({
      kind: 'sink',
      name,
      topic,
      internal: options.internal ?? false,
      keySerde: options.keySerde,
      valueSerde: options.valueSerde,
      partitioner: options.partitioner,
      parents: [],
      children: [],
    });
    for (const p of parentNames) this.#connect(p, name);
    return this;
  }

  addStateStore(builder: StoreBuilder, ...processorNames: string[]): this {
    this.#mutable();
    const name = builder.spec.name;
    syncStoreSerdes(builder);
    if (this.#stores.has(name))
      throw new TopologyException(`Store "${name}" is added twice: store names must be unique`);
    this.#stores.set(name, { builder, processors: [] });
    this.connectProcessorAndStateStores(name, ...processorNames);
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
    this.#mutable();
    const storeName = builder.spec.name;
    syncStoreSerdes(builder);
    if (isAsyncSerde(options.valueSerde))
      throw new TopologyException(
        `Global store "${storeName}" reads "${topic}" with the asynchronous serde "${options.valueSerde.name}": a global store is filled outside the tasks, where values are not decoded ahead; use a synchronous serde`,
      );
    if (this.#stores.has(storeName))
      throw new TopologyException(`Store "${storeName}" is added twice: store names must be unique`);
    if (
      builder.spec.logging === true &&
      builder.spec.kind !== 'timestampedKeyValue' &&
      builder.spec.kind !== 'keyValue'
    ) {
      throw new TopologyException(`Global store "${storeName}" must be a key-value store`);
    }
    this.addSource(sourceName, topic, options);
    (this.#nodes.get(sourceName) as { global?: boolean }).global = true;
    this.#add({
      kind: 'processor',
      name: processorName,
      supplier,
      stores: [storeName],
      global: true,
      parents: [],
      children: [],
    });
    this.#connect(sourceName, processorName);
    this.#stores.set(storeName, { builder, processors: [processorName] });
    this.#globalStores.set(storeName, { source: sourceName, processor: processorName, topic });
    return this;
  }

  /** Global stores by name, with the source topic that fills each. */
  globalStores(): Array<{ store: string; source: string; processor: string; topic: string }> {
    return [...this.#globalStores].map(([store, g]) => ({ store, ...g }));
  }

  isGlobalStore(name: string): boolean {
    return this.#globalStores.has(name);
  }

  /**
   * The node groups that fill global stores, in the shape of sub-topologies (they run no tasks),
   * numbered after the regular sub-topologies.
   */
  globalSubtopologies(): Subtopology[] {
    if (this.#globalSubtopologies) return this.#globalSubtopologies;
    const first = this.subtopologies().length;
    const result = this.globalStores().map(
      (g, i): Subtopology =>
        deepFreeze({
          id: first + i,
          nodes: [g.source, g.processor],
          sourceNodes: [g.source],
          stores: [g.store],
          sourceTopics: [{ topic: g.topic, internal: false }],
          copartitionGroups: [],
        }),
    );
    this.#globalSubtopologies = result;
    return result;
  }

  /** Gives processors access to a store that was added before. */
  connectProcessorAndStateStores(storeName: string, ...processorNames: string[]): this {
    this.#mutable();
    const store = this.#stores.get(storeName);
    if (!store)
      throw new TopologyException(
        `Store "${storeName}" is not in this topology: add it with addStateStore first`,
      );
    for (const p of processorNames) {
      const node = this.#nodes.get(p);
      if (!node || node.kind !== 'processor')
        throw new TopologyException(
          `Store "${storeName}" can only be connected to a processor; "${p}" is not one`,
        );
      if (!node.stores.includes(storeName)) node.stores.push(storeName);
      if (!store.processors.includes(p)) store.processors.push(p);
    }
    this.#changed();
    return this;
  }

  /** Declares an internal repartition topic, created by the runtime as `<applicationId>-<name>`. */
  addRepartitionTopic(name: string, numberOfPartitions?: number, copartitionWith?: string): this {
    this.#mutable();
    this.#repartitionTopics.set(name, { name, numberOfPartitions, copartitionWith });
    return this;
  }

  /** Declares a topic the runtime creates at start when absent (see DeclaredTopicDef). */
  addDeclaredTopic(def: DeclaredTopicDef): this {
    this.#mutable();
    if (typeof def.name !== 'string' || def.name.length === 0)
      throw new TopologyException('A declared topic needs a name');
    if (def.partitionsOf === def.name)
      throw new TopologyException(
        `Topic "${def.name}" cannot take its partition count from itself: name another topic of the topology in partitionsOf`,
      );
    const known = this.#declaredTopics.get(def.name);
    if (known && known.partitionsOf !== def.partitionsOf)
      throw new TopologyException(
        `Topic "${def.name}" is declared twice, with the partition count of "${known.partitionsOf}" and of "${def.partitionsOf}": declare it once`,
      );
    this.#declaredTopics.set(def.name, {
      name: def.name,
      partitionsOf: def.partitionsOf,
      configs: def.configs,
    });
    return this;
  }

  declaredTopics(): DeclaredTopicDef[] {
    return [...this.#declaredTopics.values()];
  }

  /** Declares that these source topics must be co-partitioned (a join reads them together). */
  addCopartitionGroup(topics: readonly string[]): this {
    this.#mutable();
    this.#copartition.push([...topics]);
    this.#changed();
    return this;
  }

  node(name: string): NodeDef {
    const n = this.#nodes.get(name);
    if (!n) throw new TopologyException(`Node "${name}" is not in this topology`);
    return n;
  }

  nodes(): IterableIterator<NodeDef> {
    return this.#nodes.values();
  }

  storeBuilder(name: string): StoreBuilder | undefined {
    return this.#stores.get(name)?.builder;
  }

  storeNames(): string[] {
    return [...this.#stores.keys()];
  }

  repartitionTopics(): RepartitionTopicDef[] {
    return [...this.#repartitionTopics.values()];
  }

  /** Every topic the topology writes to by name (not internal ones, not extractor-chosen ones). */
  sinkTopics(): string[] {
    const out = new Set<string>();
    for (const n of this.#nodes.values())
      if (n.kind === 'sink' && !n.internal && typeof n.topic === 'string') out.add(n.topic);
    return [...out];
  }

  /**
   * Sub-topologies: groups of nodes connected by parent/child edges or by a shared store. Records
   * cross between them only through topics (repartition topics), so each runs as its own tasks.
   */
  subtopologies(): Subtopology[] {
    if (this.#subtopologies) return this.#subtopologies;
    const result = groupSubtopologies({
      nodes: this.#nodes,
      stores: this.#stores,
      globalStores: new Set(this.#globalStores.keys()),
      copartition: this.#copartition,
      sourceTopicOwner: this.#sourceTopicOwner,
    }).map((s) => deepFreeze(s));
    this.#subtopologies = result;
    return result;
  }

  /**
   * A frozen copy: nodes, stores and internal topics as they are now, unaffected by anything
   * added to this graph later, and refusing additions itself. Store builders and processor
   * suppliers are shared, as they are the user's objects.
   */
  snapshot(): TopologyGraph {
    const copy = new TopologyGraph();
    for (const [name, n] of this.#nodes) copy.#nodes.set(name, deepFreeze(copyNode(n)));
    for (const [name, s] of this.#stores)
      copy.#stores.set(name, deepFreeze({ builder: s.builder, processors: [...s.processors] }));
    for (const [name, r] of this.#repartitionTopics) copy.#repartitionTopics.set(name, deepFreeze({ ...r }));
    for (const group of this.#copartition) copy.#copartition.push(deepFreeze([...group]));
    for (const [topic, owner] of this.#sourceTopicOwner) copy.#sourceTopicOwner.set(topic, owner);
    for (const [name, g] of this.#globalStores) copy.#globalStores.set(name, deepFreeze({ ...g }));
    for (const [name, d] of this.#declaredTopics)
      copy.#declaredTopics.set(
        name,
        Object.freeze({ ...d, configs: d.configs ? Object.freeze({ ...d.configs }) : undefined }),
      );
    copy.#frozen = true;
    return copy;
  }

  #mutable(): void {
    if (this.#frozen)
      throw new TopologyException(
        'This topology was built and cannot change: add to the StreamsBuilder and build() again',
      );
  }

  /** Sub-topologies are computed again on the next ask. */
  #changed(): void {
    this.#subtopologies = undefined;
    this.#globalSubtopologies = undefined;
  }

  #add(node: NodeDef): void {
    if (this.#nodes.has(node.name))
      throw new TopologyException(
        `A node named "${node.name}" is already in this topology: node names must be unique`,
      );
    this.#nodes.set(node.name, node);
    this.#changed();
  }

  #connect(parentName: string, childName: string): void {
    const parent = this.#nodes.get(parentName);
    if (!parent)
      throw new TopologyException(
        `Parent node "${parentName}" of "${childName}" is not in this topology: add it first`,
      );
    if (parent.kind === 'sink')
      throw new TopologyException(`Sink "${parentName}" cannot have children ("${childName}")`);
    const child = this.#nodes.get(childName)!;
    parent.children.push(childName);
    child.parents.push(parentName);
  }
}

function copyNode(n: NodeDef): NodeDef {
  const edges = { parents: [...n.parents], children: [...n.children] };
  switch (n.kind) {
    case 'source':
      return { ...n, ...edges, topics: [...n.topics] };
    case 'processor':
      return { ...n, ...edges, stores: [...n.stores] };
    case 'sink':
      return { ...n, ...edges };
  }
}

/**
 * Freezes a record of the graph with the arrays in it (and the records in those arrays), not
 * the user objects it refers to (serdes, suppliers, store builders).
 */
function deepFreeze<T extends object>(value: T): T {
  const inner = Array.isArray(value) ? value : Object.values(value).filter((v) => Array.isArray(v));
  for (const v of inner) if (typeof v === 'object' && v !== null) deepFreeze(v);
  return Object.freeze(value);
}

const graphs = new WeakMap<Topology, TopologyGraph>();

/**
 * The graph behind a topology, for the runtime and the test driver; not part of the package's
 * API. A `new Topology()` gets an empty graph on first use.
 */
export function topologyGraph(topology: Topology): TopologyGraph {
  let graph = graphs.get(topology);
  if (!graph) {
    graph = new TopologyGraph();
    graphs.set(topology, graph);
  }
  return graph;
}

/** Puts a topology in front of a graph (`StreamsBuilder.build()`); a topology is bound once. */
export function bindTopologyGraph(topology: Topology, graph: TopologyGraph): Topology {
  if (graphs.has(topology)) throw new TopologyException('This topology already has a graph');
  graphs.set(topology, graph);
  return topology;
}

/** Keys are hashed to partitions while a record is processed: their serde must be synchronous. */
function syncKeySerde(where: string, serde: unknown): void {
  if (isAsyncSerde(serde))
    throw new TopologyException(
      `The key serde "${serde.name}" of ${where} is asynchronous: keys pick the partition while the record is processed, so only value serdes may be asynchronous`,
    );
}

/** A store reads and writes in the middle of processing, where nothing can be awaited. */
function syncStoreSerdes(builder: StoreBuilder): void {
  for (const [what, serde] of [
    ['key', builder.keySerde],
    ['value', builder.valueSerde],
  ] as const) {
    if (isAsyncSerde(serde))
      throw new TopologyException(
        `Store "${builder.spec.name}" was given the asynchronous ${what} serde "${serde.name}": a state store reads and writes while a record is processed, where nothing is awaited; give the store a synchronous serde (Materialized) and keep asynchronous serdes for sources and sinks`,
      );
  }
}
