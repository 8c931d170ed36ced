/**
 * A task: one sub-topology's processors and stores for one partition (or one partition of each
 * co-partitioned topic). Processing is synchronous and one record at a time, as in Kafka Streams;
 * the runtime feeds batches and does the I/O (produce, commit) around them, and the test driver
 * feeds single records. Both run this same code.
 */

import { type DeadLetterConfig, deadLetterHeaders } from '../../errors/dead-letter.ts';
import {
  type ErrorContext,
  type ExceptionHandler,
  errorMessage,
  StreamsException,
} from '../../errors/exception-handlers.ts';
import { partitionForKey } from '../../partitioning/partitioner.ts';
import type { Serde } from '../../serdes/serde.ts';
import type { StoreContext } from '../../state/store-builder.ts';
import type { ConsumedRecordView, TimestampExtractor } from '../../topology/extractors.ts';
import type {
  ProcessorNodeDef,
  SinkNodeDef,
  SourceNodeDef,
  Subtopology,
  TopologyGraph,
} from '../../topology/topology-graph.ts';
import { Headers } from '../api/headers.ts';
import type {
  Cancellable,
  Processor,
  ProcessorContext,
  PunctuationType,
  Punctuator,
} from '../api/processor.ts';
import type { RecordMetadata, StreamRecord } from '../api/record.ts';
import type { RecordCollector } from './record-collector.ts';
import { TaskMetrics } from './task-metrics.ts';

/** A record as consumed from Kafka, before deserialization. */
export type RawRecord = ConsumedRecordView;

export interface TaskOptions {
  readonly applicationId: string;
  readonly taskId: string;
  readonly partition: number;
  readonly topology: TopologyGraph;
  readonly subtopology: Subtopology;
  readonly collector: RecordCollector;
  readonly storeContext: StoreContext;
  readonly defaultKeySerde: Serde<any> | undefined;
  readonly defaultValueSerde: Serde<any> | undefined;
  readonly defaultTimestampExtractor: TimestampExtractor | undefined;
  readonly onDeserializationError: ExceptionHandler;
  readonly onProcessingError: ExceptionHandler;
  readonly deadLetter: DeadLetterConfig;
  /** Wall clock in ms; the test driver controls it. */
  readonly now: () => number;
  /** Topic name used at run time for a topic as written in the topology. */
  readonly resolveTopic: (topic: string, internal: boolean) => string;
  /** Global stores, shared by every task of the instance (read-only for them). */
  readonly globalStores?: ReadonlyMap<string, unknown>;
}

interface RuntimeNode {
  readonly name: string;
  children: RuntimeNode[];
  process(record: StreamRecord<unknown, unknown>): void;
}

interface Schedule {
  next: number;
  readonly interval: number;
  readonly punctuator: Punctuator;
  readonly node: string;
  cancelled: boolean;
}

const UNKNOWN = -1;

export class StreamTask {
  readonly id: string;
  readonly partition: number;
  readonly applicationId: string;
  readonly metrics = new TaskMetrics();
  readonly stores = new Map<string, unknown>();
  readonly #options: TaskOptions;
  readonly #nodes = new Map<string, RuntimeNode>();
  readonly #processors: Array<{
    name: string;
    processor: Processor<any, any, any, any>;
    context: ProcessorContext;
  }> = [];
  readonly #sourcesByTopic = new Map<
    string,
    { def: SourceNodeDef; node: RuntimeNode; keySerde: Serde<any>; valueSerde: Serde<any> }
  >();
  readonly #partitionTime = new Map<string, number>();
  readonly #streamTimeSchedules: Schedule[] = [];
  readonly #wallClockSchedules: Schedule[] = [];
  #streamTime = UNKNOWN;
  #current: (RecordMetadata & { timestamp: number }) | undefined;
  #currentNode = '';
  #commitRequested = false;
  #initialized = false;

  constructor(options: TaskOptions) {
    this.#options = options;
    this.id = options.taskId;
    this.partition = options.partition;
    this.applicationId = options.applicationId;
    const { topology, subtopology } = options;
    for (const storeName of subtopology.stores) {
      const builder = topology.storeBuilder(storeName);
      if (!builder)
        throw new StreamsException(`Store "${storeName}" is used but was never added to the topology`);
      this.stores.set(
        storeName,
        builder.build(options.storeContext, {
          key: options.defaultKeySerde,
          value: options.defaultValueSerde,
        }),
      );
    }
    // Create nodes children-first so that every node can hold direct references to its children.
    for (const name of [...subtopology.nodes].reverse()) {
      const def = topology.node(name);
      const node = this.#createNode(def);
      node.children = def.children.map((c) => this.#nodes.get(c)!);
      this.#nodes.set(name, node);
    }
  }

  /** Topics (as named at run time) this task reads. */
  get inputTopics(): string[] {
    return [...this.#sourcesByTopic.keys()];
  }

  get streamTime(): number {
    return this.#streamTime;
  }

  /** Timestamp of the record being processed, or stream time inside punctuators; for changelog records. */
  get currentTimestamp(): number {
    return this.#current?.timestamp ?? Math.max(this.#streamTime, 0);
  }

  /** True once after a processor asked for a commit. */
  takeCommitRequest(): boolean {
    const r = this.#commitRequested;
    this.#commitRequested = false;
    return r;
  }

  initialize(): void {
    if (this.#initialized) return;
    this.#initialized = true;
    for (const p of this.#processors) p.processor.init?.(p.context);
  }

  close(): void {
    for (const p of this.#processors) {
      try {
        p.processor.close?.();
      } catch (e) {
        console.warn(
          `[kafka-pattern] processor ${p.name} of task ${this.id} failed to close: ${errorMessage(e)}`,
        );
      }
    }
  }

  /** Deserializes, stamps and runs one record through the sub-topology. */
  process(raw: RawRecord): void {
    const source = this.#sourcesByTopic.get(raw.topic);
    if (!source) {
      throw new StreamsException(
        `Task ${this.id} received a record from "${raw.topic}", which none of its sources reads`,
        { taskId: this.id },
      );
    }
    const meta = { topic: raw.topic, partition: raw.partition, offset: raw.offset, timestamp: raw.timestamp };
    this.#current = meta;
    this.#currentNode = source.def.name;
    try {
      let key: unknown;
      let value: unknown;
      try {
        key = source.keySerde.deserialize(raw.topic, raw.key, raw.headers);
        value = source.valueSerde.deserialize(raw.topic, raw.value, raw.headers);
      } catch (error) {
        this.#fail('deserialization', raw, error, this.#options.onDeserializationError);
        return;
      }
      const partitionKey = `${raw.topic}:${raw.partition}`;
      const partitionTime = this.#partitionTime.get(partitionKey) ?? UNKNOWN;
      let timestamp = raw.timestamp;
      const extractor = source.def.timestampExtractor ?? this.#options.defaultTimestampExtractor;
      if (extractor) {
        const view: ConsumedRecordView = raw;
        try {
          timestamp = extractor(view, partitionTime);
        } catch (error) {
          this.#fail('deserialization', raw, error, this.#options.onDeserializationError);
          return;
        }
      }
      if (!(timestamp >= 0)) {
        this.metrics.droppedRecords++;
        return;
      }
      if (timestamp > partitionTime) this.#partitionTime.set(partitionKey, timestamp);
      if (timestamp > this.#streamTime) this.#streamTime = timestamp;
      meta.timestamp = timestamp;
      // Processors may change the record's headers; a dead letter must carry the ones that were read.
      const record: StreamRecord<unknown, unknown> = { key, value, timestamp, headers: raw.headers.clone() };
      try {
        for (const child of source.node.children) child.process(record);
      } catch (error) {
        if (error instanceof StreamsException) throw error;
        this.#fail('processing', raw, error, this.#options.onProcessingError);
        return;
      }
      this.metrics.processedRecords++;
    } finally {
      this.#current = undefined;
    }
    this.#punctuateStreamTime();
  }

  /**
   * Moves stream time forward without a record (an idle task advanced by the wall clock): every
   * processor hears of it, then stream-time punctuators run. Never moves stream time back.
   */
  advanceStreamTime(time: number): boolean {
    if (!(time > this.#streamTime)) return false;
    this.#streamTime = time;
    for (const p of this.#processors) {
      if (!p.processor.onStreamTimeAdvance) continue;
      this.#currentNode = p.name;
      try {
        p.processor.onStreamTimeAdvance(time);
      } catch (error) {
        throw new StreamsException(
          `${p.name} in task ${this.id} failed while stream time advanced to ${time}: ${errorMessage(error)}`,
          { cause: error, taskId: this.id },
        );
      }
    }
    this.#punctuateStreamTime();
    return true;
  }

  /** Runs wall-clock punctuators that are due; returns whether any ran. */
  punctuateWallClock(now: number): boolean {
    return this.#runSchedules(this.#wallClockSchedules, now);
  }

  #punctuateStreamTime(): void {
    if (this.#streamTime === UNKNOWN || this.#streamTimeSchedules.length === 0) return;
    this.#runSchedules(this.#streamTimeSchedules, this.#streamTime);
  }

  #runSchedules(schedules: Schedule[], time: number): boolean {
    let ran = false;
    for (const s of schedules) {
      if (s.cancelled || s.next > time) continue;
      ran = true;
      this.#currentNode = s.node;
      try {
        s.punctuator(time);
      } catch (error) {
        throw new StreamsException(
          `Punctuator of ${s.node} in task ${this.id} failed: ${errorMessage(error)}`,
          { cause: error, taskId: this.id },
        );
      }
      this.metrics.punctuations++;
      // A punctuator skips the intervals it missed rather than firing once for each.
      const missed = Math.floor((time - s.next) / s.interval);
      s.next += (missed + 1) * s.interval;
    }
    if (ran) {
      for (let i = schedules.length - 1; i >= 0; i--) if (schedules[i]!.cancelled) schedules.splice(i, 1);
    }
    return ran;
  }

  #fail(
    kind: 'deserialization' | 'processing',
    raw: RawRecord,
    error: unknown,
    handler: ExceptionHandler,
  ): void {
    const context: ErrorContext = {
      kind,
      taskId: this.id,
      nodeName: this.#currentNode,
      source: { topic: raw.topic, partition: raw.partition, offset: raw.offset, timestamp: raw.timestamp },
      error,
    };
    const response = handler(context);
    if (response === 'FAIL') {
      throw new StreamsException(
        `${kind === 'deserialization' ? 'Deserialization' : 'Processing'} of ${raw.topic}-${raw.partition}@${raw.offset} failed in ${this.#currentNode} (task ${this.id}): ${errorMessage(error)}`,
        { cause: error, taskId: this.id },
      );
    }
    if (response === 'DEAD_LETTER') {
      const { deadLetter, collector } = this.#options;
      const topic = deadLetter.topic(raw.topic);
      const headers = deadLetterHeaders(raw, error, deadLetter.headers, this.applicationId);
      // Keep the original partition where the dead-letter topic has it, so order per partition holds.
      const partitions = collector.partitionsFor(topic);
      const partition = partitions !== undefined && raw.partition < partitions ? raw.partition : undefined;
      collector.send(topic, raw.key, raw.value, headers, raw.timestamp, partition);
      this.metrics.deadLetteredRecords++;
    } else {
      this.metrics.skippedRecords++;
    }
  }

  #createNode(def: SourceNodeDef | ProcessorNodeDef | SinkNodeDef): RuntimeNode {
    switch (def.kind) {
      case 'source':
        return this.#createSource(def);
      case 'processor':
        return this.#createProcessor(def);
      case 'sink':
        return this.#createSink(def);
    }
  }

  #serde(serde: Serde<any> | undefined, fallback: Serde<any> | undefined, what: string): Serde<any> {
    const s = serde ?? fallback;
    if (!s) {
      throw new StreamsException(
        `No serde for the ${what}: pass one in the operator's options (e.g. { key: Serdes.String() }) or set defaultKeySerde/defaultValueSerde in the config`,
      );
    }
    return s;
  }

  #createSource(def: SourceNodeDef): RuntimeNode {
    const keySerde = this.#serde(def.keySerde, this.#options.defaultKeySerde, `key of source ${def.name}`);
    const valueSerde = this.#serde(
      def.valueSerde,
      this.#options.defaultValueSerde,
      `value of source ${def.name}`,
    );
    const node: RuntimeNode = {
      name: def.name,
      children: [],
      process(record) {
        for (const child of node.children) child.process(record);
      },
    };
    for (const t of def.topics) {
      this.#sourcesByTopic.set(this.#options.resolveTopic(t, def.internal), {
        def,
        node,
        keySerde,
        valueSerde,
      });
    }
    return node;
  }

  #createSink(def: SinkNodeDef): RuntimeNode {
    const keySerde = this.#serde(def.keySerde, this.#options.defaultKeySerde, `key of sink ${def.name}`);
    const valueSerde = this.#serde(
      def.valueSerde,
      this.#options.defaultValueSerde,
      `value of sink ${def.name}`,
    );
    const collector = this.#options.collector;
    const fixedTopic =
      typeof def.topic === 'string' ? this.#options.resolveTopic(def.topic, def.internal) : undefined;
    const extractor = typeof def.topic === 'function' ? def.topic : undefined;
    const partitioner = def.partitioner;
    const task = this;
    return {
      name: def.name,
      children: [],
      process(record) {
        task.#currentNode = def.name;
        const topic = fixedTopic ?? extractor!(record.key, record.value, record);
        const keyBytes = keySerde.serialize(topic, record.key, record.headers);
        const valueBytes = valueSerde.serialize(topic, record.value, record.headers);
        let partition: number | undefined;
        const partitions = collector.partitionsFor(topic);
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
        collector.send(topic, keyBytes, valueBytes, record.headers, record.timestamp, partition);
      },
    };
  }

  #createProcessor(def: ProcessorNodeDef): RuntimeNode {
    const processor = def.supplier();
    const task = this;
    const node: RuntimeNode = {
      name: def.name,
      children: [],
      process(record) {
        task.#currentNode = def.name;
        processor.process(record);
      },
    };
    const allowedStores = new Set(def.stores);
    const context: ProcessorContext<any, any> = {
      applicationId: this.applicationId,
      taskId: this.id,
      partition: this.partition,
      forward(record, childName) {
        const children = node.children;
        if (childName === undefined) {
          for (let i = 0; i < children.length; i++) children[i]!.process(record);
          task.#currentNode = def.name;
          return;
        }
        const child = children.find((c) => c.name === childName);
        if (!child)
          throw new StreamsException(
            `${def.name} forwarded to "${childName}", which is not one of its children (${children.map((c) => c.name).join(', ') || 'none'})`,
          );
        child.process(record);
        task.#currentNode = def.name;
      },
      getStateStore<S>(name: string): S {
        if (!allowedStores.has(name)) {
          throw new StreamsException(
            `Processor ${def.name} has no access to store "${name}": connect it with addStateStore(builder, "${def.name}") or connectProcessorAndStateStores`,
          );
        }
        return (task.stores.get(name) ?? task.#options.globalStores?.get(name)) as S;
      },
      schedule(intervalMs: number, type: PunctuationType, punctuator: Punctuator): Cancellable {
        if (!(intervalMs >= 1))
          throw new StreamsException(`Punctuation interval must be at least 1 ms, got ${intervalMs}`);
        const schedule: Schedule = {
          // Stream-time punctuation is aligned to 0 and fires with the first record; wall-clock
          // punctuation fires one interval from now, as in Kafka Streams.
          next: type === 'STREAM_TIME' ? 0 : task.#options.now() + intervalMs,
          interval: intervalMs,
          punctuator,
          node: def.name,
          cancelled: false,
        };
        (type === 'STREAM_TIME' ? task.#streamTimeSchedules : task.#wallClockSchedules).push(schedule);
        return {
          cancel() {
            schedule.cancelled = true;
          },
        };
      },
      recordMetadata() {
        const c = task.#current;
        return c ? { topic: c.topic, partition: c.partition, offset: c.offset } : undefined;
      },
      currentStreamTimeMs: () => task.#streamTime,
      currentSystemTimeMs: () => task.#options.now(),
      commit() {
        task.#commitRequested = true;
      },
      // Read by the DSL's own processors to count dropped and late records.
      taskMetrics: this.metrics,
    } as ProcessorContext<any, any>;
    this.#processors.unshift({ name: def.name, processor, context });
    return node;
  }
}
