/**
 * Runs a topology with no broker: every task of every sub-topology in this process, partition 0,
 * with wall-clock time under the test's control. Each piped record is processed, including what
 * it sends through repartition topics, before `pipeInput` returns. It behaves as if the record
 * cache were off and a commit followed every record: every update is emitted.
 *
 * Asynchronous work (mapValuesAsync, foreachAsync, asynchronous serdes) starts when a record is
 * piped and finishes later: `await driver.settle()` waits until every call, decode and encode is
 * done and its results are in the output topics. Results go on in the order their records were
 * piped, as they would in the runtime. A held partition (holdUntil) keeps its records until the
 * wall clock passes the due time (`advanceWallClockTime`).
 */

import { SqliteDatabase } from '@kafka-pattern/state-store';
import type { ConsumedRecord } from '../client/port.ts';
import { resolveErrorHandling, type StreamsConfig } from '../config/streams-config.ts';
import type { DeadLetterLog } from '../errors/dead-letter-log.ts';
import { consoleLogger } from '../observability/logger.ts';
import type { Headers } from '../processor/api/headers.ts';
import type { RecordCollector } from '../processor/internals/record-collector.ts';
import { StreamTask } from '../processor/internals/stream-task.ts';
import type { Serde } from '../serdes/serde.ts';
import { type KeyValueStore, PlainValueView, type ReadOnlyKeyValueStore } from '../state/key-value-store.ts';
import type { SessionStore } from '../state/session-store.ts';
import { TaskStores } from '../state/task-stores.ts';
import type { ValueAndTimestamp } from '../state/value-and-timestamp.ts';
import { PlainWindowValueView, type ReadOnlyWindowStore, type WindowStore } from '../state/window-store.ts';
import type { Topology } from '../topology/topology.ts';
import { type TopologyGraph, topologyGraph } from '../topology/topology-graph.ts';
import { TestInputTopic, type TestInputTopicOptions } from './test-input-topic.ts';
import { TestOutputTopic } from './test-output-topic.ts';
import type { TestRecordBytes } from './test-record.ts';

export interface TopologyTestDriverOptions {
  /** Wall-clock start in ms; default Date.now(). */
  initialWallClockTime?: number;
  config?: Partial<StreamsConfig>;
}

export class TopologyTestDriver {
  readonly #topology: TopologyGraph;
  readonly #applicationId: string;
  readonly #tasks: StreamTask[] = [];
  readonly #taskStores: TaskStores[] = [];
  readonly #taskByTopic = new Map<string, StreamTask>();
  readonly #outputs = new Map<string, TestRecordBytes[]>();
  readonly #produced = new Set<string>();
  readonly #pending: ConsumedRecord[] = [];
  readonly #offsets = new Map<string, bigint>();
  #wallClock: number;
  #closed = false;
  readonly #deadLetterLog: DeadLetterLog;
  readonly #idleAdvanceMs: number | undefined;
  readonly #lastRecordAt = new Map<StreamTask, number>();
  /** Asynchronous decodes and encodes, in order: later inputs and outputs wait their turn. */
  #work: Promise<void> = Promise.resolve();
  #queued = 0;
  #failure: unknown;
  #progressWaiters: Array<() => void> = [];
  /** Held input topics: their records wait until the due time. */
  readonly #held = new Map<string, { due: number; records: ConsumedRecord[] }>();

  constructor(topology: Topology, options: TopologyTestDriverOptions = {}) {
    const graph = topologyGraph(topology);
    this.#topology = graph;
    const config = options.config ?? {};
    this.#applicationId = config.applicationId ?? 'topology-test-driver';
    this.#wallClock = options.initialWallClockTime ?? Date.now();
    this.#idleAdvanceMs = config.advanceIdleStreamTimeAfterMs;
    const errors = resolveErrorHandling(config);
    this.#deadLetterLog = errors.deadLetterLog;
    const collector: RecordCollector = {
      send: (topic, key, value, headers, timestamp, partition) => {
        if (this.#queued > 0)
          this.#enqueue(async () => this.#capture(topic, key, value, headers, timestamp, partition));
        else this.#capture(topic, key, value, headers, timestamp, partition);
      },
      sendEncoding: (topic, key, value, headers, timestamp, partition) => {
        value.catch(() => {});
        this.#enqueue(async () => this.#capture(topic, key, await value, headers, timestamp, partition));
      },
      partitionsFor: () => 1,
    };
    const resolveTopic = (topic: string, internal: boolean) =>
      internal ? `${this.#applicationId}-${topic}` : topic;
    // Global stores first: every task reads them. The driver fills them from their topics like any input.
    const globalStores = new Map<string, unknown>();
    const globalSubs = graph.globalSubtopologies();
    for (const sub of [...globalSubs, ...graph.subtopologies()]) {
      const isGlobal = globalSubs.includes(sub);
      const taskId = isGlobal ? `global_${globalSubs.indexOf(sub)}` : `${sub.id}_0`;
      const stores = new TaskStores({
        applicationId: this.#applicationId,
        taskId,
        database: () => new SqliteDatabase(':memory:'),
      });
      const task = new StreamTask({
        applicationId: this.#applicationId,
        taskId,
        partition: 0,
        topology: graph,
        subtopology: sub,
        collector,
        storeContext: stores,
        defaultKeySerde: config.defaultKeySerde,
        defaultValueSerde: config.defaultValueSerde,
        defaultTimestampExtractor: config.defaultTimestampExtractor,
        ...errors,
        logger: config.logger ?? consoleLogger,
        now: () => this.#wallClock,
        resolveTopic,
        globalStores,
        onAsyncProgress: () => queueMicrotask(() => this.#release()),
      });
      if (isGlobal) for (const [name, store] of task.stores) globalStores.set(name, store);
      this.#tasks.push(task);
      this.#taskStores.push(stores);
      for (const t of task.inputTopics) this.#taskByTopic.set(t, task);
    }
    for (const task of this.#tasks) task.initialize();
  }

  createInputTopic<K, V>(
    topic: string,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
    options: TestInputTopicOptions = {},
  ): TestInputTopic<K, V> {
    if (!this.#taskByTopic.has(topic)) {
      throw new Error(
        `Unknown input topic "${topic}": the topology reads ${[...this.#taskByTopic.keys()].map((t) => `"${t}"`).join(', ') || 'no topics'}`,
      );
    }
    return new TestInputTopic(topic, keySerde, valueSerde, options, this.#wallClock, (record) =>
      this.#pipe(record),
    );
  }

  createOutputTopic<K, V>(topic: string, keySerde: Serde<K>, valueSerde: Serde<V>): TestOutputTopic<K, V> {
    let queue = this.#outputs.get(topic);
    if (!queue) {
      queue = [];
      this.#outputs.set(topic, queue);
    }
    return new TestOutputTopic(topic, keySerde, valueSerde, queue);
  }

  /** Names of every topic written to so far, internal topics included. */
  producedTopicNames(): Set<string> {
    return new Set(this.#produced);
  }

  /** A key-value store by name; for tables and aggregations this shows plain values (no timestamps). */
  getKeyValueStore<K = any, V = any>(
    name: string,
  ): ReadOnlyKeyValueStore<K, V> & Partial<KeyValueStore<K, V>> {
    const store = this.getStateStore(name);
    const kind = this.#topology.storeBuilder(name)?.spec.kind;
    if (kind === 'timestampedKeyValue')
      return new PlainValueView(store as KeyValueStore<K, ValueAndTimestamp<V>>);
    if (kind !== 'keyValue') throw new Error(`Store "${name}" is a ${kind} store, not a key-value store`);
    return store as KeyValueStore<K, V>;
  }

  getTimestampedKeyValueStore<K = any, V = any>(name: string): KeyValueStore<K, ValueAndTimestamp<V>> {
    const kind = this.#topology.storeBuilder(name)?.spec.kind;
    if (kind !== 'timestampedKeyValue')
      throw new Error(`Store "${name}" is a ${kind} store, not a timestamped key-value store`);
    return this.getStateStore(name) as KeyValueStore<K, ValueAndTimestamp<V>>;
  }

  /**
   * A window store by name. `fetch(key, from, to)` returns `{ windowStart, value }` per window,
   * ascending; `fetch(key, windowStart)` one value. Windowed aggregations show plain values, as
   * `getKeyValueStore` does; `getTimestampedWindowStore` shows their timestamps too.
   */
  getWindowStore<K = any, V = any>(name: string): ReadOnlyWindowStore<K, V> & Partial<WindowStore<K, V>> {
    const store = this.getStateStore(name);
    const kind = this.#topology.storeBuilder(name)?.spec.kind;
    if (kind === 'timestampedWindow')
      return new PlainWindowValueView(store as WindowStore<K, ValueAndTimestamp<V>>);
    if (kind !== 'window') throw new Error(`Store "${name}" is a ${kind} store, not a window store`);
    return store as WindowStore<K, V>;
  }

  getTimestampedWindowStore<K = any, V = any>(name: string): WindowStore<K, ValueAndTimestamp<V>> {
    const kind = this.#topology.storeBuilder(name)?.spec.kind;
    if (kind !== 'timestampedWindow')
      throw new Error(`Store "${name}" is a ${kind} store, not a timestamped window store`);
    return this.getStateStore(name) as WindowStore<K, ValueAndTimestamp<V>>;
  }

  /** A session store by name: `fetch(key)` and `findSessions(key, earliestEnd, latestStart)` return `{ key: Windowed<K>, value }`. */
  getSessionStore<K = any, V = any>(name: string): SessionStore<K, V> {
    const kind = this.#topology.storeBuilder(name)?.spec.kind;
    if (kind !== 'session') throw new Error(`Store "${name}" is a ${kind} store, not a session store`);
    return this.getStateStore(name) as SessionStore<K, V>;
  }

  getStateStore<S = unknown>(name: string): S {
    for (const task of this.#tasks) {
      const s = task.stores.get(name);
      if (s !== undefined) return s as S;
    }
    throw new Error(
      `No store named "${name}": the topology has ${
        this.#topology
          .storeNames()
          .map((s) => `"${s}"`)
          .join(', ') || 'no stores'
      }`,
    );
  }

  /**
   * Waits until the asynchronous work of every piped record is done (calls, decodes, encodes)
   * and its outputs are in the output topics; throws what failed the topology meanwhile.
   */
  async settle(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.#work;
      this.#release();
      if (this.#failure !== undefined) {
        const failure = this.#failure;
        this.#failure = undefined;
        throw failure;
      }
      const pending = this.#tasks.reduce((n, t) => n + t.asyncPending, 0);
      if (pending === 0 && this.#queued === 0) return;
      if (Date.now() > deadline)
        throw new Error(
          `settle(): after ${timeoutMs} ms, ${pending} records are still in asynchronous steps and ${this.#queued} decodes or encodes are not done`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 20);
        this.#progressWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Moves the wall clock forward and runs the wall-clock punctuators that fall due. */
  advanceWallClockTime(ms: number): void {
    if (!(ms >= 0)) throw new Error(`advanceWallClockTime needs a duration >= 0, got ${ms}`);
    this.#wallClock += ms;
    this.#resumeHeld();
    for (const task of this.#tasks) task.punctuateWallClock(this.#wallClock);
    const idleAfter = this.#idleAdvanceMs;
    if (idleAfter !== undefined) {
      for (const task of this.#tasks) {
        if (this.#wallClock - (this.#lastRecordAt.get(task) ?? -Infinity) >= idleAfter)
          task.advanceStreamTime(this.#wallClock - idleAfter);
      }
    }
    this.#drain();
    this.#commit();
  }

  /** Metrics of each task: processed, dropped, late and dead-lettered records. */
  metrics(): Record<
    string,
    {
      processedRecords: number;
      droppedRecords: number;
      lateRecords: number;
      deadLetteredRecords: number;
      skippedRecords: number;
      punctuations: number;
    }
  > {
    const out: ReturnType<TopologyTestDriver['metrics']> = {};
    for (const t of this.#tasks) out[t.id] = { ...t.metrics };
    return out;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#deadLetterLog.close();
    for (const t of this.#tasks) t.close();
    for (const s of this.#taskStores) s.close();
  }

  #pipe(record: {
    key: Buffer | null;
    value: Buffer | null;
    timestamp: number;
    headers: Headers;
    topic: string;
  }): void {
    if (this.#closed) throw new Error('The TopologyTestDriver is closed');
    const offset = this.#offsets.get(record.topic) ?? 0n;
    this.#offsets.set(record.topic, offset + 1n);
    const task = this.#taskByTopic.get(record.topic)!;
    const raw: ConsumedRecord = { ...record, partition: 0, offset };
    if (task.hasAsyncSources || this.#queued > 0) {
      this.#enqueue(async () => {
        await task.decodeAsync([raw]);
        this.#processInput(task, raw);
      });
      return;
    }
    this.#processInput(task, raw);
  }

  #processInput(task: StreamTask, raw: ConsumedRecord): void {
    const held = this.#held.get(raw.topic);
    if (held) {
      held.records.push(raw);
      return;
    }
    task.process(raw);
    const due = task.takeHold();
    if (due !== undefined) this.#held.set(raw.topic, { due, records: [raw] });
    this.#lastRecordAt.set(task, this.#wallClock);
    this.#drain();
    this.#commit();
  }

  /** Held topics whose due time passed: their records are processed again, in order. */
  #resumeHeld(): void {
    for (const [topic, held] of [...this.#held]) {
      if (held.due > this.#wallClock) continue;
      this.#held.delete(topic);
      const task = this.#taskByTopic.get(topic)!;
      for (const raw of held.records) this.#processInput(task, raw);
    }
  }

  /** Runs `step` after every decode and encode queued before it. */
  #enqueue(step: () => Promise<void>): void {
    this.#queued++;
    this.#work = this.#work.then(async () => {
      try {
        if (this.#failure === undefined) await step();
      } catch (error) {
        this.#failure ??= error;
      } finally {
        this.#queued--;
        this.#wake();
      }
    });
  }

  /** Asynchronous steps' settled results go on downstream. */
  #release(): void {
    if (this.#closed) return;
    let released = 0;
    try {
      for (const task of this.#tasks) released += task.releaseAsync();
    } catch (error) {
      this.#failure ??= error;
    }
    if (released > 0) {
      this.#drain();
      this.#commit();
    }
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#progressWaiters;
    this.#progressWaiters = [];
    for (const w of waiters) w();
  }

  /** Records sent to topics the topology reads itself (repartition topics) are processed now. */
  #drain(): void {
    while (this.#pending.length > 0) {
      const r = this.#pending.shift()!;
      const task = this.#taskByTopic.get(r.topic)!;
      task.process(r);
      this.#lastRecordAt.set(task, this.#wallClock);
    }
  }

  #commit(): void {
    for (const s of this.#taskStores) s.commit();
  }

  #capture(
    topic: string,
    key: Buffer | null,
    value: Buffer | null,
    headers: Headers,
    timestamp: number,
    _partition: number | undefined,
  ): void {
    this.#produced.add(topic);
    // Copy headers: later operators must not change what was already written.
    const copy = headers.clone();
    let queue = this.#outputs.get(topic);
    if (!queue) {
      queue = [];
      this.#outputs.set(topic, queue);
    }
    queue.push({ topic, key, value, timestamp, headers: copy });
    if (this.#taskByTopic.has(topic)) {
      const offset = this.#offsets.get(topic) ?? 0n;
      this.#offsets.set(topic, offset + 1n);
      this.#pending.push({ topic, partition: 0, offset, key, value, timestamp, headers: copy.clone() });
    }
  }
}
