/**
 * Owns the active tasks of one stream thread: creates them for assigned partitions, restores
 * their stores from the changelogs, routes consumed records to them, and checkpoints or rolls
 * back their local state in step with commits and aborts.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyValueBytesStore, SessionBytesStore, WindowBytesStore } from '@kafka-pattern/state-store';
import {
  topicPartitionKey as checkpointKey,
  SQLITE_STATE_FILE,
  SqliteDatabase,
  type StateDirectory,
  sessionRestoreRecord,
  windowRestoreRecord,
} from '@kafka-pattern/state-store';
import type {
  AdminPort,
  ConsumedRecord,
  IsolationLevel,
  KafkaClientFactory,
  TopicPartition,
} from '../client/port.ts';
import type { ResolvedErrorHandling } from '../config/streams-config.ts';
import { Headers } from '../processor/api/headers.ts';
import { StreamTask } from '../processor/internals/stream-task.ts';
import type { Serde } from '../serdes/serde.ts';
import { type OpenedStore, TaskStores } from '../state/task-stores.ts';
import type { TimestampExtractor } from '../topology/extractors.ts';
import type { TopologyGraph } from '../topology/topology-graph.ts';
import { resolveTopicName, type TopicPlan } from './internal-topics.ts';
import { groupByPartition, type RecordBuffer } from './record-buffer.ts';

const NO_HEADERS = new Headers();

/** Longest wait for a predecessor's transaction on a changelog to settle: above the transaction timeout. */
const STABLE_OFFSETS_WAIT_MS = 15_000;

export interface ActiveTask {
  readonly id: string;
  readonly subtopology: number;
  readonly partition: number;
  readonly task: StreamTask;
  readonly stores: TaskStores;
  /** Next offset to read per input partition, by `topic:partition`: what a commit commits. */
  readonly consumed: Map<string, bigint>;
  /** Next changelog offset per logged store's changelog, by checkpoint key `topic-partition`. */
  readonly changelogPositions: Map<string, bigint>;
  dirty: boolean;
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
  readonly defaultKeySerde: Serde<any> | undefined;
  readonly defaultValueSerde: Serde<any> | undefined;
  readonly defaultTimestampExtractor: TimestampExtractor | undefined;
  readonly onRestore: (progress: RestoreProgress) => void;
  /** One restoration as a whole (its partitions are read together): records and wall time. */
  readonly onRestoreBatch?: (records: number, durationMs: number) => void;
  readonly cacheMaxBytes: number;
  /** Global stores every task may read. */
  readonly globalStores?: ReadonlyMap<string, unknown>;
}

export class TaskManager {
  readonly tasks = new Map<string, ActiveTask>();
  readonly #byInput = new Map<string, ActiveTask>();
  readonly #byChangelog = new Map<string, ActiveTask>();
  readonly #options: TaskManagerOptions;

  constructor(options: TaskManagerOptions) {
    this.#options = options;
  }

  taskFor(topic: string, partition: number): ActiveTask | undefined {
    return this.#byInput.get(`${topic}:${partition}`);
  }

  /** Notes a produced changelog record's offset, so the checkpoint knows where the store is. */
  recordChangelogOffset(topic: string, partition: number, offset: bigint): void {
    const t = this.#byChangelog.get(`${topic}:${partition}`);
    if (t) t.changelogPositions.set(checkpointKey(topic, partition), offset + 1n);
  }

  /** Creates (and restores) the tasks for these partitions; existing tasks are kept. */
  async assign(partitions: TopicPartition[]): Promise<ActiveTask[]> {
    const wanted = new Map<string, { sub: number; partition: number }>();
    for (const tp of partitions) {
      const sub = this.#options.plan.subtopologyOfTopic.get(tp.topic);
      if (sub === undefined) continue;
      wanted.set(`${sub}_${tp.partition}`, { sub, partition: tp.partition });
    }
    const created: ActiveTask[] = [];
    for (const [id, { sub, partition }] of wanted) {
      if (this.tasks.has(id)) continue;
      created.push(this.#create(id, sub, partition));
    }
    await this.#restore(created);
    for (const t of created) t.task.initialize();
    return created;
  }

  #create(id: string, subId: number, partition: number): ActiveTask {
    const o = this.#options;
    const subtopology = o.topology.subtopologies()[subId]!;
    o.stateDirectory.lock(id);
    let taskRef: StreamTask | undefined;
    const stores = new TaskStores({
      applicationId: o.applicationId,
      taskId: id,
      database: () => openTaskDatabase(o.stateDirectory.taskDir(id), id),
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
      now: Date.now,
      resolveTopic: (topic, internal) => resolveTopicName(o.applicationId, topic, internal),
      ...(o.globalStores ? { globalStores: o.globalStores } : {}),
    });
    taskRef = task;
    const active: ActiveTask = {
      id,
      subtopology: subId,
      partition,
      task,
      stores,
      consumed: new Map(),
      changelogPositions: new Map(),
      dirty: false,
      lastRecordAt: Date.now(),
    };
    this.tasks.set(id, active);
    for (const topic of task.inputTopics) this.#byInput.set(`${topic}:${partition}`, active);
    for (const s of stores.opened.values())
      if (s.spec.logging) this.#byChangelog.set(`${s.changelogTopic}:${partition}`, active);
    return active;
  }

  /**
   * Brings every logged store up to its changelog's end: persistent stores from their
   * checkpoint (kept in the same SQLite transaction as their data), in-memory stores from the
   * beginning. A missing checkpoint means a full restore, never a guess.
   */
  async #restore(tasks: ActiveTask[]): Promise<void> {
    const o = this.#options;
    const work: Array<{ t: ActiveTask; store: OpenedStore; from: bigint; to: bigint }> = [];
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
    for (const [t, checkpoint] of checkpoints) {
      for (const s of t.stores.opened.values()) {
        if (!s.spec.logging) continue;
        const tpKey = `${s.changelogTopic}:${t.partition}`;
        const key = checkpointKey(s.changelogTopic, t.partition);
        const start = earliest.get(tpKey) ?? 0n;
        const end = latest.get(tpKey) ?? 0n;
        const saved = s.spec.persistent ? checkpoint.get(key) : undefined;
        const from = saved !== undefined && saved >= start && saved <= end ? saved : start;
        t.changelogPositions.set(key, end);
        if (from < end) work.push({ t, store: s, from, to: end });
      }
    }
    if (work.length > 0) {
      const reader = o.clients.partitionReader({
        clientId: `${o.clientId}-restore`,
        isolationLevel: o.isolationLevel,
      });
      try {
        const byTp = new Map(
          work.map((w) => [
            `${w.store.changelogTopic}:${w.t.partition}`,
            { ...w, restored: 0, started: performance.now(), finished: 0 },
          ]),
        );
        reader.assign(
          work.map((w) => ({
            topic: w.store.changelogTopic,
            partition: w.t.partition,
            from: w.from,
            until: w.to,
          })),
        );
        while (reader.pending().length > 0) {
          const records = await reader.poll();
          const grouped = groupByPartition(records);
          for (const [k, recs] of grouped) {
            const w = byTp.get(k);
            if (!w) continue;
            const inRange = recs.filter((r) => r.offset < w.to);
            applyRestore(w.store, inRange);
            w.restored += inRange.length;
            w.finished = performance.now();
          }
        }
        let total = 0;
        let started = Number.POSITIVE_INFINITY;
        let finished = 0;
        for (const w of byTp.values()) {
          total += w.restored;
          started = Math.min(started, w.started);
          finished = Math.max(finished, w.finished);
        }
        if (total > 0) o.onRestoreBatch?.(total, finished - started);
        for (const w of byTp.values()) {
          o.onRestore({
            taskId: w.t.id,
            store: w.store.spec.name,
            changelog: w.store.changelogTopic,
            partition: w.t.partition,
            from: w.from,
            to: w.to,
            restored: w.restored,
            durationMs: Math.max(0, (w.finished || w.started) - w.started),
          });
        }
      } finally {
        await reader.close();
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
          console.warn(
            `[kafka-pattern] changelog ${pending.map(([k]) => k).join(', ')} still has a pending transaction after ${STABLE_OFFSETS_WAIT_MS} ms: restoring up to its last stable offset`,
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

  /** Sends every cached update downstream and to the changelogs; the caller then produces them. */
  flushCaches(): void {
    for (const t of this.tasks.values()) t.stores.flushCaches();
  }

  commitStores(): void {
    for (const t of this.tasks.values()) t.stores.commit();
  }

  /** Offsets to commit: the next offset of every input partition processed since the last commit. */
  consumedOffsets(): Array<{ topic: string; partition: number; offset: bigint }> {
    const out: Array<{ topic: string; partition: number; offset: bigint }> = [];
    for (const t of this.tasks.values()) {
      for (const [k, offset] of t.consumed) {
        const at = k.lastIndexOf(':');
        out.push({ topic: k.slice(0, at), partition: Number(k.slice(at + 1)), offset });
      }
    }
    return out;
  }

  clearConsumed(): void {
    for (const t of this.tasks.values()) t.consumed.clear();
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

/**
 * Opens the task's SQLite database. A file that is not a database, or a corrupt one, is removed
 * and replaced by an empty one: the task then restores everything from its changelogs, which is
 * slow but never wrong.
 */
export function openTaskDatabase(taskDir: string, taskId: string): SqliteDatabase {
  try {
    return SqliteDatabase.openInTaskDirectory(taskDir);
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (!/^SQLITE_(NOTADB|CORRUPT)/.test(code)) throw error;
    console.warn(
      `[kafka-pattern] state of task ${taskId} in ${taskDir} is unreadable (${code}): starting it empty and restoring it from the changelogs`,
    );
    for (const suffix of ['', '-wal', '-shm'])
      rmSync(join(taskDir, `${SQLITE_STATE_FILE}${suffix}`), { force: true });
    return SqliteDatabase.openInTaskDirectory(taskDir);
  }
}

export function applyRestore(store: OpenedStore, records: ConsumedRecord[]): void {
  if (records.length === 0) return;
  switch (store.spec.kind) {
    case 'keyValue':
    case 'timestampedKeyValue':
      (store.raw as KeyValueBytesStore).restoreBatch(records.map((r) => ({ key: r.key!, value: r.value })));
      return;
    case 'window':
    case 'timestampedWindow':
      (store.raw as WindowBytesStore).restoreBatch(records.map((r) => windowRestoreRecord(r.key!, r.value)));
      return;
    case 'session':
      (store.raw as SessionBytesStore).restoreBatch(
        records.map((r) => sessionRestoreRecord(r.key!, r.value)),
      );
      return;
  }
}
