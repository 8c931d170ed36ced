/**
 * KafkaStreams: runs a topology against a Kafka cluster. This facade owns the configuration, the
 * lifecycle (start, close, the state machine and its listeners) and what lives as long as the
 * instance: the admin client, the state directory, global stores and interactive queries. The
 * work itself is the stream threads' (`stream-thread.ts`); producing and committing under each
 * guarantee is `streams-producer.ts`'s.
 *
 * With `numStreamThreads` N > 1, stream thread 1 runs here, on the main event loop, and threads
 * 2..N in worker threads (`worker-stream-thread.ts`). Thread 1 stays here so that one thread is
 * exactly what it always was, and so that the tasks it runs stay open to interactive queries'
 * machinery and to global stores' neighbours; each extra thread adds a core.
 */
import type { StateDirectory } from '@kafka-pattern/state-store';
import type { AdminPort, KafkaClientFactory } from '../client/port.ts';
import {
  ConfigException,
  type ResolvedErrorHandling,
  resolveErrorHandling,
  type StreamsConfig,
  usesDeadLetters,
  validateConfig,
} from '../config/streams-config.ts';
import { errorMessage, StreamsException } from '../errors/exception-handlers.ts';
import { consoleLogger, type Logger } from '../observability/logger.ts';
import { InteractiveQueries } from '../query/interactive-queries.ts';
import type { KeyQueryMetadata, StreamsMetadata } from '../query/metadata.ts';
import type { RecordPosition } from '../query/positions.ts';
import type { QueryableStoreType, QueryableStoreTypes } from '../query/store-views.ts';
import type { Serde } from '../serdes/serde.ts';
import type { Topology } from '../topology/topology.ts';
import { type TopologyGraph, topologyGraph } from '../topology/topology-graph.ts';
import { defaultClientFactory } from './client-factory.ts';
import { GlobalStateManager } from './global-state-manager.ts';
import { createInternalTopics, planTopics, type TopicPlan } from './internal-topics.ts';
import { mergeThreadMetrics, type StreamsMetrics, toPrometheus } from './metrics.ts';
import { openStateDirectory } from './process-id.ts';
import { StreamThread, type UncaughtExceptionHandler } from './stream-thread.ts';
import { type StateListener, type StreamsState, StreamsStateMachine } from './streams-state.ts';
import type { TaskId } from './task-id.ts';
import type { ActiveTask, RestoreProgress } from './task-manager.ts';
import { ThreadMetrics } from './thread-metrics.ts';
import { ThreadStates } from './thread-states.ts';
import { type WorkerThreadsSetup, workerThreadsSetup } from './worker-config.ts';
import { WorkerStreamThread } from './worker-stream-thread.ts';

export type { UncaughtExceptionHandler, UncaughtExceptionResponse } from './stream-thread.ts';
export type { StateListener, StreamsState } from './streams-state.ts';

export interface RestoreListener {
  onRestoreEnd?(progress: RestoreProgress): void;
}

export interface KafkaStreamsOptions {
  /** A client other than @platformatic/kafka behind the same port (Kafka Streams' KafkaClientSupplier). */
  clientFactory?: KafkaClientFactory;
  /**
   * With `numStreamThreads > 1`, the module each worker thread builds the topology from: a URL
   * (`new URL('./topology.ts', import.meta.url)`) or a path, whose default export is a function
   * returning the Topology (`TopologyFactory`). It is called with `topologyArgs`; what it builds
   * must describe the same graph as the topology given to KafkaStreams.
   */
  topologyModule?: URL | string;
  /** Arguments of the topology module's function, copied into each worker: plain data only. */
  topologyArgs?: readonly unknown[];
}

export class KafkaStreams {
  readonly #topology: TopologyGraph;
  readonly #config: StreamsConfig;
  readonly #errors: ResolvedErrorHandling;
  readonly #clients: KafkaClientFactory;
  readonly #logger: Logger;
  readonly #state: StreamsStateMachine;
  readonly #metrics = new ThreadMetrics();
  readonly #queries: InteractiveQueries;
  #uncaught: UncaughtExceptionHandler = () => 'SHUTDOWN_CLIENT';
  #restoreListener: RestoreListener | undefined;
  #admin: AdminPort | undefined;
  #plan: TopicPlan | undefined;
  #stateDirectory: StateDirectory | undefined;
  #globals: GlobalStateManager | undefined;
  #thread: StreamThread | undefined;
  /** Stream threads 2..N, when numStreamThreads > 1. */
  #workerThreads: WorkerStreamThread[] = [];
  readonly #workerSetup: WorkerThreadsSetup | undefined;
  readonly #description: string;
  #running: Promise<void> | undefined;
  /** A start() still checking topics or loading global stores. */
  #starting: Promise<void> | undefined;
  #fatal: unknown;

  constructor(topology: Topology, config: StreamsConfig, options: KafkaStreamsOptions = {}) {
    validateConfig(config);
    this.#topology = topologyGraph(topology);
    this.#config = config;
    this.#logger = config.logger ?? consoleLogger;
    this.#state = new StreamsStateMachine(this.#logger);
    this.#errors = resolveErrorHandling(config);
    this.#clients = options.clientFactory ?? defaultClientFactory(config);
    if (this.#topology.subtopologies().length === 0)
      throw new ConfigException(
        'The topology is empty: add at least one source (builder.stream or builder.table) before starting',
      );
    this.#workerSetup = workerThreadsSetup(config, this.#topology, options);
    this.#description = this.#workerSetup ? topology.describe().toString() : '';
    this.#queries = new InteractiveQueries({
      applicationId: config.applicationId,
      topology,
      applicationServer: config.applicationServer,
      defaultKeySerde: config.defaultKeySerde,
      logger: this.#logger,
      state: () => this.#state.state,
      activeTasks: () => this.activeTasks(),
      plan: () => this.#plan,
      admin: () => this.#admin,
      globalStores: () => this.#globals?.stores,
      streamThreads: config.numStreamThreads ?? 1,
      onStateChange: (listener) => this.onStateChange(listener),
    });
  }

  get state(): StreamsState {
    return this.#state.state;
  }

  /** The error that stopped the instance, when its state is ERROR. */
  get error(): unknown {
    return this.#fatal;
  }

  onStateChange(listener: StateListener): this {
    this.#state.onChange(listener);
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
    if (this.#state.state !== 'CREATED')
      throw new StreamsException(
        `start() was called in state ${this.#state.state}: a KafkaStreams instance starts once; create a new one`,
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
    const eos = cfg.processingGuarantee === 'exactly_once_v2';
    const admin = this.#clients.admin();
    this.#admin = admin;
    try {
      this.#plan = await planTopics(this.#topology, admin, {
        applicationId: cfg.applicationId,
        replicationFactor: cfg.replicationFactor === -1 ? undefined : cfg.replicationFactor,
        deadLetterTopic: usesDeadLetters(cfg) ? this.#errors.deadLetter.topic : undefined,
      });
      await createInternalTopics(this.#plan, admin);
    } catch (error) {
      await admin.close().catch(() => {});
      this.#fail(error);
      throw error;
    }
    if (this.#state.state !== 'CREATED') await this.#abandonStart();
    let stateDirectory: StateDirectory;
    let pid: string;
    try {
      ({ directory: stateDirectory, pid } = openStateDirectory(cfg.stateDir, cfg.applicationId));
    } catch (error) {
      await admin.close().catch(() => {});
      this.#fail(error);
      throw error;
    }
    this.#stateDirectory = stateDirectory;
    const clientId = `${cfg.clientId ?? cfg.applicationId}-${pid}`;
    this.#state.transition('REBALANCING');
    if (this.#topology.globalStores().length > 0) {
      // Global tables are complete before any task reads them.
      this.#globals = new GlobalStateManager({
        applicationId: cfg.applicationId,
        topology: this.#topology,
        stateDirectory,
        clients: this.#clients,
        admin,
        isolationLevel: eos ? 'read_committed' : 'read_uncommitted',
        clientId,
        logger: this.#logger,
        defaultKeySerde: cfg.defaultKeySerde,
        defaultValueSerde: cfg.defaultValueSerde,
        defaultTimestampExtractor: cfg.defaultTimestampExtractor,
      });
      try {
        await this.#globals.start();
      } catch (error) {
        await this.#closeResources();
        this.#fail(error);
        throw error;
      }
      if (this.#state.state !== 'REBALANCING') await this.#abandonStart();
    }
    const workers = this.#workerSetup;
    const states = workers ? new ThreadStates(this.#state, workers.threads) : undefined;
    const onFatal = (error: unknown): void => {
      if (this.#fatal === undefined) this.#fatal = error;
      this.#state.transition('PENDING_ERROR');
      // One thread failing for good stops the instance: the others finish as on close().
      this.#thread?.stop();
      for (const w of this.#workerThreads) w.stop();
    };
    // Several threads process nothing until every one of them has its first assignment.
    let held = workers !== undefined;
    if (held)
      this.#state.onChange((next) => {
        if (next !== 'RUNNING' || !held) return;
        held = false;
        for (const w of this.#workerThreads) w.release();
      });
    const thread = new StreamThread({
      config: cfg,
      topology: this.#topology,
      plan: this.#plan,
      stateDirectory,
      clients: this.#clients,
      admin,
      errors: this.#errors,
      state: states?.thread(0) ?? this.#state,
      metrics: this.#metrics,
      logger: this.#logger,
      // Kafka Streams names each thread's clients `<clientId>-StreamThread-<n>`; one thread keeps its plain name.
      clientId: workers ? `${clientId}-StreamThread-1` : clientId,
      transactionalId: `${cfg.applicationId}-${pid}-1`,
      globals: this.#globals,
      userData: this.#queries.subscriptionUserData(),
      members: async () => await this.#queries.allMetadata(),
      uncaughtExceptionHandler: () => this.#uncaught,
      onRestore: (p) => this.#restoreListener?.onRestoreEnd?.(p),
      onProcessed: () => this.#queries.positions.advanced(),
      onFatal,
      ...(workers ? { holdProcessing: () => held } : {}),
    });
    this.#thread = thread;
    this.#metrics.standbyRecords = () => thread.standbyRecords;
    const plan = this.#plan;
    const userData = this.#queries.subscriptionUserData();
    this.#workerThreads = [];
    for (let n = 2; workers && n <= workers.threads; n++) {
      this.#workerThreads.push(
        new WorkerStreamThread({
          data: {
            threadNumber: n,
            topologyModule: workers.topologyModule,
            topologyArgs: workers.topologyArgs,
            description: this.#description,
            config: workers.config,
            plan,
            clientId: `${clientId}-StreamThread-${n}`,
            transactionalId: `${cfg.applicationId}-${pid}-${n}`,
            userData: new Uint8Array(userData),
            held: true,
          },
          state: states!.thread(n - 1),
          logger: this.#logger,
          uncaughtExceptionHandler: () => this.#uncaught,
          onRestore: (p) => this.#restoreListener?.onRestoreEnd?.(p),
          onFatal,
          onExit: (workerThreadId) => stateDirectory.releaseThreadLocks(workerThreadId),
        }),
      );
    }
    const running = this.#workerThreads.map((w) => w.run());
    // The threads join the group together, rather than thread 1 taking every task first and
    // handing half of them over a moment later, once the workers have loaded their topology.
    await Promise.all(this.#workerThreads.map((w) => w.ready));
    const threads = [thread.run(), ...running];
    // ERROR is told once everything is released, so a listener can start a replacement at once.
    this.#running = Promise.all(threads).then(async () => {
      await this.#closeResources();
      if (this.#state.state === 'PENDING_ERROR') this.#state.transition('ERROR');
      // One thread tells NOT_RUNNING itself as it ends; several tell it once all have ended.
      else if (this.#state.state === 'PENDING_SHUTDOWN') this.#state.transition('NOT_RUNNING');
    });
  }

  /** close() was called while start() waited on the cluster: let go of what it opened, and say so. */
  async #abandonStart(): Promise<never> {
    await this.#closeResources();
    this.#state.transition('PENDING_SHUTDOWN');
    this.#state.transition('NOT_RUNNING');
    throw new StreamsException(
      `"${this.#config.applicationId}" was closed while it was starting: it did not start`,
    );
  }

  /** Resolves when the instance is RUNNING (tasks assigned and restored); rejects on ERROR or timeout. */
  waitForRunning(timeoutMs = 60_000): Promise<void> {
    return this.#state.waitForRunning(this.#config.applicationId, timeoutMs, () => this.#fatal);
  }

  /** Stops processing: commits what was processed, closes the tasks and leaves the group. */
  async close(): Promise<void> {
    const state = this.#state.state;
    if (state === 'NOT_RUNNING' || state === 'ERROR') return;
    if (state === 'CREATED') {
      this.#state.transition('PENDING_SHUTDOWN');
      this.#state.transition('NOT_RUNNING');
      // A start() in flight gives up at its next step; wait until it has let go of its clients.
      await this.#starting?.catch(() => {});
      return;
    }
    this.#thread?.stop();
    for (const w of this.#workerThreads) w.stop();
    if (state !== 'PENDING_SHUTDOWN' && state !== 'PENDING_ERROR') this.#state.transition('PENDING_SHUTDOWN');
    await this.#starting?.catch(() => {});
    await this.#running;
  }

  /** Metrics of every stream thread, added up (a worker's as it last reported them, at most half a second ago). */
  metrics(): StreamsMetrics {
    const own = this.#metrics.snapshot(this.#config.applicationId, this.#state.state, this.activeTasks());
    if (this.#workerThreads.length === 0) return own;
    const reported = this.#workerThreads.flatMap((w) => (w.metrics ? [w.metrics] : []));
    return mergeThreadMetrics(this.#state.state, [own, ...reported]);
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
  standbyTaskIds(): TaskId[] {
    return this.#thread?.standbyTaskIds() ?? [];
  }

  /** Ids of the tasks this instance runs now, in all its stream threads. */
  activeTaskIds(): TaskId[] {
    return [
      ...this.activeTasks().map((t) => t.id),
      ...this.#workerThreads.flatMap((w) => w.activeTaskIds()),
    ].sort();
  }

  /** Ids of the tasks each stream thread runs now, thread 1 first. */
  threadTaskIds(): TaskId[][] {
    return [
      this.activeTasks()
        .map((t) => t.id)
        .sort(),
      ...this.#workerThreads.map((w) => [...w.activeTaskIds()].sort()),
    ];
  }

  /** @internal the running task objects of stream thread 1 (the main event loop's), for interactive queries */
  activeTasks(): ActiveTask[] {
    return this.#thread?.activeTasks() ?? [];
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

  /**
   * The next offset of an input partition that this instance has yet to process: its stores
   * reflect every record before it. Undefined when no task here reads the partition (ask the
   * instance `queryMetadataForKey` names) or while its task is being assigned.
   */
  processedOffset(topic: string, partition: number): bigint | undefined {
    return this.#queries.positions.offset(topic, partition);
  }

  /**
   * Read-your-writes: resolves true once this instance has processed the record at `position`
   * (the offset a producer got back for it), so that a read of the stores of that partition's
   * task sees it; false when `timeoutMs` passes first (the partition is behind, or not here).
   */
  waitForProcessed(position: RecordPosition, timeoutMs: number): Promise<boolean> {
    return this.#queries.positions.wait(position, timeoutMs);
  }

  /** @internal interactive queries' machinery, for the query server */
  get interactiveQueries(): InteractiveQueries {
    return this.#queries;
  }

  #fail(error: unknown): void {
    this.#fatal = error;
    this.#state.fail();
  }

  /** What lives as long as the instance, closed once its thread has ended. */
  async #closeResources(): Promise<void> {
    this.#errors.deadLetterLog.close();
    await this.#globals?.close().catch(() => {});
    this.#globals = undefined;
    await this.#admin?.close().catch(() => {});
    this.#stateDirectory?.close();
  }
}
