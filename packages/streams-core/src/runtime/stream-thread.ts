/**
 * The stream thread: joins the group, and then loops poll → process → send → commit until it is
 * stopped. It owns the thread's clients, its tasks (through the TaskManager), the rebalance
 * callbacks, and what happens after an error: rejoin with fresh clients when the group moved on
 * or the producer was fenced, otherwise whatever the uncaught exception handler says.
 */

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { StateDirectory } from '@kafka-pattern/state-store';
import { isRetriable, ProducerFencedError, RebalanceError } from '../client/errors.ts';
import type {
  AdminPort,
  ConsumedRecord,
  ConsumerPort,
  KafkaClientFactory,
  PartitionBatch,
  TopicPartition,
} from '../client/port.ts';
import { topicPartitionKey } from '../client/port.ts';
import type { ResolvedErrorHandling, StreamsConfig } from '../config/streams-config.ts';
import { errorMessage } from '../errors/exception-handlers.ts';
import { diagnostics } from '../observability/diagnostics.ts';
import type { Logger } from '../observability/logger.ts';
import { isAsyncSerde } from '../serdes/async-serde.ts';
import type { TopologyGraph } from '../topology/topology-graph.ts';
import type { GlobalStateManager } from './global-state-manager.ts';
import type { TopicPlan } from './internal-topics.ts';
import { Outage } from './outage.ts';
import { RecordBuffer } from './record-buffer.ts';
import { StandbyManager } from './standby-manager.ts';
import { type PlacementMember, standbyPlacement } from './standby-placement.ts';
import { createStreamsProducer, type StreamsProducer } from './streams-producer.ts';
import { type TaskId, taskId } from './task-id.ts';
import { type ActiveTask, type RestoreProgress, TaskManager } from './task-manager.ts';
import type { ThreadMetrics } from './thread-metrics.ts';
import type { ThreadStateSink } from './thread-states.ts';

/**
 * Longest wait for an asynchronous step's calls in flight when its task closes; each call is
 * also bounded by its own timeout.
 */
const ASYNC_CLOSE_WAIT_MS = 30_000;

/** What to do after an error escaped processing: start the thread again, or stop this instance. */
export type UncaughtExceptionResponse = 'REPLACE_THREAD' | 'SHUTDOWN_CLIENT';
export type UncaughtExceptionHandler = (error: unknown) => UncaughtExceptionResponse;

export interface StreamThreadOptions {
  readonly config: StreamsConfig;
  readonly topology: TopologyGraph;
  readonly plan: TopicPlan;
  readonly stateDirectory: StateDirectory;
  readonly clients: KafkaClientFactory;
  readonly admin: AdminPort;
  readonly errors: ResolvedErrorHandling;
  /** The instance's state machine, or this thread's share of it when the instance runs several. */
  readonly state: ThreadStateSink;
  readonly metrics: ThreadMetrics;
  readonly logger: Logger;
  readonly clientId: string;
  readonly transactionalId: string;
  readonly globals: GlobalStateManager | undefined;
  /** This instance's interactive-query address, for the group subscription. */
  readonly userData: Buffer;
  /** The group's members and their tasks, for standby placement. */
  readonly members: () => Promise<PlacementMember[]>;
  readonly uncaughtExceptionHandler: () => UncaughtExceptionHandler;
  readonly onRestore: (progress: RestoreProgress) => void;
  /** Called once per loop turn after the poll's records were processed (read-your-writes waiters). */
  readonly onProcessed?: () => void;
  /** Called with the error that stopped the thread for good. */
  readonly onFatal: (error: unknown) => void;
  /**
   * While true, the thread keeps its partitions paused: it stays in the group and takes its
   * assignment but processes nothing. An instance with several threads holds each of them until
   * all have their first assignment, so that none processes records a moment before the group
   * hands half of its tasks to a thread that joined just after it (under at_least_once, what it
   * had processed and not yet committed would be processed again).
   */
  readonly holdProcessing?: () => boolean;
}

export class StreamThread {
  readonly #o: StreamThreadOptions;
  readonly #eos: boolean;
  readonly #commitIntervalMs: number;
  #stopping = false;
  #lastCommit = 0;
  #tasks: TaskManager | undefined;
  #standbys: StandbyManager | undefined;
  readonly #outage: Outage;
  #consumer: ConsumerPort | undefined;
  /** An asynchronous call settled since the thread last looked. */
  #asyncSignalled = false;
  #asyncWaiter: (() => void) | undefined;
  /** Held source partitions (holdPartitionUntil) and when each is due, by topic-partition key. */
  readonly #holds = new Map<string, { tp: TopicPartition; due: number }>();
  #holdTimer: NodeJS.Timeout | undefined;
  /** Partitions paused because their task's asynchronous steps have too much waiting. */
  readonly #backpressured = new Set<ActiveTask>();
  readonly #asyncBacklogLimit: number;
  /** A source of the topology decodes values with an asynchronous serde. */
  readonly #asyncSources: boolean;
  /** Partitions paused while `holdProcessing` says so, by topic-partition key. */
  readonly #heldForInstance = new Map<string, TopicPartition>();

  constructor(options: StreamThreadOptions) {
    this.#o = options;
    this.#eos = options.config.processingGuarantee === 'exactly_once_v2';
    this.#commitIntervalMs = options.config.commitIntervalMs ?? (this.#eos ? 100 : 30_000);
    this.#asyncBacklogLimit = 2 * (options.config.client?.maxPollRecords ?? 1000);
    this.#asyncSources = options.topology.subtopologies().some((sub) =>
      sub.nodes.some((n) => {
        const def = options.topology.node(n);
        return def.kind === 'source' && isAsyncSerde(def.valueSerde);
      }),
    );
    this.#outage = new Outage(
      options.config.applicationId,
      options.config.taskTimeoutMs,
      options.logger,
      options.metrics,
    );
  }

  /** The tasks the thread runs now. */
  activeTasks(): ActiveTask[] {
    return [...(this.#tasks?.tasks.values() ?? [])];
  }

  standbyTaskIds(): TaskId[] {
    return this.#standbys?.taskIds() ?? [];
  }

  /** Changelog records applied to standby replicas. */
  get standbyRecords(): number {
    return this.#standbys?.appliedRecords ?? 0;
  }

  /** Asks the loop to finish: what was processed is committed, then the thread ends. */
  stop(): void {
    this.#stopping = true;
    this.#outage.interrupt();
    this.#consumer?.wakeup();
  }

  /** An asynchronous step's call settled: wake the loop (in poll, or waiting before a commit). */
  readonly #onAsyncProgress = (): void => {
    this.#asyncSignalled = true;
    const waiter = this.#asyncWaiter;
    this.#asyncWaiter = undefined;
    waiter?.();
    this.#consumer?.wakeup();
  };

  #nextAsyncProgress(): Promise<void> {
    if (this.#asyncSignalled) {
      this.#asyncSignalled = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.#asyncWaiter = () => {
        this.#asyncSignalled = false;
        resolve();
      };
    });
  }

  /** Runs until stopped or failed for good; never rejects. */
  async run(): Promise<void> {
    try {
      await this.#run();
    } finally {
      await this.#standbys?.close().catch(() => {});
      this.#standbys = undefined;
    }
  }

  async #run(): Promise<void> {
    for (;;) {
      const session = this.#open();
      try {
        await session.producer.init();
        await this.#loop(session);
        await this.#shutdown(session, true);
        this.#o.state.transition('NOT_RUNNING');
        return;
      } catch (error) {
        await this.#shutdown(session, false).catch(() => {});
        if (this.#stopping) {
          this.#o.state.transition('NOT_RUNNING');
          return;
        }
        if (error instanceof ProducerFencedError || error instanceof RebalanceError) {
          // The tasks moved to another member or the transaction was aborted under us: nothing of
          // the open work became visible. Rejoin with fresh clients; no user decision is needed.
          this.#o.logger.warn(
            {},
            `"${this.#o.config.applicationId}" rejoins the group: ${errorMessage(error)}`,
          );
          this.#o.state.transition('REBALANCING');
          continue;
        }
        if (isRetriable(error)) {
          // Uncommitted work went with the clients (exactly-once: aborted, stores rolled back;
          // at-least-once: nothing past the last acknowledged commit was committed), so the thread
          // backs off and starts again from what Kafka committed.
          this.#o.state.transition('REBALANCING');
          if (await this.#outage.retry(error)) continue;
        }
        let response: UncaughtExceptionResponse = 'SHUTDOWN_CLIENT';
        try {
          response = this.#o.uncaughtExceptionHandler()(error);
        } catch (e) {
          this.#o.logger.warn({}, `uncaught exception handler failed: ${errorMessage(e)}`);
        }
        if (response === 'REPLACE_THREAD') {
          this.#o.logger.warn(
            {},
            `"${this.#o.config.applicationId}" replaces its stream thread after: ${errorMessage(error)}`,
          );
          this.#o.state.transition('REBALANCING');
          continue;
        }
        this.#o.onFatal(error);
        return;
      }
    }
  }

  #open(): Session {
    const o = this.#o;
    const cfg = o.config;
    const plan = o.plan;
    const client = cfg.client ?? {};
    const isolationLevel = this.#eos ? 'read_committed' : 'read_uncommitted';
    const buffer = new RecordBuffer(plan.partitions);
    const tasks = new TaskManager({
      applicationId: cfg.applicationId,
      topology: o.topology,
      plan,
      stateDirectory: o.stateDirectory,
      buffer,
      clients: o.clients,
      admin: o.admin,
      isolationLevel,
      clientId: o.clientId,
      errors: o.errors,
      logger: o.logger,
      defaultKeySerde: cfg.defaultKeySerde,
      defaultValueSerde: cfg.defaultValueSerde,
      defaultTimestampExtractor: cfg.defaultTimestampExtractor,
      cacheMaxBytes: cfg.cacheMaxBytes ?? 1024 * 1024,
      ...(o.globals ? { globalStores: o.globals.stores } : {}),
      onRestore: (p) => {
        o.metrics.restored += p.restored;
        if (diagnostics.restore.hasSubscribers)
          diagnostics.restore.publish({ applicationId: cfg.applicationId, ...p });
        o.onRestore(p);
      },
      onRestoreBatch: (records, durationMs) => {
        if (durationMs > 0) o.metrics.restoreRate = (records / durationMs) * 1000;
      },
      onAsyncProgress: this.#onAsyncProgress,
      ...(this.#eos
        ? {
            asyncTimeoutLimit: {
              ms: client.transactionTimeoutMs ?? 10_000,
              setting: 'client.transactionTimeoutMs',
            },
          }
        : {}),
    });
    this.#tasks = tasks;
    const producer = createStreamsProducer(this.#eos, {
      applicationId: cfg.applicationId,
      clients: o.clients,
      clientId: o.clientId,
      transactionalId: o.transactionalId,
      transactionTimeoutMs: client.transactionTimeoutMs ?? 10_000,
      productionExceptionHandler: cfg.productionExceptionHandler,
      buffer,
      tasks,
      metrics: o.metrics,
      logger: o.logger,
      onSendAcknowledged: () => this.#consumer?.wakeup(),
    });
    const consumer = o.clients.consumer({
      groupId: cfg.applicationId,
      clientId: `${o.clientId}-consumer`,
      topics: [...new Set([...plan.sourceTopics.values()].flat())],
      isolationLevel,
      // Every sub-topology's inputs are read together by its tasks: partition N of each on one member.
      copartitionGroups: [...plan.sourceTopics.values()].filter((g) => g.length > 1),
      autoOffsetReset: 'earliest',
      sessionTimeoutMs: client.sessionTimeoutMs ?? 10_000,
      heartbeatIntervalMs: client.heartbeatIntervalMs ?? 1_000,
      rebalanceTimeoutMs: client.rebalanceTimeoutMs ?? 30_000,
      maxWaitMs: client.maxWaitMs ?? 200,
      maxPollRecords: client.maxPollRecords ?? 1000,
      // Tells the other instances where this one answers interactive queries.
      userData: o.userData,
    });
    if ((cfg.numStandbyReplicas ?? 0) > 0) {
      this.#standbys ??= new StandbyManager({
        applicationId: cfg.applicationId,
        topology: o.topology,
        plan,
        stateDirectory: o.stateDirectory,
        clients: o.clients,
        admin: o.admin,
        isolationLevel,
        clientId: o.clientId,
        logger: o.logger,
      });
    }
    this.#consumer = consumer;
    const session: Session = { consumer, producer, tasks };
    consumer.onRebalance({
      revoked: async (partitions) => {
        if (diagnostics.rebalance.hasSubscribers)
          diagnostics.rebalance.publish({ applicationId: cfg.applicationId, phase: 'revoked', partitions });
        o.state.transition('REBALANCING');
        await this.#closeTasks(session);
      },
      assigned: async (partitions) => {
        if (diagnostics.rebalance.hasSubscribers)
          diagnostics.rebalance.publish({ applicationId: cfg.applicationId, phase: 'assigned', partitions });
        const standbys = this.#standbys;
        // A standby becoming active hands its state directory over with a fresh checkpoint.
        if (standbys)
          await standbys.release(
            new Set(partitions.map((tp) => taskId(plan.subtopologyOfTopic.get(tp.topic)!, tp.partition))),
          );
        await tasks.assign(partitions);
        // Held: nothing of the new assignment is fetched in the poll that brought it.
        if (o.holdProcessing?.()) this.#holdPartitions(consumer, partitions);
        if (standbys) await standbys.update(new Set(tasks.tasks.keys()), await this.#standbyPlacement());
        this.#lastCommit = performance.now();
        o.state.transition('RUNNING');
      },
    });
    return session;
  }

  async #loop(session: Session): Promise<void> {
    const { consumer, producer, tasks } = session;
    const o = this.#o;
    const idleAfter = o.config.advanceIdleStreamTimeAfterMs;
    while (!this.#stopping) {
      this.#holdForInstance(consumer);
      const polled = performance.now();
      const batches = await consumer.poll();
      if (this.#stopping && batches.length === 0) break;
      // A task that has processed nothing yet is at the consumer's starting offset.
      tasks.notePositions(consumer.positions(), batches);
      // Results of asynchronous calls go on before newer records, in the order theirs arrived.
      tasks.releaseAsync();
      let records = 0;
      if (batches.length > 0) {
        const started = performance.now();
        if (this.#asyncSources) await decodeAhead(batches, tasks);
        records = this.#process(batches, tasks, consumer);
        if (diagnostics.poll.hasSubscribers)
          diagnostics.poll.publish({
            applicationId: o.config.applicationId,
            partitions: batches.length,
            records,
            durationMs: started - polled,
          });
        if (diagnostics.processBatch.hasSubscribers)
          diagnostics.processBatch.publish({
            applicationId: o.config.applicationId,
            records,
            durationMs: performance.now() - started,
          });
      }
      o.onProcessed?.();
      const now = Date.now();
      for (const t of tasks.tasks.values()) t.task.punctuateWallClock(now);
      if (idleAfter !== undefined) {
        // A task still waiting for asynchronous results has records in hand: it is not idle.
        for (const t of tasks.tasks.values())
          if (now - t.lastRecordAt >= idleAfter && t.task.asyncPending === 0)
            t.task.advanceStreamTime(now - idleAfter);
      }
      if (this.#holds.size > 0) this.#resumeDueHolds(consumer, now);
      this.#applyBackpressure(consumer, tasks);
      await producer.send();
      let commitRequested = false;
      for (const t of tasks.tasks.values()) if (t.task.takeCommitRequest()) commitRequested = true;
      if (commitRequested || performance.now() - this.#lastCommit >= this.#commitIntervalMs)
        await this.#commit(session);
      if (o.metrics.processed(records)) void o.metrics.measureLag(consumer, o.admin, this.#isolation());
      // Heartbeats, timers and the query endpoint run between polls, however large the backlog.
      await yieldToEventLoop();
    }
    // A clean close commits what was processed, once the asynchronous calls in hand are done.
    await this.#settleAsync(tasks, ASYNC_CLOSE_WAIT_MS);
    await this.#commit(session);
  }

  /**
   * Waits until every record taken in by an asynchronous step went on downstream (each call is
   * bounded by its own timeout), releasing results as they settle; gives up after `timeoutMs`.
   */
  async #settleAsync(tasks: TaskManager, timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      tasks.releaseAsync();
      if (tasks.asyncPending() === 0 || performance.now() >= deadline) return;
      await this.#nextAsyncProgress();
    }
  }

  /** Pauses every assigned partition while the instance holds processing, and resumes them once it lets go. */
  #holdForInstance(consumer: ConsumerPort): void {
    const hold = this.#o.holdProcessing;
    if (!hold) return;
    if (hold()) {
      // Every turn: a rebalance may have brought new partitions.
      this.#holdPartitions(consumer, consumer.assignment());
    } else if (this.#heldForInstance.size > 0) {
      const held = [...this.#heldForInstance.values()];
      this.#heldForInstance.clear();
      consumer.resume(
        held.filter((tp) => !this.#holds.has(topicPartitionKey(tp)) && !this.#isBackpressured(tp)),
      );
    }
  }

  #holdPartitions(consumer: ConsumerPort, partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.#heldForInstance.set(topicPartitionKey(tp), tp);
    consumer.pause([...partitions]);
  }

  /** Resumes held partitions that are due; arms a timer that wakes the loop for the next one. */
  #resumeDueHolds(consumer: ConsumerPort, now: number): void {
    let next = Number.POSITIVE_INFINITY;
    const due: TopicPartition[] = [];
    for (const [k, h] of this.#holds) {
      if (h.due <= now) {
        this.#holds.delete(k);
        if (!this.#isBackpressured(h.tp)) due.push(h.tp);
      } else if (h.due < next) next = h.due;
    }
    if (due.length > 0) consumer.resume(due);
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    if (next !== Number.POSITIVE_INFINITY)
      this.#holdTimer = setTimeout(() => this.#consumer?.wakeup(), Math.max(0, next - now));
  }

  #isBackpressured(tp: TopicPartition): boolean {
    const t = this.#tasks?.taskFor(tp);
    return t !== undefined && this.#backpressured.has(t);
  }

  /**
   * Pauses a task's partitions while its asynchronous steps hold more records than two polls
   * bring, and resumes them once half of those went on: memory stays bounded however slow the
   * calls are, and other tasks keep flowing.
   */
  #applyBackpressure(consumer: ConsumerPort, tasks: TaskManager): void {
    for (const t of tasks.tasks.values()) {
      const pending = t.task.asyncPending;
      if (pending === 0 && !this.#backpressured.has(t)) continue;
      const paused = this.#backpressured.has(t);
      if (!paused && pending > this.#asyncBacklogLimit) {
        this.#backpressured.add(t);
        consumer.pause(this.#partitionsOf(t));
      } else if (paused && pending <= this.#asyncBacklogLimit / 2) {
        this.#backpressured.delete(t);
        consumer.resume(this.#partitionsOf(t).filter((tp) => !this.#holds.has(topicPartitionKey(tp))));
      }
    }
  }

  #partitionsOf(t: ActiveTask): TopicPartition[] {
    return t.task.inputTopics.map((topic) => ({ topic, partition: t.partition }));
  }

  /**
   * Runs a poll through the tasks, a partition's batch at a time; a task reading several
   * partitions takes their records in timestamp order. Offsets and activity are noted once per
   * partition, not per record.
   */
  #process(batches: PartitionBatch[], tasks: TaskManager, consumer: ConsumerPort): number {
    let records = 0;
    let byTask: Map<ActiveTask, PartitionBatch[]> | undefined;
    for (const batch of batches) {
      records += batch.records.length;
      const t = tasks.taskFor(batch);
      if (!t) continue; // a partition revoked while its records were in flight
      if (t.task.inputTopics.length === 1) {
        const task = t.task;
        let held = false;
        for (const r of batch.records) {
          task.process(r);
          const due = task.takeHold();
          if (due !== undefined) {
            this.#hold(t, r, due, consumer);
            held = true;
            break;
          }
        }
        if (!held) this.#consumed(t, batch);
        continue;
      }
      byTask ??= new Map();
      const queued = byTask.get(t);
      if (queued) queued.push(batch);
      else byTask.set(t, [batch]);
    }
    if (byTask) {
      for (const [t, queued] of byTask) {
        const heldAt = mergeByTimestamp(queued, t.task);
        for (let i = 0; i < queued.length; i++) {
          const at = heldAt[i];
          if (at === undefined) this.#consumed(t, queued[i]!);
          else this.#hold(t, at.record, at.due, consumer);
        }
      }
    }
    return records;
  }

  /**
   * A processor held `record`'s partition: it is not done, so its offset is where a commit
   * stops; the partition reads from it again once resumed.
   */
  #hold(t: ActiveTask, record: ConsumedRecord, due: number, consumer: ConsumerPort): void {
    const tp = { topic: record.topic, partition: record.partition };
    const k = topicPartitionKey(tp);
    t.consumed.set(k, record.offset);
    t.processed.set(k, record.offset);
    t.lastRecordAt = Date.now();
    consumer.seek([{ ...tp, offset: record.offset }]);
    consumer.pause([tp]);
    this.#holds.set(k, { tp, due });
  }

  #consumed(t: ActiveTask, batch: PartitionBatch): void {
    const k = topicPartitionKey(batch);
    const next = batch.records[batch.records.length - 1]!.offset + 1n;
    t.consumed.set(k, next);
    t.processed.set(k, next);
    t.lastRecordAt = Date.now();
  }

  async #commit(session: Session): Promise<void> {
    // Exactly-once: a transaction holds only finished work, so every record's outputs commit with its offset.
    if (this.#eos && session.tasks.asyncPending() > 0) await this.#settleAsync(session.tasks);
    const started = performance.now();
    const outcome = await session.producer.commit(session.consumer);
    this.#lastCommit = outcome === 'committed' ? performance.now() : started;
    if (outcome !== 'aborted') this.#outage.recovered();
    if (outcome === 'aborted') await this.#restartTasks(session);
  }

  /**
   * Exactly-once, after an abort the group caused: the tasks' uncommitted state was rolled back
   * with the transaction; they start again from what Kafka committed. When the generation has
   * ended (the consumer owns nothing now: a rebalance is under way, or the coordinator no longer
   * knows this member, as after a freeze past the session timeout) they are only closed: their
   * partitions may be another member's already, and the next poll's rebalance says what runs here.
   */
  async #restartTasks(session: Session): Promise<void> {
    const { consumer, tasks } = session;
    const assignment = consumer.assignment();
    await this.#closeTasks(session);
    if (this.#stopping || assignment.length === 0) return;
    const committed = await consumer.committed(assignment);
    await tasks.assign(assignment);
    consumer.seek(
      assignment.flatMap((tp) => {
        const offset = committed.get(topicPartitionKey(tp));
        return offset === undefined ? [] : [{ ...tp, offset }];
      }),
    );
  }

  async #closeTasks(session: Session): Promise<void> {
    const { tasks, producer } = session;
    this.#forgetPauses(session.consumer);
    if (tasks.tasks.size === 0) return;
    // Calls in flight finish (bounded) but go nowhere: the next owner of a task redoes them.
    await tasks.abandonAsync(ASYNC_CLOSE_WAIT_MS);
    const clean = await producer.prepareClose();
    for (const t of tasks.tasks.values()) this.#o.metrics.taskClosed(t);
    tasks.closeAll(clean);
  }

  /** A rebalance or restart resumes every partition from its committed offset. */
  #forgetPauses(consumer: ConsumerPort): void {
    const paused = [...this.#holds.values()].map((h) => h.tp);
    for (const t of this.#backpressured) paused.push(...this.#partitionsOf(t));
    if (paused.length > 0) consumer.resume(paused);
    this.#holds.clear();
    this.#backpressured.clear();
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
  }

  async #shutdown(session: Session, clean: boolean): Promise<void> {
    const { tasks, producer, consumer } = session;
    this.#forgetPauses(consumer);
    await tasks.abandonAsync(ASYNC_CLOSE_WAIT_MS);
    if (!clean) await producer.discard();
    for (const t of tasks.tasks.values()) this.#o.metrics.taskClosed(t);
    tasks.closeAll(clean);
    this.#tasks = undefined;
    await consumer.close().catch(() => {});
    await producer.close();
  }

  #isolation(): 'read_committed' | 'read_uncommitted' {
    return this.#eos ? 'read_committed' : 'read_uncommitted';
  }

  /**
   * The standby tasks this instance should keep; undefined (every task not run here) when there
   * are too few instances to choose or the group cannot be read.
   */
  async #standbyPlacement(): Promise<Set<TaskId> | undefined> {
    try {
      return standbyPlacement(await this.#o.members(), this.#o.config.numStandbyReplicas ?? 0);
    } catch (error) {
      this.#o.logger.warn(
        {},
        `standby placement falls back to every task not run here: ${errorMessage(error)}`,
      );
      return undefined;
    }
  }
}

interface Session {
  readonly consumer: ConsumerPort;
  readonly producer: StreamsProducer;
  readonly tasks: TaskManager;
}

/** Values of sources with asynchronous serdes are decoded, per task, before the poll is processed. */
async function decodeAhead(batches: PartitionBatch[], tasks: TaskManager): Promise<void> {
  const byTask = new Map<ActiveTask, ConsumedRecord[]>();
  for (const batch of batches) {
    const t = tasks.taskFor(batch);
    if (!t?.task.hasAsyncSources) continue;
    const list = byTask.get(t);
    if (list) list.push(...batch.records);
    else byTask.set(t, batch.records.slice());
  }
  await Promise.all([...byTask].map(([t, records]) => t.task.decodeAsync(records)));
}

/**
 * Processes the batches of a task's co-partitioned inputs in timestamp order (ties: the earlier
 * batch). A batch whose partition a processor held stops at that record; returns, per batch, the
 * record it was held at and until when.
 */
function mergeByTimestamp(
  batches: PartitionBatch[],
  task: { process(r: ConsumedRecord): void; takeHold(): number | undefined },
): Array<{ record: ConsumedRecord; due: number } | undefined> {
  const heads = batches.map(() => 0);
  const held: Array<{ record: ConsumedRecord; due: number } | undefined> = batches.map(() => undefined);
  for (;;) {
    let best = -1;
    let bestTime = 0;
    for (let i = 0; i < batches.length; i++) {
      if (held[i]) continue;
      const r = batches[i]!.records[heads[i]!];
      if (r && (best < 0 || r.timestamp < bestTime)) {
        best = i;
        bestTime = r.timestamp;
      }
    }
    if (best < 0) return held;
    const record = batches[best]!.records[heads[best]!++]!;
    task.process(record);
    const due = task.takeHold();
    if (due !== undefined) held[best] = { record, due };
  }
}
