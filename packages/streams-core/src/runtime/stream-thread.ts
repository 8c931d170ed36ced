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
} from '../client/port.ts';
import { topicPartitionKey } from '../client/port.ts';
import type { ResolvedErrorHandling, StreamsConfig } from '../config/streams-config.ts';
import { errorMessage } from '../errors/exception-handlers.ts';
import { diagnostics } from '../observability/diagnostics.ts';
import type { Logger } from '../observability/logger.ts';
import type { TopologyGraph } from '../topology/topology-graph.ts';
import type { GlobalStateManager } from './global-state-manager.ts';
import type { TopicPlan } from './internal-topics.ts';
import { Outage } from './outage.ts';
import { RecordBuffer } from './record-buffer.ts';
import { StandbyManager } from './standby-manager.ts';
import { type PlacementMember, standbyPlacement } from './standby-placement.ts';
import { createStreamsProducer, type StreamsProducer } from './streams-producer.ts';
import type { StreamsStateMachine } from './streams-state.ts';
import { type TaskId, taskId } from './task-id.ts';
import { type ActiveTask, type RestoreProgress, TaskManager } from './task-manager.ts';
import type { ThreadMetrics } from './thread-metrics.ts';

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
  readonly state: StreamsStateMachine;
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
  /** Called with the error that stopped the thread for good. */
  readonly onFatal: (error: unknown) => void;
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

  constructor(options: StreamThreadOptions) {
    this.#o = options;
    this.#eos = options.config.processingGuarantee === 'exactly_once_v2';
    this.#commitIntervalMs = options.config.commitIntervalMs ?? (this.#eos ? 100 : 30_000);
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
      const polled = performance.now();
      const batches = await consumer.poll();
      if (this.#stopping && batches.length === 0) break;
      let records = 0;
      if (batches.length > 0) {
        const started = performance.now();
        records = this.#process(batches, tasks);
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
      const now = Date.now();
      for (const t of tasks.tasks.values()) t.task.punctuateWallClock(now);
      if (idleAfter !== undefined) {
        for (const t of tasks.tasks.values())
          if (now - t.lastRecordAt >= idleAfter) t.task.advanceStreamTime(now - idleAfter);
      }
      await producer.send();
      let commitRequested = false;
      for (const t of tasks.tasks.values()) if (t.task.takeCommitRequest()) commitRequested = true;
      if (commitRequested || performance.now() - this.#lastCommit >= this.#commitIntervalMs)
        await this.#commit(session);
      if (o.metrics.processed(records)) void o.metrics.measureLag(consumer, o.admin, this.#isolation());
      // Heartbeats, timers and the query endpoint run between polls, however large the backlog.
      await yieldToEventLoop();
    }
    // A clean close commits what was processed.
    await this.#commit(session);
  }

  /**
   * Runs a poll through the tasks, a partition's batch at a time; a task reading several
   * partitions takes their records in timestamp order. Offsets and activity are noted once per
   * partition, not per record.
   */
  #process(batches: PartitionBatch[], tasks: TaskManager): number {
    let records = 0;
    let byTask: Map<ActiveTask, PartitionBatch[]> | undefined;
    for (const batch of batches) {
      records += batch.records.length;
      const t = tasks.taskFor(batch);
      if (!t) continue; // a partition revoked while its records were in flight
      if (t.task.inputTopics.length === 1) {
        const task = t.task;
        for (const r of batch.records) task.process(r);
        this.#consumed(t, batch);
        continue;
      }
      byTask ??= new Map();
      const queued = byTask.get(t);
      if (queued) queued.push(batch);
      else byTask.set(t, [batch]);
    }
    if (byTask) {
      for (const [t, queued] of byTask) {
        mergeByTimestamp(queued, t.task);
        for (const batch of queued) this.#consumed(t, batch);
      }
    }
    return records;
  }

  #consumed(t: ActiveTask, batch: PartitionBatch): void {
    t.consumed.set(topicPartitionKey(batch), batch.records[batch.records.length - 1]!.offset + 1n);
    t.lastRecordAt = Date.now();
  }

  async #commit(session: Session): Promise<void> {
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
    if (tasks.tasks.size === 0) return;
    const clean = await producer.prepareClose();
    for (const t of tasks.tasks.values()) this.#o.metrics.taskClosed(t);
    tasks.closeAll(clean);
  }

  async #shutdown(session: Session, clean: boolean): Promise<void> {
    const { tasks, producer, consumer } = session;
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

/** Processes the batches of a task's co-partitioned inputs in timestamp order (ties: the earlier batch). */
function mergeByTimestamp(batches: PartitionBatch[], task: { process(r: ConsumedRecord): void }): void {
  const heads = batches.map(() => 0);
  for (;;) {
    let best = -1;
    let bestTime = 0;
    for (let i = 0; i < batches.length; i++) {
      const r = batches[i]!.records[heads[i]!];
      if (r && (best < 0 || r.timestamp < bestTime)) {
        best = i;
        bestTime = r.timestamp;
      }
    }
    if (best < 0) return;
    task.process(batches[best]!.records[heads[best]!++]!);
  }
}
