/**
 * KafkaStreams: runs a topology against a Kafka cluster. One stream thread per instance polls
 * the assigned partitions, processes each batch synchronously through the tasks, produces the
 * outputs as one batch, and commits: offsets after the outputs are acknowledged
 * (at_least_once), or outputs, offsets and changelogs in one Kafka transaction with the local
 * SQLite state committed right after it (exactly_once_v2).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateDirectory } from '@kafka-pattern/state-store';
import { ProducerFencedError, RebalanceError } from '../client/errors.ts';
import { createPlatformaticClientFactory } from '../client/platformatic/factory.ts';
import type {
  AdminPort,
  ConsumedRecord,
  ConsumerPort,
  KafkaClientFactory,
  ProducedRecord,
  ProducerPort,
  RecordMetadata,
  TransactionPort,
} from '../client/port.ts';
import {
  bootstrapList,
  ConfigException,
  type ResolvedErrorHandling,
  resolveErrorHandling,
  type StreamsConfig,
  validateConfig,
} from '../config/streams-config.ts';
import { errorMessage, StreamsException } from '../errors/exception-handlers.ts';
import { Headers } from '../processor/api/headers.ts';
import type { Serde } from '../serdes/serde.ts';
import { type KeyValueStore, PlainValueView } from '../state/key-value-store.ts';
import type { ValueAndTimestamp } from '../state/value-and-timestamp.ts';
import type { Topology } from '../topology/topology.ts';
import { GlobalStateManager } from './global-state-manager.ts';
import {
  InteractiveQueries,
  type KeyQueryMetadata,
  type QueryableStoreType,
  type QueryableStoreTypes,
  type StreamsMetadata,
} from './interactive-queries.ts';
import { planTopics, type TopicPlan } from './internal-topics.ts';
import { addTaskMetrics, emptyTaskMetrics, type StreamsMetrics, toPrometheus } from './metrics.ts';
import { processId } from './process-id.ts';
import { groupByPartition, RecordBuffer } from './record-buffer.ts';
import { StandbyManager } from './standby-manager.ts';
import { type ActiveTask, type RestoreProgress, TaskManager } from './task-manager.ts';

export type StreamsState =
  | 'CREATED'
  | 'REBALANCING'
  | 'RUNNING'
  | 'PENDING_SHUTDOWN'
  | 'NOT_RUNNING'
  | 'PENDING_ERROR'
  | 'ERROR';
export type StateListener = (newState: StreamsState, oldState: StreamsState) => void;
/** What to do after an error escaped processing: start the thread again, or stop this instance. */
export type UncaughtExceptionResponse = 'REPLACE_THREAD' | 'SHUTDOWN_CLIENT';
export type UncaughtExceptionHandler = (error: unknown) => UncaughtExceptionResponse;

export interface RestoreListener {
  onRestoreEnd?(progress: RestoreProgress): void;
}

export interface KafkaStreamsOptions {
  /** A client other than @platformatic/kafka behind the same port. */
  clientFactory?: KafkaClientFactory;
}

const TRANSITIONS: Record<StreamsState, StreamsState[]> = {
  CREATED: ['REBALANCING', 'PENDING_SHUTDOWN', 'PENDING_ERROR'],
  REBALANCING: ['RUNNING', 'REBALANCING', 'PENDING_SHUTDOWN', 'PENDING_ERROR'],
  RUNNING: ['REBALANCING', 'PENDING_SHUTDOWN', 'PENDING_ERROR'],
  PENDING_SHUTDOWN: ['NOT_RUNNING'],
  NOT_RUNNING: [],
  PENDING_ERROR: ['ERROR'],
  ERROR: [],
};

export class KafkaStreams {
  readonly #topology: Topology;
  readonly #config: StreamsConfig;
  readonly #eos: boolean;
  readonly #commitIntervalMs: number;
  readonly #errors: ResolvedErrorHandling;
  readonly #clients: KafkaClientFactory;
  #state: StreamsState = 'CREATED';
  readonly #stateListeners: StateListener[] = [];
  #uncaught: UncaughtExceptionHandler = () => 'SHUTDOWN_CLIENT';
  #restoreListener: RestoreListener | undefined;
  #admin: AdminPort | undefined;
  #plan: TopicPlan | undefined;
  #stateDirectory: StateDirectory | undefined;
  #consumer: ConsumerPort | undefined;
  #producer: ProducerPort | undefined;
  #transaction: TransactionPort | undefined;
  /** The open transaction holds records or offsets (an empty one is never sent to the broker). */
  #transactionDirty = false;
  #buffer: RecordBuffer | undefined;
  #tasks: TaskManager | undefined;
  #standbys: StandbyManager | undefined;
  #globals: GlobalStateManager | undefined;
  #loop: Promise<void> | undefined;
  /** A start() still checking topics or loading global stores. */
  #starting: Promise<void> | undefined;
  #stopping = false;
  #lastCommit = 0;
  #clientId = '';
  #transactionalId = '';
  // metrics
  readonly #closedTaskTotals = emptyTaskMetrics();
  #commits = 0;
  #commitLatencyTotal = 0;
  #commitLatencyMax = 0;
  #produced = 0;
  #productionErrors = 0;
  #rateWindowStart = performance.now();
  #rateWindowCount = 0;
  #processRate = 0;
  #lag: Record<string, number> = {};
  #lastLagCheck = 0;
  #restored = 0;
  #restoreRate = 0;
  #fatal: unknown;
  readonly #queries: InteractiveQueries;

  constructor(topology: Topology, config: StreamsConfig, options: KafkaStreamsOptions = {}) {
    validateConfig(config);
    this.#topology = topology;
    this.#config = config;
    this.#eos = config.processingGuarantee === 'exactly_once_v2';
    this.#commitIntervalMs = config.commitIntervalMs ?? (this.#eos ? 100 : 30_000);
    this.#errors = resolveErrorHandling(config);
    this.#clients =
      options.clientFactory ??
      createPlatformaticClientFactory({
        bootstrapServers: bootstrapList(config.bootstrapServers),
        clientId: config.clientId ?? config.applicationId,
      });
    if (topology.subtopologies().length === 0)
      throw new ConfigException(
        'The topology is empty: add at least one source (builder.stream or builder.table) before starting',
      );
    this.#queries = new InteractiveQueries({
      applicationId: config.applicationId,
      topology,
      applicationServer: config.applicationServer,
      defaultKeySerde: config.defaultKeySerde,
      state: () => this.#state,
      activeTasks: () => this.activeTasks(),
      plan: () => this.#plan,
      admin: () => this.#admin,
      onStateChange: (listener) => this.onStateChange(listener),
    });
  }

  get state(): StreamsState {
    return this.#state;
  }

  /** The error that stopped the instance, when its state is ERROR. */
  get error(): unknown {
    return this.#fatal;
  }

  onStateChange(listener: StateListener): this {
    this.#stateListeners.push(listener);
    return this;
  }

  /** Kafka Streams' name for `onStateChange`. */
  setStateListener(listener: StateListener): this {
    return this.onStateChange(listener);
  }

  setUncaughtExceptionHandler(handler: UncaughtExceptionHandler): this {
    this.#uncaught = handler;
    return this;
  }

  setRestoreListener(listener: RestoreListener): this {
    this.#restoreListener = listener;
    return this;
  }

  /**
   * Checks the topics, creates the internal ones, and starts processing. Resolves once the
   * stream thread runs (state REBALANCING); `waitForRunning()` waits for the first assignment.
   * Rejects, having started nothing, when `close()` is called before it gets that far.
   */
  async start(): Promise<void> {
    if (this.#state !== 'CREATED')
      throw new StreamsException(
        `start() was called in state ${this.#state}: a KafkaStreams instance starts once; create a new one`,
      );
    const starting = this.#start();
    this.#starting = starting;
    try {
      await starting;
    } finally {
      this.#starting = undefined;
    }
  }

  async #start(): Promise<void> {
    const cfg = this.#config;
    this.#admin = this.#clients.admin();
    try {
      const dlt = this.#usesDeadLetters() ? this.#errors.deadLetter.topic : undefined;
      this.#plan = await planTopics(this.#topology, this.#admin, {
        applicationId: cfg.applicationId,
        replicationFactor: cfg.replicationFactor ?? 1,
        deadLetterTopic: dlt,
      });
      await this.#createInternalTopics(this.#plan);
    } catch (error) {
      await this.#admin.close().catch(() => {});
      this.#setState('PENDING_ERROR');
      this.#fatal = error;
      this.#setState('ERROR');
      throw error;
    }
    if (this.#state !== 'CREATED') await this.#abandonStart();
    this.#stateDirectory = new StateDirectory(
      cfg.stateDir ?? join(tmpdir(), 'kafka-pattern'),
      cfg.applicationId,
    );
    const pid = processId(this.#stateDirectory.appDir);
    this.#clientId = `${cfg.clientId ?? cfg.applicationId}-${pid}`;
    this.#transactionalId = `${cfg.applicationId}-${pid}-1`;
    this.#setState('REBALANCING');
    if (this.#topology.globalStores().length > 0) {
      // Global tables are complete before any task reads them.
      this.#globals = new GlobalStateManager({
        applicationId: cfg.applicationId,
        topology: this.#topology,
        stateDirectory: this.#stateDirectory,
        clients: this.#clients,
        admin: this.#admin,
        isolationLevel: this.#eos ? 'read_committed' : 'read_uncommitted',
        clientId: this.#clientId,
        defaultKeySerde: cfg.defaultKeySerde,
        defaultValueSerde: cfg.defaultValueSerde,
        defaultTimestampExtractor: cfg.defaultTimestampExtractor,
      });
      try {
        await this.#globals.start();
      } catch (error) {
        await this.#globals.close().catch(() => {});
        await this.#admin.close().catch(() => {});
        this.#fatal = error;
        this.#setState('PENDING_ERROR');
        this.#setState('ERROR');
        throw error;
      }
    }
    if (this.#stopping) await this.#abandonStart();
    this.#loop = this.#run();
  }

  /** close() was called while start() waited on the cluster: let go of what it opened, and say so. */
  async #abandonStart(): Promise<never> {
    await this.#releaseInstance();
    this.#setState('NOT_RUNNING');
    throw new StreamsException(
      `"${this.#config.applicationId}" was closed while it was starting: it did not start`,
    );
  }

  /** Resolves when the instance is RUNNING (tasks assigned and restored); rejects on ERROR or timeout. */
  waitForRunning(timeoutMs = 60_000): Promise<void> {
    if (this.#state === 'RUNNING') return Promise.resolve();
    const stopped = (s: StreamsState) =>
      this.#fatal ??
      new StreamsException(`"${this.#config.applicationId}" stopped (state ${s}) before it was running`);
    // Already stopped: it will never run, so say why now rather than after the timeout.
    if (this.#state === 'ERROR' || this.#state === 'NOT_RUNNING') return Promise.reject(stopped(this.#state));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new StreamsException(
              `"${this.#config.applicationId}" did not reach RUNNING within ${timeoutMs} ms (state ${this.#state})`,
            ),
          ),
        timeoutMs,
      );
      this.onStateChange((s) => {
        if (s === 'RUNNING') {
          clearTimeout(timer);
          resolve();
        } else if (s === 'ERROR' || s === 'NOT_RUNNING') {
          clearTimeout(timer);
          reject(stopped(s));
        }
      });
    });
  }

  /** Stops processing: commits what was processed, closes the tasks and leaves the group. */
  async close(): Promise<void> {
    if (this.#state === 'NOT_RUNNING' || this.#state === 'ERROR') return;
    if (this.#state === 'CREATED') {
      this.#setState('PENDING_SHUTDOWN');
      this.#setState('NOT_RUNNING');
      // A start() in flight gives up at its next step; wait until it has let go of its clients.
      await this.#starting?.catch(() => {});
      return;
    }
    this.#stopping = true;
    if (this.#state !== 'PENDING_SHUTDOWN' && this.#state !== 'PENDING_ERROR')
      this.#setState('PENDING_SHUTDOWN');
    await this.#starting?.catch(() => {});
    await this.#loop;
  }

  metrics(): StreamsMetrics {
    const tasks: StreamsMetrics['tasks'] = {};
    const totals = emptyTaskMetrics();
    addTaskMetrics(totals, this.#closedTaskTotals);
    for (const t of this.#tasks?.tasks.values() ?? []) {
      tasks[t.id] = { ...t.task.metrics };
      addTaskMetrics(totals, t.task.metrics);
    }
    return {
      applicationId: this.#config.applicationId,
      state: this.#state,
      tasks,
      totals,
      processRate: this.#processRate,
      commits: this.#commits,
      commitLatencyAvgMs: this.#commits ? this.#commitLatencyTotal / this.#commits : 0,
      commitLatencyMaxMs: this.#commitLatencyMax,
      consumerLag: { ...this.#lag },
      totalLag: Object.values(this.#lag).reduce((a, b) => a + b, 0),
      restoredRecords: this.#restored,
      standbyRecords: this.#standbys?.appliedRecords ?? 0,
      restoreRatePerSec: this.#restoreRate,
      producedRecords: this.#produced,
      productionErrors: this.#productionErrors,
    };
  }

  /** Metrics in Prometheus text format, for a /metrics endpoint. */
  metricsText(): string {
    return toPrometheus(this.metrics());
  }

  /** Topics the application created for itself: repartition, changelog and dead-letter topics. */
  internalTopicNames(): string[] {
    return this.#plan?.internalTopics.map((t) => t.name) ?? [];
  }

  /** Ids of the standby tasks this instance keeps warm. */
  standbyTaskIds(): string[] {
    return this.#standbys?.taskIds() ?? [];
  }

  /** Ids of the tasks this instance runs now. */
  activeTaskIds(): string[] {
    return [...(this.#tasks?.tasks.keys() ?? [])].sort();
  }

  /** @internal the running task objects, for interactive queries */
  activeTasks(): ActiveTask[] {
    return [...(this.#tasks?.tasks.values() ?? [])];
  }

  /**
   * Read-only view of a store across the tasks this instance runs (interactive queries). `get`
   * and key lookups answer for keys whose partition is local, `undefined` (or nothing) for the
   * others: `queryMetadataForKey` says where those are. Throws `InvalidStateStoreException`
   * while the instance is not RUNNING.
   */
  store<K = any, V = any, T extends QueryableStoreType = 'keyValue'>(
    name: string,
    type?: T,
  ): QueryableStoreTypes<K, V>[T] {
    if (this.#topology.isGlobalStore(name)) {
      // A global store is complete on every instance: read it locally.
      const store = this.#globals?.stores.get(name);
      if (!store)
        throw new StreamsException(`Global store "${name}" is not open: the application is not running`);
      const kind = this.#topology.storeBuilder(name)!.spec.kind;
      return (
        kind === 'timestampedKeyValue'
          ? new PlainValueView(store as KeyValueStore<K, ValueAndTimestamp<V>>)
          : store
      ) as QueryableStoreTypes<K, V>[T];
    }
    return this.#queries.store<K, V, T>(name, type ?? ('keyValue' as T));
  }

  /** Which partition holds `key` in the store, and which instance (by its applicationServer) runs it. */
  queryMetadataForKey<K>(storeName: string, key: K, keySerde?: Serde<K>): Promise<KeyQueryMetadata> {
    return this.#queries.queryMetadataForKey(storeName, key, keySerde);
  }

  /** Every instance of the application with its applicationServer, partitions, tasks and stores. */
  allMetadata(): Promise<StreamsMetadata[]> {
    return this.#queries.allMetadata();
  }

  /** @internal interactive queries' machinery, for the query server */
  get interactiveQueries(): InteractiveQueries {
    return this.#queries;
  }

  /**
   * The standby tasks this instance should keep: instances in client-id order form a ring, and a
   * task's standbys are the `numStandbyReplicas` instances after its owner. Undefined (keep every
   * task not run here) when there are too few instances to choose or the group cannot be read.
   */
  async #standbyPlacement(): Promise<Set<string> | undefined> {
    const replicas = this.#config.numStandbyReplicas ?? 0;
    try {
      const members = [...(await this.#queries.allMetadata())].sort((a, b) =>
        a.clientId.localeCompare(b.clientId),
      );
      const self = members.findIndex((m) => m.local);
      if (self < 0 || members.length - 1 <= replicas) return undefined;
      const wanted = new Set<string>();
      members.forEach((m, owner) => {
        const distance = (self - owner + members.length) % members.length;
        if (distance >= 1 && distance <= replicas) for (const t of m.tasks) wanted.add(t);
      });
      return wanted;
    } catch (error) {
      console.warn(
        `[kafka-pattern] standby placement falls back to every task not run here: ${errorMessage(error)}`,
      );
      return undefined;
    }
  }

  #usesDeadLetters(): boolean {
    const c = this.#config;
    const viaDlt = (h: StreamsConfig['processingExceptionHandler']) =>
      h === undefined || h === 'dead-letter' || typeof h === 'function';
    return viaDlt(c.processingExceptionHandler) || viaDlt(c.deserializationExceptionHandler);
  }

  async #createInternalTopics(plan: TopicPlan): Promise<void> {
    const admin = this.#admin!;
    const existing = await admin.describeTopics(plan.internalTopics.map((t) => t.name));
    const toCreate = plan.internalTopics.filter((t) => {
      const e = existing.get(t.name);
      if (e === undefined) return true;
      // An existing dead-letter topic keeps its own partition count; the original partition is used when it fits.
      plan.partitions.set(t.name, e.partitions);
      if (e.partitions !== t.partitions && !t.name.endsWith('-dlt')) {
        throw new StreamsException(
          `Internal topic "${t.name}" has ${e.partitions} partitions but the application needs ${t.partitions}: the input topics' partition counts changed. Reset the application (delete its internal topics and state) to continue`,
        );
      }
      return false;
    });
    if (toCreate.length > 0) await admin.createTopics(toCreate);
  }

  #setState(next: StreamsState): void {
    const prev = this.#state;
    if (prev === next && next !== 'REBALANCING') return;
    if (prev !== next && !TRANSITIONS[prev].includes(next)) return;
    this.#state = next;
    for (const l of this.#stateListeners) {
      try {
        l(next, prev);
      } catch (e) {
        console.warn(`[kafka-pattern] state listener failed: ${errorMessage(e)}`);
      }
    }
  }

  #openClients(): void {
    const cfg = this.#config;
    const plan = this.#plan!;
    const client = (cfg.client ?? {}) as Record<string, number | undefined>;
    this.#buffer = new RecordBuffer(plan.partitions);
    this.#producer = this.#clients.producer({
      clientId: `${this.#clientId}-producer`,
      idempotent: true,
      ...(this.#eos
        ? {
            transactionalId: this.#transactionalId,
            transactionTimeoutMs: client.transactionTimeoutMs ?? 10_000,
          }
        : {}),
    });
    const topics = [...new Set([...plan.sourceTopics.values()].flat())];
    this.#consumer = this.#clients.consumer({
      groupId: cfg.applicationId,
      clientId: `${this.#clientId}-consumer`,
      topics,
      isolationLevel: this.#eos ? 'read_committed' : 'read_uncommitted',
      // Every sub-topology's inputs are read together by its tasks: partition N of each on one member.
      copartitionGroups: [...plan.sourceTopics.values()].filter((g) => g.length > 1),
      autoOffsetReset: 'earliest',
      sessionTimeoutMs: client.sessionTimeoutMs ?? 10_000,
      heartbeatIntervalMs: client.heartbeatIntervalMs ?? 1_000,
      rebalanceTimeoutMs: client.rebalanceTimeoutMs ?? 30_000,
      maxWaitMs: client.maxWaitMs ?? 200,
      // Tells the other instances where this one answers interactive queries.
      userData: this.#queries.subscriptionUserData(),
    });
    this.#tasks = new TaskManager({
      applicationId: cfg.applicationId,
      topology: this.#topology,
      plan,
      stateDirectory: this.#stateDirectory!,
      buffer: this.#buffer,
      clients: this.#clients,
      admin: this.#admin!,
      isolationLevel: this.#eos ? 'read_committed' : 'read_uncommitted',
      clientId: this.#clientId,
      errors: this.#errors,
      defaultKeySerde: cfg.defaultKeySerde,
      defaultValueSerde: cfg.defaultValueSerde,
      defaultTimestampExtractor: cfg.defaultTimestampExtractor,
      cacheMaxBytes: cfg.cacheMaxBytes ?? 1024 * 1024,
      ...(this.#globals ? { globalStores: this.#globals.stores } : {}),
      onRestore: (p) => {
        this.#restored += p.restored;
        this.#restoreListener?.onRestoreEnd?.(p);
      },
      onRestoreBatch: (records, durationMs) => {
        if (durationMs > 0) this.#restoreRate = (records / durationMs) * 1000;
      },
    });
    if ((cfg.numStandbyReplicas ?? 0) > 0) {
      this.#standbys ??= new StandbyManager({
        applicationId: cfg.applicationId,
        topology: this.#topology,
        plan,
        stateDirectory: this.#stateDirectory!,
        clients: this.#clients,
        admin: this.#admin!,
        isolationLevel: this.#eos ? 'read_committed' : 'read_uncommitted',
        clientId: this.#clientId,
      });
    }
    this.#consumer.onRebalance({
      revoked: async () => {
        this.#setState('REBALANCING');
        await this.#closeTasks(false);
      },
      assigned: async (partitions) => {
        const standbys = this.#standbys;
        if (standbys) {
          // A standby becoming active hands its state directory over with a fresh checkpoint.
          const incoming = new Set(
            partitions.map((tp) => `${plan.subtopologyOfTopic.get(tp.topic)}_${tp.partition}`),
          );
          await standbys.release(incoming);
        }
        await this.#tasks!.assign(partitions);
        if (standbys) {
          const active = new Set(this.#tasks!.tasks.keys());
          await standbys.update(active, await this.#standbyPlacement());
        }
        this.#lastCommit = performance.now();
        this.#setState('RUNNING');
      },
    });
  }

  async #run(): Promise<void> {
    for (;;) {
      try {
        this.#openClients();
        if (this.#eos) {
          // Registering the transactional id first fences an earlier incarnation and aborts the
          // transaction it left open, so the committed offsets this instance is about to read are
          // not held back until that transaction times out.
          this.#transaction = await this.#producer!.beginTransaction();
        }
        await this.#process();
        await this.#shutdown(true);
        this.#setState('NOT_RUNNING');
        return;
      } catch (error) {
        await this.#shutdown(false).catch(() => {});
        if (this.#stopping) {
          this.#setState('NOT_RUNNING');
          return;
        }
        if (error instanceof ProducerFencedError || error instanceof RebalanceError) {
          // The tasks moved to another member or the transaction was aborted under us: nothing of
          // the open work became visible. Rejoin with fresh clients; no user decision is needed.
          console.warn(
            `[kafka-pattern] "${this.#config.applicationId}" rejoins the group: ${errorMessage(error)}`,
          );
          this.#setState('REBALANCING');
          continue;
        }
        let response: UncaughtExceptionResponse = 'SHUTDOWN_CLIENT';
        try {
          response = this.#uncaught(error);
        } catch (e) {
          console.warn(`[kafka-pattern] uncaught exception handler failed: ${errorMessage(e)}`);
        }
        if (response === 'REPLACE_THREAD') {
          console.warn(
            `[kafka-pattern] "${this.#config.applicationId}" replaces its stream thread after: ${errorMessage(error)}`,
          );
          this.#setState('REBALANCING');
          continue;
        }
        this.#fatal = error;
        this.#setState('PENDING_ERROR');
        // close() does nothing in ERROR: release now what outlives the stream thread.
        await this.#releaseInstance();
        this.#setState('ERROR');
        return;
      }
    }
  }

  async #process(): Promise<void> {
    const consumer = this.#consumer!;
    const tasks = this.#tasks!;
    const buffer = this.#buffer!;
    while (!this.#stopping) {
      const records = await consumer.poll();
      if (this.#stopping && records.length === 0) break;
      if (records.length > 0) this.#processBatch(records, tasks);
      const now = Date.now();
      for (const t of tasks.tasks.values()) t.task.punctuateWallClock(now);
      const idleAfter = this.#config.advanceIdleStreamTimeAfterMs;
      if (idleAfter !== undefined) {
        for (const t of tasks.tasks.values()) {
          if (now - t.lastRecordAt >= idleAfter) t.task.advanceStreamTime(now - idleAfter);
        }
      }
      if (buffer.size > 0) await this.#send(buffer.drain());
      let commitRequested = false;
      for (const t of tasks.tasks.values()) if (t.task.takeCommitRequest()) commitRequested = true;
      if (commitRequested || performance.now() - this.#lastCommit >= this.#commitIntervalMs)
        await this.#commit();
      this.#measure(records.length);
    }
    // A clean close commits what was processed.
    if (buffer.size > 0) await this.#send(buffer.drain());
    await this.#commit();
  }

  /**
   * Runs a batch through the tasks, a partition's records at a time; a task reading several
   * partitions takes their records in timestamp order. Offsets and activity are noted once per
   * partition, not per record.
   */
  #processBatch(records: ConsumedRecord[], tasks: TaskManager): void {
    const byTask = new Map<ActiveTask, Array<[string, ConsumedRecord[]]>>();
    for (const entry of groupByPartition(records)) {
      const first = entry[1][0]!;
      const t = tasks.taskFor(first.topic, first.partition);
      if (!t) continue; // a partition revoked while its records were in flight
      let queues = byTask.get(t);
      if (!queues) {
        queues = [];
        byTask.set(t, queues);
      }
      queues.push(entry);
    }
    for (const [t, queues] of byTask) {
      if (queues.length === 1) {
        for (const r of queues[0]![1]) processRecord(t, r);
      } else {
        const qs = queues.map(([, q]) => q);
        const heads = qs.map(() => 0);
        for (;;) {
          let best = -1;
          for (let i = 0; i < qs.length; i++) {
            const r = qs[i]![heads[i]!];
            if (r && (best < 0 || r.timestamp < qs[best]![heads[best]!]!.timestamp)) best = i;
          }
          if (best < 0) break;
          processRecord(t, qs[best]![heads[best]!++]!);
        }
      }
      for (const [key, q] of queues) t.consumed.set(key, q[q.length - 1]!.offset + 1n);
      t.lastRecordAt = Date.now();
    }
  }

  async #send(records: ProducedRecord[]): Promise<void> {
    let metadata: RecordMetadata[];
    if (this.#eos) {
      this.#transaction ??= await this.#producer!.beginTransaction();
      this.#transactionDirty = true;
      metadata = await this.#transaction.send(records);
    } else {
      try {
        metadata = await this.#producer!.send(records);
      } catch (error) {
        const choice = this.#config.productionExceptionHandler ?? 'fail';
        const decision = typeof choice === 'function' ? choice(error, records.length) : choice;
        if (decision !== 'continue') {
          throw new StreamsException(`Producing ${records.length} records failed: ${errorMessage(error)}`, {
            cause: error,
          });
        }
        this.#productionErrors += records.length;
        console.warn(
          `[kafka-pattern] dropped ${records.length} records the broker refused: ${errorMessage(error)}`,
        );
        return;
      }
    }
    this.#produced += records.length;
    const tasks = this.#tasks!;
    for (const m of metadata) tasks.recordChangelogOffset(m.topic, m.partition, m.offset);
  }

  async #commit(): Promise<void> {
    const started = performance.now();
    const tasks = this.#tasks!;
    // Folded updates leave the caches now, so they are produced with this commit.
    tasks.flushCaches();
    if (this.#buffer!.size > 0) await this.#send(this.#buffer!.drain());
    const offsets = tasks.consumedOffsets();
    if (this.#eos) {
      if (!this.#transactionDirty && offsets.length === 0) {
        this.#lastCommit = started;
        return;
      }
      try {
        this.#transaction ??= await this.#producer!.beginTransaction();
        this.#transactionDirty = true;
        if (offsets.length > 0) await this.#transaction.sendOffsets(this.#consumer!, offsets);
        tasks.prepareCheckpoints();
        await this.#transaction.commit();
        this.#transaction = undefined;
        this.#transactionDirty = false;
      } catch (error) {
        await this.#abort(error);
        return;
      }
      // Local state becomes durable only once Kafka has committed the same work.
      tasks.commitStores();
    } else {
      for (const t of tasks.tasks.values()) tasks.checkpoint(t);
      if (offsets.length > 0) {
        try {
          await this.#consumer!.commit(offsets);
        } catch (error) {
          if (!(error instanceof RebalanceError)) throw error;
          // The partitions moved on: their new owner reprocesses from the last commit.
        }
      }
    }
    tasks.clearConsumed();
    const latency = performance.now() - started;
    this.#commits++;
    this.#commitLatencyTotal += latency;
    this.#commitLatencyMax = Math.max(this.#commitLatencyMax, latency);
    this.#lastCommit = performance.now();
  }

  /**
   * Exactly-once: the transaction failed (group moved on, producer fenced, broker error). Nothing
   * of it becomes visible; local state rolls back with it and the tasks start again from what
   * Kafka committed.
   */
  async #abort(cause: unknown): Promise<void> {
    this.#buffer!.clear();
    await this.#discardTransaction();
    if (cause instanceof ProducerFencedError) throw cause;
    if (!(cause instanceof RebalanceError)) throw cause;
    const assignment = this.#consumer!.assignment();
    await this.#closeTasks(false);
    if (!this.#stopping && assignment.length > 0) {
      const committed = await this.#consumer!.committed(assignment);
      await this.#tasks!.assign(assignment);
      this.#consumer!.seek(
        assignment
          .filter((tp) => committed.has(`${tp.topic}:${tp.partition}`))
          .map((tp) => ({ ...tp, offset: committed.get(`${tp.topic}:${tp.partition}`)! })),
      );
    }
  }

  /**
   * Aborts the open transaction if anything went into it. An empty one stays open: it exists
   * only in the client, and the producer allows one open transaction at a time.
   */
  async #discardTransaction(): Promise<void> {
    const tx = this.#transaction;
    if (!tx || !this.#transactionDirty) return;
    this.#transaction = undefined;
    this.#transactionDirty = false;
    await tx.abort().catch(() => {});
  }

  async #closeTasks(clean: boolean): Promise<void> {
    const tasks = this.#tasks;
    if (!tasks || tasks.tasks.size === 0) return;
    if (this.#eos) {
      this.#buffer!.clear();
      await this.#discardTransaction();
    } else {
      tasks.flushCaches();
      if (this.#buffer!.size > 0) await this.#send(this.#buffer!.drain());
      for (const t of tasks.tasks.values()) tasks.checkpoint(t);
    }
    for (const t of tasks.tasks.values()) addTaskMetrics(this.#closedTaskTotals, t.task.metrics);
    tasks.closeAll(clean || !this.#eos);
  }

  async #shutdown(clean: boolean): Promise<void> {
    const tasks = this.#tasks;
    if (tasks) {
      if (this.#eos) await this.#discardTransaction();
      for (const t of tasks.tasks.values()) addTaskMetrics(this.#closedTaskTotals, t.task.metrics);
      tasks.closeAll(clean);
    }
    this.#tasks = undefined;
    await this.#consumer?.close().catch(() => {});
    await this.#producer?.close().catch(() => {});
    this.#consumer = undefined;
    this.#producer = undefined;
    if (this.#state === 'PENDING_SHUTDOWN' || this.#stopping) await this.#releaseInstance();
  }

  /** Standby replicas, global stores, the admin client and the state directory's locks. */
  async #releaseInstance(): Promise<void> {
    await this.#standbys?.close().catch(() => {});
    this.#standbys = undefined;
    await this.#globals?.close().catch(() => {});
    this.#globals = undefined;
    await this.#admin?.close().catch(() => {});
    this.#stateDirectory?.close();
  }

  #measure(processed: number): void {
    this.#rateWindowCount += processed;
    const now = performance.now();
    const elapsed = now - this.#rateWindowStart;
    if (elapsed >= 1_000) {
      this.#processRate = (this.#rateWindowCount / elapsed) * 1_000;
      this.#rateWindowCount = 0;
      this.#rateWindowStart = now;
    }
    if (now - this.#lastLagCheck >= 5_000) {
      this.#lastLagCheck = now;
      void this.#checkLag();
    }
  }

  async #checkLag(): Promise<void> {
    const consumer = this.#consumer;
    const admin = this.#admin;
    const tasks = this.#tasks;
    if (!consumer || !admin || !tasks) return;
    const assignment = consumer.assignment();
    if (assignment.length === 0) return;
    try {
      const [ends, committed] = await Promise.all([
        admin.listOffsets(assignment, 'latest', this.#eos ? 'read_committed' : 'read_uncommitted'),
        consumer.committed(assignment),
      ]);
      const lag: Record<string, number> = {};
      for (const tp of assignment) {
        const k = `${tp.topic}:${tp.partition}`;
        const position = tasks.taskFor(tp.topic, tp.partition)?.consumed.get(k) ?? committed.get(k) ?? 0n;
        const end = ends.get(k) ?? 0n;
        lag[k] = Number(end > position ? end - position : 0n);
      }
      this.#lag = lag;
    } catch {
      // lag is informational; the next check tries again
    }
  }
}

function processRecord(t: ActiveTask, r: ConsumedRecord): void {
  t.task.process({
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key,
    value: r.value,
    headers: Headers.wrap(r.headers as Array<readonly [string, Buffer]>),
  });
}
