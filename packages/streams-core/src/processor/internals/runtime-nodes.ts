/**
 * The run-time form of a sub-topology's nodes. Each node holds direct references to its children
 * and runs them with a plain call, so a record crosses the sub-topology without a lookup; every
 * serde, topic name and partitioner a node needs is resolved once, when the task is created, and
 * a missing serde fails the task's creation rather than its first record.
 */
import { StreamsException } from '../../errors/exception-handlers.ts';
import { partitionForKey } from '../../partitioning/partitioner.ts';
import { type AsyncSerde, isAsyncSerde } from '../../serdes/async-serde.ts';
import type { Serde } from '../../serdes/serde.ts';
import type {
  ProcessorNodeDef,
  SinkNodeDef,
  SourceNodeDef,
  Subtopology,
  TopologyGraph,
} from '../../topology/topology-graph.ts';
import type { Processor, ProcessorContext } from '../api/processor.ts';
import type { StreamRecord } from '../api/record.ts';
import type { RecordCollector } from './record-collector.ts';
import type { TaskState } from './task-state.ts';

export interface RuntimeNode {
  readonly name: string;
  children: RuntimeNode[];
  process(record: StreamRecord<unknown, unknown>): void;
}

/** A source node and the serdes its topics' records are read with. */
export interface TaskSource {
  readonly def: SourceNodeDef;
  readonly node: RuntimeNode;
  readonly keySerde: Serde<any>;
  /** The value serde when it is synchronous (else `asyncValueSerde`). */
  readonly valueSerde: Serde<any>;
  /** An asynchronous value serde: values are decoded before the batch is processed. */
  readonly asyncValueSerde: AsyncSerde<any> | undefined;
  /** Largest timestamp seen per partition of this topic (a global task reads several). */
  readonly partitionTime: Map<number, number>;
}

export interface TaskProcessor {
  readonly name: string;
  readonly processor: Processor<any, any, any, any>;
  readonly context: ProcessorContext;
  /** Records this processor node was given (a plain counter, read by the metrics). */
  readonly counts: { records: number };
}

/** The parts of the task's options that creating nodes needs. */
export interface NodeOptions {
  readonly defaultKeySerde: Serde<any> | undefined;
  readonly defaultValueSerde: Serde<any> | undefined;
  readonly collector: RecordCollector;
  readonly resolveTopic: (topic: string, internal: boolean) => string;
}

export interface TaskNodes {
  /** Sources by the topic they read, as named at run time. */
  readonly sourcesByTopic: Map<string, TaskSource>;
  /** Processors in the sub-topology's order, parents before children. */
  readonly processors: TaskProcessor[];
}

/** Creates a processor's context once its node exists, so that `forward` can reach its children. */
export type ContextFactory = (def: ProcessorNodeDef, node: RuntimeNode) => ProcessorContext<any, any>;

export function createTaskNodes(
  topology: TopologyGraph,
  subtopology: Subtopology,
  options: NodeOptions,
  state: TaskState,
  contextFor: ContextFactory,
): TaskNodes {
  const nodes = new Map<string, RuntimeNode>();
  const created: TaskNodes = { sourcesByTopic: new Map(), processors: [] };
  // Create nodes children-first so that every node can hold direct references to its children.
  for (const name of [...subtopology.nodes].reverse()) {
    const def = topology.node(name);
    const node = createNode(def, options, state, contextFor, created);
    node.children = def.children.map((c) => nodes.get(c)!);
    nodes.set(name, node);
  }
  return created;
}

function createNode(
  def: SourceNodeDef | ProcessorNodeDef | SinkNodeDef,
  options: NodeOptions,
  state: TaskState,
  contextFor: ContextFactory,
  created: TaskNodes,
): RuntimeNode {
  switch (def.kind) {
    case 'source':
      return createSource(def, options, created.sourcesByTopic);
    case 'processor':
      return createProcessor(def, state, contextFor, created.processors);
    case 'sink':
      return createSink(def, options, state);
  }
}

function requireSerde<S extends Serde<any> | AsyncSerde<any>>(
  serde: S | undefined,
  fallback: Serde<any> | undefined,
  what: string,
): S | Serde<any> {
  const s = serde ?? fallback;
  if (!s) {
    throw new StreamsException(
      `No serde for the ${what}: pass one in the operator's options (e.g. { key: Serdes.String() }) or set defaultKeySerde/defaultValueSerde in the config`,
    );
  }
  return s;
}

function createSource(
  def: SourceNodeDef,
  options: NodeOptions,
  sourcesByTopic: Map<string, TaskSource>,
): RuntimeNode {
  const keySerde = requireSerde(
    def.keySerde,
    options.defaultKeySerde,
    `key of source ${def.name}`,
  ) as Serde<any>;
  const anyValueSerde = requireSerde(
    def.valueSerde,
    options.defaultValueSerde,
    `value of source ${def.name}`,
  );
  const asyncValueSerde = isAsyncSerde(anyValueSerde) ? anyValueSerde : undefined;
  const valueSerde = (asyncValueSerde ? undefined : anyValueSerde) as Serde<any>;
  const node: RuntimeNode = {
    name: def.name,
    children: [],
    process(record) {
      for (const child of node.children) child.process(record);
    },
  };
  for (const t of def.topics) {
    sourcesByTopic.set(options.resolveTopic(t, def.internal), {
      def,
      node,
      keySerde,
      valueSerde,
      asyncValueSerde,
      partitionTime: new Map(),
    });
  }
  return node;
}

function createSink(def: SinkNodeDef, options: NodeOptions, state: TaskState): RuntimeNode {
  const keySerde = requireSerde(
    def.keySerde,
    options.defaultKeySerde,
    `key of sink ${def.name}`,
  ) as Serde<any>;
  const anyValueSerde = requireSerde(def.valueSerde, options.defaultValueSerde, `value of sink ${def.name}`);
  const asyncValueSerde = isAsyncSerde(anyValueSerde) ? anyValueSerde : undefined;
  const valueSerde = anyValueSerde as Serde<any>;
  const collector = options.collector;
  const fixedTopic =
    typeof def.topic === 'string' ? options.resolveTopic(def.topic, def.internal) : undefined;
  const extractor = typeof def.topic === 'function' ? def.topic : undefined;
  const partitioner = def.partitioner;
  // A fixed topic's partition count is looked up once; a topic chosen per record, per record.
  let fixedPartitions: number | undefined;
  return {
    name: def.name,
    children: [],
    process(record) {
      state.currentNode = def.name;
      const topic = fixedTopic ?? extractor!(record.key, record.value, record);
      const keyBytes = keySerde.serialize(topic, record.key, record.headers);
      const valueBytes = asyncValueSerde ? null : valueSerde.serialize(topic, record.value, record.headers);
      let partition: number | undefined;
      let partitions: number | undefined;
      if (fixedTopic === undefined) partitions = collector.partitionsFor(topic);
      else partitions = fixedPartitions ??= collector.partitionsFor(topic);
      if (partitioner) {
        if (partitions === undefined) {
          throw new StreamsException(
            `Sink ${def.name} has a custom partitioner but the partition count of "${topic}" is unknown: create the topic before starting`,
          );
        }
        partition = partitioner(topic, record.key, record.value, partitions);
      }
      if (partition === undefined && keyBytes !== null && partitions !== undefined) {
        partition = partitionForKey(keyBytes, partitions);
      }
      if (asyncValueSerde) {
        // The serde may add headers while it works: it gets the record's own copy.
        const headers = record.headers.clone();
        collector.sendEncoding(
          topic,
          keyBytes,
          asyncValueSerde.serializeAsync(topic, record.value, headers),
          headers,
          record.timestamp,
          partition,
          asyncValueSerde.name,
        );
        return;
      }
      collector.send(topic, keyBytes, valueBytes, record.headers, record.timestamp, partition);
    },
  };
}

function createProcessor(
  def: ProcessorNodeDef,
  state: TaskState,
  contextFor: ContextFactory,
  processors: TaskProcessor[],
): RuntimeNode {
  const processor = def.supplier();
  const counts = { records: 0 };
  const node: RuntimeNode = {
    name: def.name,
    children: [],
    process(record) {
      state.currentNode = def.name;
      counts.records++;
      processor.process(record);
    },
  };
  // Nodes are created children-first: prepending keeps the processors parents-first.
  processors.unshift({ name: def.name, processor, context: contextFor(def, node), counts });
  return node;
}
