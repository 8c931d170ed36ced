/**
 * Global stores: every instance reads each global store's topic in full (all partitions, no
 * consumer group) into a local SQLite store, catches up before its tasks start, and then follows
 * the topic for as long as it runs. The topic is the store's changelog: the checkpoint of each
 * partition's offset is kept in the same database, so a restart reads only what is new.
 */
import { checkpointKey, type StateDirectory } from '@kafka-pattern/state-store';
import type { AdminPort, ConsumedRecord, IsolationLevel, KafkaClientFactory } from '../client/port.ts';
import { topicPartitionKey } from '../client/port.ts';
import { defaultDeadLetterConfig } from '../errors/dead-letter.ts';
import { errorMessage, logAndContinueHandler, StreamsException } from '../errors/exception-handlers.ts';
import type { Logger } from '../observability/logger.ts';
import { StreamTask } from '../processor/internals/stream-task.ts';
import type { Serde } from '../serdes/serde.ts';
import { TaskStores } from '../state/task-stores.ts';
import type { TimestampExtractor } from '../topology/extractors.ts';
import type { TopologyGraph } from '../topology/topology-graph.ts';
import { type ChangelogPartition, ChangelogReader, restoreStart } from './changelog-reader.ts';
import { openTaskDatabase } from './task-database.ts';

export interface GlobalStateManagerOptions {
  readonly applicationId: string;
  readonly topology: TopologyGraph;
  readonly stateDirectory: StateDirectory;
  readonly clients: KafkaClientFactory;
  readonly admin: AdminPort;
  readonly isolationLevel: IsolationLevel;
  readonly clientId: string;
  readonly logger: Logger;
  readonly defaultKeySerde: Serde<any> | undefined;
  readonly defaultValueSerde: Serde<any> | undefined;
  readonly defaultTimestampExtractor: TimestampExtractor | undefined;
}

const GLOBAL_TASK_DIR = 'global';
const CHECKPOINT_INTERVAL_MS = 1_000;

export class GlobalStateManager {
  /** Global stores by name, for the tasks' processors to read. */
  readonly stores = new Map<string, unknown>();
  readonly #options: GlobalStateManagerOptions;
  readonly #tasks = new Map<string, StreamTask>();
  readonly #positions = new Map<string, bigint>();
  #taskStores: TaskStores | undefined;
  #reader: ChangelogReader | undefined;
  #loop: Promise<void> | undefined;
  #closed = false;
  #lastCheckpoint = 0;
  /** Records read from global topics since start. */
  records = 0;

  constructor(options: GlobalStateManagerOptions) {
    this.#options = options;
  }

  get enabled(): boolean {
    return this.#options.topology.globalStores().length > 0;
  }

  /** Opens the global stores and reads their topics up to the current end; then keeps following them. */
  async start(): Promise<void> {
    const o = this.#options;
    const globals = o.topology.globalSubtopologies();
    if (globals.length === 0) return;
    const topics = globals.map((g) => g.sourceTopics[0]!.topic);
    const described = await o.admin.describeTopics(topics);
    const missing = topics.filter((t) => described.get(t) === undefined);
    if (missing.length > 0) {
      throw new StreamsException(
        `Global table topic ${missing.map((t) => `"${t}"`).join(', ')} does not exist: create it before starting "${o.applicationId}"`,
      );
    }
    o.stateDirectory.lock(GLOBAL_TASK_DIR);
    const stores = new TaskStores({
      applicationId: o.applicationId,
      taskId: GLOBAL_TASK_DIR,
      database: () => openTaskDatabase(o.stateDirectory.taskDir(GLOBAL_TASK_DIR), GLOBAL_TASK_DIR, o.logger),
    });
    this.#taskStores = stores;
    const refuse = (): void => {
      throw new StreamsException(
        'A global store processor cannot forward records: it only updates its store',
      );
    };
    const collector = {
      send: refuse,
      sendEncoding: refuse,
      partitionsFor: () => undefined,
    };
    for (const [i, sub] of globals.entries()) {
      const task = new StreamTask({
        applicationId: o.applicationId,
        taskId: `${GLOBAL_TASK_DIR}_${i}`,
        partition: -1,
        topology: o.topology,
        subtopology: sub,
        collector,
        storeContext: stores,
        defaultKeySerde: o.defaultKeySerde,
        defaultValueSerde: o.defaultValueSerde,
        defaultTimestampExtractor: o.defaultTimestampExtractor,
        // A bad record in a global topic is skipped with a warning: there is no task to dead-letter from.
        onDeserializationError: logAndContinueHandler,
        onProcessingError: logAndContinueHandler,
        deadLetter: defaultDeadLetterConfig,
        logger: o.logger,
        now: Date.now,
        resolveTopic: (t) => t,
      });
      task.initialize();
      this.#tasks.set(sub.sourceTopics[0]!.topic, task);
      for (const [name, store] of task.stores) this.stores.set(name, store);
    }
    const partitions = topics.flatMap((topic) =>
      Array.from({ length: described.get(topic)!.partitions }, (_, partition) => ({ topic, partition })),
    );
    const [earliest, latest] = await Promise.all([
      o.admin.listOffsets(partitions, 'earliest'),
      o.admin.listOffsets(partitions, 'latest', o.isolationLevel),
    ]);
    const checkpoint = stores.database!.readCheckpoint();
    const reader = new ChangelogReader(o.clients, {
      clientId: `${o.clientId}-global`,
      isolationLevel: o.isolationLevel,
      maxWaitMs: 200,
    });
    this.#reader = reader;
    // Catch up to the end as of now before any task runs, then follow the topic.
    const changelog = (tp: { topic: string; partition: number }, until?: bigint): ChangelogPartition => {
      const key = checkpointKey(tp.topic, tp.partition);
      const task = this.#tasks.get(tp.topic)!;
      const from =
        this.#positions.get(key) ??
        restoreStart(checkpoint.get(key), earliest.get(topicPartitionKey(tp)) ?? 0n);
      this.#positions.set(key, from);
      return {
        ...tp,
        from,
        ...(until !== undefined ? { until } : {}),
        apply: (records) => this.#apply(task, key, records),
      };
    };
    reader.add(partitions.map((tp) => changelog(tp, latest.get(topicPartitionKey(tp)) ?? 0n)));
    await reader.restore();
    this.#checkpoint();
    reader.add(partitions.map((tp) => changelog(tp)));
    this.#loop = this.#run();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#loop;
    await this.#reader?.close();
    if (this.#taskStores) {
      this.#checkpoint();
      for (const t of this.#tasks.values()) t.close();
      this.#taskStores.close();
      this.#options.stateDirectory.unlock(GLOBAL_TASK_DIR);
      this.#taskStores = undefined;
    }
  }

  #apply(task: StreamTask, checkpointKey: string, records: ConsumedRecord[]): void {
    for (const r of records) task.process(r);
    this.#positions.set(checkpointKey, records[records.length - 1]!.offset + 1n);
    this.records += records.length;
  }

  #checkpoint(): void {
    const db = this.#taskStores?.database;
    if (!db) return;
    db.writeCheckpoint(this.#positions);
    db.commit();
    this.#lastCheckpoint = performance.now();
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      try {
        await this.#reader!.pollOnce();
        if (performance.now() - this.#lastCheckpoint >= CHECKPOINT_INTERVAL_MS) this.#checkpoint();
      } catch (error) {
        if (this.#closed) return;
        this.#options.logger.warn({}, `global stores paused after: ${errorMessage(error)}`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }
}
