/**
 * Owns the active tasks of one stream thread: creates them for assigned partitions, restores
 * their stores from the changelogs, finds the task of a consumed partition, and checkpoints or
 * rolls back their local state in step with commits and aborts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { checkpointKey, type StateDirectory, TaskLockedByThreadError } from '@kafka-pattern/state-store';
import type {
  AdminPort,
  IsolationLevel,
  KafkaClientFactory,
  ProducedOffset,
  TopicPartition,
  TopicPartitionOffset,
} from '../client/port.ts';
import { parseTopicPartitionKey, topicPartitionKey } from '../client/port.ts';
import type { ResolvedErrorHandling } from '../config/streams-config.ts';
import type { Logger } from '../observability/logger.ts';
import { Headers } from '../processor/api/headers.ts';
import { StreamTask } from '../processor/internals/stream-task.ts';
import type { Serde } from '../serdes/serde.ts';
import { TaskStores } from '../state/task-stores.ts';
import type { TimestampExtractor } from '../topology/extractors.ts';
import type { TopologyGraph } from '../topology/topology-graph.ts';
import { type ChangelogPartition, ChangelogReader, restoreInto, restoreStart } from './changelog-reader.ts';
import { resolveTopicName, type TopicPlan } from './internal-topics.ts';
import type { RecordBuffer } from './record-buffer.ts';
import { openTaskDatabase } from './task-database.ts';
import { type TaskId, taskId } from './task-id.ts';

const NO_HEADERS = new Headers();
/**
 * A task moving between two stream threads of this instance is still open in the thread that
 * ran it until that thread's next poll closes it: the new owner waits this long for the lock.
 */
const TASK_LOCK_WAIT_MS = 60_000;
const TASK_LOCK_RETRY_MS = 50;

/** Longest wait for a predecessor's transaction on a changelog to settle: above the transaction timeout. */
const STABLE_OFFSETS_WAIT_MS = 15_000;

export interface ActiveTask {
  readonly id: TaskId;
  readonly subtopology: number;
  readonly partition: number;
  readonly task: StreamTask;
  readonly stores: TaskStores;
  /** Next offset to read per input partition, by topic-partition key: what a commit commits. */
  readonly consumed: Map<string, bigint>;
  /** Offset last committed per input partition while this task ran. */
  readonly committed: Map<string, bigint>;
  /**
   * Next offset to process per input partition, by topic-partition key, for the task's whole
   * life (a commit leaves it): every record before it is in the task's stores. Seeded with where
   * the consumer starts the partition, so a restored task knows its position before any record.
   */
  readonly processed: Map<string, bigint>;
  /** Next changelog offset per logged store's changelog, by checkpoint key `topic-partition`. */
  readonly changelogPositions: Map<string, bigint>;
  /** Wall-clock time of the last record this task processed (or of its creation). */
  lastRecordAt: number;
}

export interface RestoreProgress {
  readonly taskId: string;
  readonly store: string;
  readonly changelog: string;
  readonly partition: number;
  readonly from: bigint;
  readonly to: bigint;
  readonly restored: number;
  readonly durationMs: number;
}

export interface TaskManagerOptions {
  readonly applicationId: string;
  readonly topology: TopologyGraph;
  readonly plan: TopicPlan;
  readonly stateDirectory: StateDirectory;
  readonly buffer: RecordBuffer;
  readonly clients: KafkaClientFactory;
  readonly admin: AdminPort;
  readonly isolationLevel: IsolationLevel;
  readonly clientId: string;
  readonly errors: ResolvedErrorHandling;
  readonly logger: Logger;
  readonly defaultKeySerde: Serde<any> | undefined;
  readonly defaultValueSerde: Serde<any> | undefined;
  readonly defaultTimestampExtractor: TimestampExtractor | undefined;
  readonly onRestore: (progress: RestoreProgress) => void;
  /** One restoration as a whole (its partitions are read together): records and wall time. */
  readonly onRestoreBatch?: (records: number, durationMs: number) => void;
  readonly cacheMaxBytes: number;
  /** Global stores every task may read. */
  readonly globalStores?: ReadonlyMap<string, unknown>;
  /** A call of a task's asynchronous step settled. */
  readonly onAsyncProgress?: () => void;
  /** Exactly-once: asynchronous steps' timeouts must stay below this (the transaction timeout). */
  readonly asyncTimeoutLimit?: { readonly ms: number; readonly setting: string };
}

export class TaskManager {
  readonly tasks = new Map<TaskId, ActiveTask>();
  /** Task by input topic-partition key. */
  readonly #byInput = new Map<string, ActiveTask>();
  /** Task by changelog topic-partition key, with the checkpoint key of that changelog partition. */
  readonly #byChangelog = new Map<string, { task: ActiveTask; checkpointKey: string }>();
  readonly #options: TaskManagerOptions;

  constructor(options: TaskManagerOptions) {
    this.#options = options;
  }

  /** The task that reads this partition; undefined for a partition revoked while its records were in flight. */
  taskFor(tp: TopicPartition): ActiveTask | undefined {
    return this.#byInput.get(topicPartitionKey(tp));
  }

  /** Notes where a send left each changelog partition, so the checkpoint knows where the stores are. */
  recordChangelogOffsets(offsets: readonly ProducedOffset[]): void {
    for (const o of offsets) {
      const c = this.#byChangelog.get(topicPartitionKey(o));
      if (c) c.task.changelogPositions.set(c.checkpointKey, o.lastOffset + 1n);
    }
  }

  /** Creates (and restores) the tasks for these partitions; existing tasks are kept. */
  async assign(partitions: TopicPartition[]): Promise<ActiveTask[]> {
    const wanted = new Map<TaskId, { sub: number; partition: number }>();
    for (const tp of partitions) {
      const sub = this.#options.plan.subtopologyOfTopic.get(tp.topic);
      if (sub === undefined) continue;
      wanted.set(taskId(sub, tp.partition), { sub, partition: tp.partition });
    }
    const created: ActiveTask[] = [];
    for (const [id, { sub, partition }] of wanted) {
      if (this.tasks.has(id)) continue;
      await this.#lock(id);
      created.push(this.#create(id, sub, partition));
    }
    await this.#restore(created);
    for (const t of created) t.task.initialize();
    return created;
  }

  /** Takes the task's lock, waiting while another stream thread of this process still has it open. */
  async #lock(id: TaskId): Promise<void> {
    const deadline = performance.now() + TASK_LOCK_WAIT_MS;
    for (;;) {
      try {
        this.#options.stateDirectory.lock(id);
        return;
      } catch (error) {
        if (!(error instanceof TaskLockedByThreadError) || performance.now() >= deadline) throw error;
      }
      await sleep(TASK_LOCK_RETRY_MS);
    }
  }

  #create(id: TaskId, subId: number, partition: number): ActiveTask {
    const o = this.#options;
    const subtopology = o.topology.subtopologies()[subId]!;
    o.stateDirectory.lock(id);
    let taskRef: StreamTask | undefined;
    const stores = new TaskStores({
      applicationId: o.applicationId,
      taskId: id,
      database: () => openTaskDatabase(o.stateDirectory.taskDir(id), id, o.logger),
      cacheMaxBytes: o.cacheMaxBytes,
      changelogSink: (_store, changelogTopic) => (key, value) => {
        o.buffer.send(
          changelogTopic,
          key,
          value,
          NO_HEADERS,
          taskRef?.currentTimestamp ?? Date.now(),
          partition,
        );
      },
    });
    const task = new StreamTask({
      applicationId: o.applicationId,
      taskId: id,
      partition,
      topology: o.topology,
      subtopology,
      collector: o.buffer,
      storeContext: stores,
      defaultKeySerde: o.defaultKeySerde,
      defaultValueSerde: o.defaultValueSerde,
      defaultTimestampExtractor: o.defaultTimestampExtractor,
      ...o.errors,
      logger: o.logger,
      now: Date.now,
      resolveTopic: (topic, internal) => resolveTopicName(o.applicationId, topic, internal),
      ...(o.globalStores ? { globalStores: o.globalStores } : {}),
      ...(o.onAsyncProgress ? { onAsyncProgress: o.onAsyncProgress } : {}),
      ...(o.asyncTimeoutLimit ? { asyncTimeoutLimit: o.asyncTimeoutLimit } : {}),
    });
    taskRef = task;
    const active: ActiveTask = {
      id,
      subtopology: subId,
      partition,
      task,
      stores,
      consumed: new Map(),
      committed: new Map(),
      processed: new Map(),
      changelogPositions: new Map(),
      lastRecordAt: Date.now(),
    };
    this.tasks.set(id, active);
    for (const topic of task.inputTopics) this.#byInput.set(topicPartitionKey({ topic, partition }), active);
    for (const s of stores.opened.values()) {
      if (!s.spec.logging) continue;
      this.#byChangelog.set(topicPartitionKey({ topic: s.changelogTopic, partition }), {
        task: active,
        checkpointKey: checkpointKey(s.changelogTopic, partition),
      });
    }
    return active;
  }

  /**
   * Brings every logged store up to its changelog's end: persistent stores from their
   * checkpoint (kept in the same SQLite transaction as their data), in-memory stores from the
   * beginning.
   */
  async #restore(tasks: ActiveTask[]): Promise<void> {
    const o = this.#options;
    const partitions: TopicPartition[] = [];
    const checkpoints = new Map<ActiveTask, Map<string, bigint>>();
    for (const t of tasks) {
      const logged = [...t.stores.opened.values()].filter((s) => s.spec.logging);
      if (logged.length === 0) continue;
      const checkpoint = logged.some((s) => s.spec.persistent)
        ? t.stores.database!.readCheckpoint()
        : new Map<string, bigint>();
      checkpoints.set(t, checkpoint);
      for (const s of logged) partitions.push({ topic: s.changelogTopic, partition: t.partition });
    }
    if (partitions.length === 0) return;
    const [latest, earliest] = await Promise.all([
      o.isolationLevel === 'read_committed'
        ? this.#stableEndOffsets(partitions)
        : o.admin.listOffsets(partitions, 'latest'),
      o.admin.listOffsets(partitions, 'earliest'),
    ]);
    const work: Array<RestoreProgress & { started: number; finished: number; restored: number }> = [];
    const changelogs: ChangelogPartition[] = [];
    for (const [t, checkpoint] of checkpoints) {
      for (const s of t.stores.opened.values()) {
        if (!s.spec.logging) continue;
        const tp = { topic: s.changelogTopic, partition: t.partition };
        const key = checkpointKey(s.changelogTopic, t.partition);
        const end = latest.get(topicPartitionKey(tp)) ?? 0n;
        const from = restoreStart(
          s.spec.persistent ? checkpoint.get(key) : undefined,
          earliest.get(topicPartitionKey(tp)) ?? 0n,
          end,
        );
        t.changelogPositions.set(key, end);
        if (from >= end) continue;
        const w = {
          taskId: t.id,
          store: s.spec.name,
          changelog: s.changelogTopic,
          partition: t.partition,
          from,
          to: end,
          restored: 0,
          durationMs: 0,
          started: performance.now(),
          finished: 0,
        };
        work.push(w);
        changelogs.push({
          ...tp,
          from,
          until: end,
          apply: (records) => {
            restoreInto(s, records);
            w.restored += records.length;
            w.finished = performance.now();
          },
        });
      }
    }
    if (work.length > 0) {
      const reader = new ChangelogReader(o.clients, {
        clientId: `${o.clientId}-restore`,
        isolationLevel: o.isolationLevel,
      });
      try {
        reader.add(changelogs);
        await reader.restore();
      } finally {
        await reader.close();
      }
      let total = 0;
      let started = Number.POSITIVE_INFINITY;
      let finished = 0;
      for (const w of work) {
        total += w.restored;
        started = Math.min(started, w.started);
        finished = Math.max(finished, w.finished);
      }
      if (total > 0) o.onRestoreBatch?.(total, finished - started);
      for (const w of work) {
        const { started: s, finished: f, ...progress } = w;
        o.onRestore({ ...progress, durationMs: Math.max(0, (f || s) - s) });
      }
    }
    for (const t of checkpoints.keys()) this.checkpoint(t);
  }

  /**
   * End offsets to restore up to under exactly-once. A transaction that the previous owner of a
   * task committed (or that is being aborted) may not have its markers in the changelog yet; until
   * then the last stable offset stops short of it, and restoring only that far would lose
   * committed state. So wait, bounded, until no transaction is pending on these partitions.
   */
  async #stableEndOffsets(partitions: TopicPartition[]): Promise<Map<string, bigint>> {
    const admin = this.#options.admin;
    const deadline = Date.now() + STABLE_OFFSETS_WAIT_MS;
    for (;;) {
      const [stable, high] = await Promise.all([
        admin.listOffsets(partitions, 'latest', 'read_committed'),
        admin.listOffsets(partitions, 'latest', 'read_uncommitted'),
      ]);
      const pending = [...high].filter(([k, hw]) => (stable.get(k) ?? 0n) < hw);
      if (pending.length === 0 || Date.now() > deadline) {
        if (pending.length > 0) {
          this.#options.logger.warn(
            { changelogs: pending.map(([k]) => k) },
            `changelog ${pending.map(([k]) => k).join(', ')} still has a pending transaction after ${STABLE_OFFSETS_WAIT_MS} ms: restoring up to its last stable offset`,
          );
        }
        return stable;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Records where each changelog stands, in the same SQLite transaction as the data. */
  checkpoint(t: ActiveTask): void {
    const db = t.stores.database;
    if (!db) return;
    const persistentLogged = [...t.stores.opened.values()].filter((s) => s.spec.persistent && s.spec.logging);
    const offsets = new Map<string, bigint>();
    for (const s of persistentLogged) {
      const key = checkpointKey(s.changelogTopic, t.partition);
      const pos = t.changelogPositions.get(key);
      if (pos !== undefined) offsets.set(key, pos);
    }
    db.writeCheckpoint(offsets);
    t.stores.commit();
  }

  /** Writes checkpoints into the open SQLite transactions without committing them (exactly-once: commit after Kafka). */
  prepareCheckpoints(): void {
    for (const t of this.tasks.values()) {
      const db = t.stores.database;
      if (!db) continue;
      const offsets = new Map<string, bigint>();
      for (const s of t.stores.opened.values()) {
        if (!s.spec.persistent || !s.spec.logging) continue;
        const key = checkpointKey(s.changelogTopic, t.partition);
        const pos = t.changelogPositions.get(key);
        if (pos !== undefined) offsets.set(key, pos);
      }
      db.writeCheckpoint(offsets);
    }
  }

  /**
   * Seeds `processed` of the input partitions whose position is not known yet with where the
   * consumer will read them next, skipping those in `batches` (their records are about to be
   * processed: they get their position then).
   */
  notePositions(positions: ReadonlyMap<string, bigint>, batches: readonly TopicPartition[]): void {
    for (const t of this.tasks.values()) {
      const inputs = t.task.inputTopics;
      if (t.processed.size === inputs.length) continue;
      for (const topic of inputs) {
        const k = topicPartitionKey({ topic, partition: t.partition });
        if (t.processed.has(k) || batches.some((b) => b.topic === topic && b.partition === t.partition))
          continue;
        const at = positions.get(k);
        if (at !== undefined) t.processed.set(k, at);
      }
    }
  }

  /** Sends every cached update downstream and to the changelogs; the caller then produces them. */
  flushCaches(): void {
    for (const t of this.tasks.values()) t.stores.flushCaches();
  }

  commitStores(): void {
    for (const t of this.tasks.values()) t.stores.commit();
  }

  /**
   * Offsets to commit: per input partition processed since the last commit, the next offset to
   * read, or the lowest offset an asynchronous step has not finished when that is lower. A
   * partition whose commit would not move is left out.
   */
  consumedOffsets(): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = [];
    for (const t of this.tasks.values()) {
      if (t.consumed.size === 0) continue;
      let unfinished: Map<string, bigint> | undefined;
      if (t.task.asyncPending > 0) {
        unfinished = new Map();
        t.task.lowestPendingOffsets(unfinished);
      }
      for (const [k, next] of t.consumed) {
        const pending = unfinished?.get(k);
        const offset = pending !== undefined && pending < next ? pending : next;
        if (t.committed.get(k) === offset) continue;
        out.push({ ...parseTopicPartitionKey(k), offset });
      }
    }
    return out;
  }

  /** These offsets are committed: a partition whose every processed record is committed is done. */
  committedOffsets(offsets: readonly TopicPartitionOffset[]): void {
    for (const o of offsets) {
      const k = topicPartitionKey(o);
      const t = this.#byInput.get(k);
      if (!t) continue;
      t.committed.set(k, o.offset);
      if (t.consumed.get(k) === o.offset) t.consumed.delete(k);
    }
  }

  /** Records taken in by asynchronous steps and not sent on yet, over every task. */
  asyncPending(): number {
    let n = 0;
    for (const t of this.tasks.values()) n += t.task.asyncPending;
    return n;
  }

  /** Sends every settled asynchronous result downstream (the stream thread's turn). */
  releaseAsync(): number {
    let n = 0;
    for (const t of this.tasks.values()) n += t.task.releaseAsync();
    return n;
  }

  /** Stops every task's asynchronous steps; calls in flight are awaited up to `timeoutMs`. */
  async abandonAsync(timeoutMs: number): Promise<void> {
    await Promise.all([...this.tasks.values()].map((t) => t.task.abandonAsync(timeoutMs)));
  }

  /**
   * Closes every task. `clean`: their state was committed. Otherwise uncommitted local state is
   * rolled back (exactly-once abort), so the next owner restores exactly what Kafka committed.
   */
  closeAll(clean: boolean): void {
    for (const t of this.tasks.values()) {
      try {
        t.task.close();
      } finally {
        if (!clean) {
          t.stores.discardCaches();
          t.stores.database?.rollback();
        }
        t.stores.close();
        this.#options.stateDirectory.unlock(t.id);
      }
    }
    this.tasks.clear();
    this.#byInput.clear();
    this.#byChangelog.clear();
  }
}
