/**
 * A task: one sub-topology's processors and stores for one partition (or one partition of each
 * co-partitioned topic). Processing is synchronous and one record at a time, as in Kafka Streams;
 * the runtime feeds batches and does the I/O (produce, commit) around them, and the test driver
 * feeds single records. Both run this same code.
 *
 * StreamTask coordinates: it builds the stores and the nodes (runtime-nodes.ts, with contexts from
 * processor-context.ts), reads each record in (deserialization, timestamps, stream time), and
 * hands failures to record-failure.ts and due punctuators to punctuation-queue.ts. What they
 * share while a record runs is one TaskState.
 */

import type { ConsumedRecord } from '../../client/port.ts';
import type { DeadLetterConfig } from '../../errors/dead-letter.ts';
import type { DeadLetterLog } from '../../errors/dead-letter-log.ts';
import { type ExceptionHandler, errorMessage, StreamsException } from '../../errors/exception-handlers.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Serde } from '../../serdes/serde.ts';
import type { StoreContext } from '../../state/store-builder.ts';
import { type StoreOperationsSnapshot, storeOperationsOf } from '../../state/store-operations.ts';
import type { TimestampExtractor } from '../../topology/extractors.ts';
import type { Subtopology, TopologyGraph } from '../../topology/topology-graph.ts';
import type { StreamRecord } from '../api/record.ts';
import { AsyncStep } from './async-step.ts';
import { type ContextScope, createProcessorContext } from './processor-context.ts';
import { PunctuationQueue } from './punctuation-queue.ts';
import type { RecordCollector } from './record-collector.ts';
import { RecordFailureHandler } from './record-failure.ts';
import { createTaskNodes, type TaskProcessor, type TaskSource } from './runtime-nodes.ts';
import { TaskMetrics } from './task-metrics.ts';
import { TaskState, UNKNOWN_TIME } from './task-state.ts';

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
  readonly deadLetterLog?: DeadLetterLog;
  readonly logger: Logger;
  /** Wall clock in ms; the test driver controls it. */
  readonly now: () => number;
  /** Topic name used at run time for a topic as written in the topology. */
  readonly resolveTopic: (topic: string, internal: boolean) => string;
  /** Global stores, shared by every task of the instance (read-only for them). */
  readonly globalStores?: ReadonlyMap<string, unknown>;
  /** A call of an asynchronous step settled: its record may be ready to release. */
  readonly onAsyncProgress?: () => void;
  /**
   * Exactly-once: the transaction timeout. A commit waits for every call in flight, so a step
   * whose calls may take longer would have its transactions aborted by the broker.
   */
  readonly asyncTimeoutLimit?: { readonly ms: number; readonly setting: string };
}

export class StreamTask {
  readonly id: string;
  readonly partition: number;
  readonly applicationId: string;
  readonly metrics = new TaskMetrics();
  readonly stores = new Map<string, unknown>();
  readonly #options: TaskOptions;
  /** Fixed once the nodes exist; the runtime asks per batch. */
  #inputTopics: readonly string[] | undefined;
  readonly #state = new TaskState();
  readonly #punctuations: PunctuationQueue;
  readonly #failures: RecordFailureHandler;
  readonly #processors: readonly TaskProcessor[];
  readonly #sourcesByTopic: ReadonlyMap<string, TaskSource>;
  /** Values decoded ahead by asynchronous source serdes, until their record is processed. */
  readonly #decoded = new Map<ConsumedRecord, { value: unknown } | { error: unknown }>();
  /** Whether a source of this task decodes values asynchronously. */
  readonly hasAsyncSources: boolean;
  /** Asynchronous steps, parents before children. */
  readonly #asyncSteps: AsyncStep<any>[] = [];
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
    const state = this.#state;
    this.#punctuations = new PunctuationQueue(this.id, state, this.metrics, options);
    this.#failures = new RecordFailureHandler(this.id, this.applicationId, this.metrics, state, options);
    const scope: ContextScope = {
      applicationId: this.applicationId,
      taskId: this.id,
      partition: this.partition,
      stores: this.stores,
      metrics: this.metrics,
      state,
      punctuations: this.#punctuations,
      asyncSteps: (name, stepOptions, call, emit) => {
        const limit = options.asyncTimeoutLimit;
        if (limit && stepOptions.timeoutMs >= limit.ms)
          throw new StreamsException(
            `${name} has timeoutMs ${stepOptions.timeoutMs}, not below ${limit.setting} (${limit.ms} ms): under exactly_once_v2 a commit waits for the calls in flight inside the open transaction; lower the step's timeoutMs or raise ${limit.setting}`,
            { taskId: this.id },
          );
        const step = new AsyncStep(
          name,
          stepOptions,
          call,
          {
            emit: (record, result) => this.#emitAsync(emit, record, result),
            fail: (raw, e) => this.#failAsync(raw, e),
          },
          state,
          options.onAsyncProgress ?? noop,
        );
        this.#asyncSteps.push(step);
        return step;
      },
      options,
    };
    const nodes = createTaskNodes(topology, subtopology, options, state, (def, node) =>
      createProcessorContext(def, node, scope),
    );
    this.#sourcesByTopic = nodes.sourcesByTopic;
    this.#processors = nodes.processors;
    this.hasAsyncSources = [...nodes.sourcesByTopic.values()].some((s) => s.asyncValueSerde !== undefined);
  }

  /** Topics (as named at run time) this task reads. */
  get inputTopics(): readonly string[] {
    this.#inputTopics ??= [...this.#sourcesByTopic.keys()];
    return this.#inputTopics;
  }

  get streamTime(): number {
    return this.#state.streamTime;
  }

  /** Timestamp of the record being processed, or stream time inside punctuators; for changelog records. */
  get currentTimestamp(): number {
    return this.#state.current?.timestamp ?? Math.max(this.#state.streamTime, 0);
  }

  /** Records each processor node of this task was given, by node name. */
  processorRecords(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const p of this.#processors) out[p.name] = p.counts.records;
    return out;
  }

  /** What each of this task's stores was asked to do, by store name (typed stores only). */
  storeOperations(): Record<string, StoreOperationsSnapshot> {
    const out: Record<string, StoreOperationsSnapshot> = {};
    for (const [name, store] of this.stores) {
      const operations = storeOperationsOf(store);
      if (operations) out[name] = operations;
    }
    return out;
  }

  /** True once after a processor asked for a commit. */
  takeCommitRequest(): boolean {
    const r = this.#state.commitRequested;
    this.#state.commitRequested = false;
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
        this.#options.logger.warn(
          { taskId: this.id, processor: p.name },
          `processor ${p.name} of task ${this.id} failed to close: ${errorMessage(e)}`,
        );
      }
    }
  }

  /** Deserializes, stamps and runs one record through the sub-topology. */
  process(raw: ConsumedRecord): void {
    const source = this.#sourcesByTopic.get(raw.topic);
    if (!source) {
      throw new StreamsException(
        `Task ${this.id} received a record from "${raw.topic}", which none of its sources reads`,
        { taskId: this.id },
      );
    }
    const state = this.#state;
    const meta = { topic: raw.topic, partition: raw.partition, offset: raw.offset, timestamp: raw.timestamp };
    state.current = meta;
    state.raw = raw;
    state.currentNode = source.def.name;
    try {
      let key: unknown;
      let value: unknown;
      try {
        key = source.keySerde.deserialize(raw.topic, raw.key, raw.headers);
        value = source.asyncValueSerde
          ? this.#takeDecoded(raw)
          : source.valueSerde.deserialize(raw.topic, raw.value, raw.headers);
      } catch (error) {
        this.#failures.fail('deserialization', raw, error);
        return;
      }
      const partitionTime = source.partitionTime.get(raw.partition) ?? UNKNOWN_TIME;
      let timestamp = raw.timestamp;
      const extractor = source.def.timestampExtractor ?? this.#options.defaultTimestampExtractor;
      if (extractor) {
        try {
          timestamp = extractor(raw, partitionTime);
        } catch (error) {
          this.#failures.fail('deserialization', raw, error);
          return;
        }
      }
      if (!(timestamp >= 0)) {
        this.metrics.droppedRecords++;
        return;
      }
      if (timestamp > partitionTime) source.partitionTime.set(raw.partition, timestamp);
      if (timestamp > state.streamTime) state.streamTime = timestamp;
      meta.timestamp = timestamp;
      // Processors may change the record's headers; a dead letter must carry the ones that were read.
      const record: StreamRecord<unknown, unknown> = { key, value, timestamp, headers: raw.headers.clone() };
      try {
        for (const child of source.node.children) child.process(record);
      } catch (error) {
        if (error instanceof StreamsException) throw error;
        this.#failures.fail('processing', raw, error);
        return;
      }
      this.metrics.processedRecords++;
    } finally {
      state.current = undefined;
      state.raw = undefined;
    }
    this.#punctuations.punctuateStreamTime(state.streamTime);
  }

  /**
   * Decodes, ahead of processing, the values of these records whose source serde is
   * asynchronous (a few at a time); `process` then takes each decoded value, or its failure.
   */
  async decodeAsync(records: readonly ConsumedRecord[]): Promise<void> {
    this.#decoded.clear();
    const work: Array<{ raw: ConsumedRecord; serde: NonNullable<TaskSource['asyncValueSerde']> }> = [];
    for (const raw of records) {
      const serde = this.#sourcesByTopic.get(raw.topic)?.asyncValueSerde;
      if (serde) work.push({ raw, serde });
    }
    let next = 0;
    const worker = async () => {
      while (next < work.length) {
        const { raw, serde } = work[next++]!;
        try {
          this.#decoded.set(raw, { value: await serde.deserializeAsync(raw.topic, raw.value, raw.headers) });
        } catch (error) {
          this.#decoded.set(raw, { error });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(DECODE_CONCURRENCY, work.length) }, worker));
  }

  #takeDecoded(raw: ConsumedRecord): unknown {
    const d = this.#decoded.get(raw);
    if (!d)
      throw new StreamsException(
        `Task ${this.id} got ${raw.topic}-${raw.partition}@${raw.offset} without its value decoded: an asynchronous serde decodes before the batch is processed`,
        { taskId: this.id },
      );
    this.#decoded.delete(raw);
    if ('error' in d) throw d.error;
    return d.value;
  }

  /** The hold a processor asked for while the last record ran (due time, ms), once. */
  takeHold(): number | undefined {
    const due = this.#state.holdUntil;
    this.#state.holdUntil = undefined;
    return due;
  }

  /** Records taken in by asynchronous steps and not yet sent on downstream. */
  get asyncPending(): number {
    let n = 0;
    for (const s of this.#asyncSteps) n += s.pending;
    return n;
  }

  /**
   * Sends the settled results of asynchronous steps downstream, in the order their records
   * arrived, on the caller's (the stream thread's) turn. Returns how many records went.
   */
  releaseAsync(): number {
    let n = 0;
    for (const s of this.#asyncSteps) n += s.release();
    if (this.#state.holdUntil !== undefined) {
      const node = this.#state.currentNode;
      this.#state.holdUntil = undefined;
      throw new StreamsException(
        `A partition hold was asked for downstream of an asynchronous step (after ${node}, task ${this.id}): by then later records of the partition were processed; hold right after the source, before any asynchronous step`,
        { taskId: this.id },
      );
    }
    return n;
  }

  /** The lowest source offset per `topic:partition` that an asynchronous step has not finished. */
  lowestPendingOffsets(into: Map<string, bigint>): void {
    for (const s of this.#asyncSteps) s.lowestPendingOffsets(into);
  }

  /** Stops the asynchronous steps: calls in flight are awaited up to `timeoutMs`, nothing is released. */
  async abandonAsync(timeoutMs: number): Promise<void> {
    await Promise.all(this.#asyncSteps.map((s) => s.abandon(timeoutMs)));
  }

  #emitAsync<R>(
    emit: (record: StreamRecord<unknown, unknown>, result: R) => void,
    record: StreamRecord<unknown, unknown>,
    result: R,
  ): void {
    try {
      emit(record, result);
    } catch (error) {
      if (error instanceof StreamsException) throw error;
      this.#failAsync(this.#state.raw, error);
    }
  }

  #failAsync(raw: ConsumedRecord | undefined, error: unknown): void {
    if (raw) {
      this.#failures.fail('processing', raw, error);
      return;
    }
    // A record a punctuator made has no source bytes to move aside.
    this.metrics.skippedRecords++;
    this.#options.logger.warn(
      { taskId: this.id, processor: this.#state.currentNode },
      `${this.#state.currentNode} in task ${this.id} failed for a record made by a punctuator, which is skipped: ${errorMessage(error)}`,
    );
  }

  /**
   * Moves stream time forward without a record (an idle task advanced by the wall clock): every
   * processor hears of it, then stream-time punctuators run. Never moves stream time back.
   */
  advanceStreamTime(time: number): boolean {
    const state = this.#state;
    if (!(time > state.streamTime)) return false;
    state.streamTime = time;
    for (const p of this.#processors) {
      if (!p.processor.onStreamTimeAdvance) continue;
      state.currentNode = p.name;
      try {
        p.processor.onStreamTimeAdvance(time);
      } catch (error) {
        throw new StreamsException(
          `${p.name} in task ${this.id} failed while stream time advanced to ${time}: ${errorMessage(error)}`,
          { cause: error, taskId: this.id },
        );
      }
    }
    this.#punctuations.punctuateStreamTime(state.streamTime);
    return true;
  }

  /** Runs wall-clock punctuators that are due; returns whether any ran. */
  punctuateWallClock(now: number): boolean {
    return this.#punctuations.punctuateWallClock(now);
  }
}

function noop(): void {}

/** Values an asynchronous source serde decodes at once per task. */
const DECODE_CONCURRENCY = 32;
