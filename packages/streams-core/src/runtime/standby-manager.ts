/**
 * Standby replicas: warm copies of tasks this instance does not run, kept by reading their
 * changelogs as they grow. When such a task moves here (its owner stopped or failed), its
 * stores are already nearly current and only the tail is restored.
 *
 * Placement: the instances, ordered by client id, form a ring; the standbys of a task live on the
 * `numStandbyReplicas` instances that follow its owner. Every instance computes the same
 * placement from the group's assignment after each rebalance, so no assignor support is needed.
 * When the group cannot be read, an instance keeps a standby of every task it does not run.
 * Only tasks whose logged stores are all persistent get standbys: an in-memory copy could not be
 * handed to the active task without copying it.
 */

import { checkpointKey } from '@kafka-pattern/state-store';
import { topicPartitionKey } from '../client/port.ts';
import { errorMessage } from '../errors/exception-handlers.ts';
import { type OpenedStore, TaskStores } from '../state/task-stores.ts';
import { ChangelogReader, restoreInto, restoreStart } from './changelog-reader.ts';
import { openTaskDatabase } from './task-database.ts';
import { type TaskId, taskId } from './task-id.ts';
import type { TaskManagerOptions } from './task-manager.ts';

interface StandbyTask {
  readonly id: TaskId;
  readonly partition: number;
  readonly stores: TaskStores;
  readonly logged: OpenedStore[];
  /** Next changelog offset per checkpoint key. */
  readonly positions: Map<string, bigint>;
}

export type StandbyManagerOptions = Pick<
  TaskManagerOptions,
  | 'applicationId'
  | 'topology'
  | 'plan'
  | 'stateDirectory'
  | 'clients'
  | 'admin'
  | 'isolationLevel'
  | 'clientId'
  | 'logger'
>;

const CHECKPOINT_INTERVAL_MS = 1_000;

export class StandbyManager {
  readonly #options: StandbyManagerOptions;
  readonly #tasks = new Map<TaskId, StandbyTask>();
  #reader: ChangelogReader | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #loop: Promise<void> | undefined;
  #closed = false;
  #lastCheckpoint = 0;
  /** Changelog records applied to standbys since start. */
  appliedRecords = 0;

  constructor(options: StandbyManagerOptions) {
    this.#options = options;
  }

  /** Ids of the standby tasks kept now. */
  taskIds(): TaskId[] {
    return [...this.#tasks.keys()].sort();
  }

  /** Every stateful task id whose stores can be kept warm (logged, all persistent). */
  #candidates(): Array<{ id: TaskId; sub: number; partition: number }> {
    const { topology, plan } = this.#options;
    const out: Array<{ id: TaskId; sub: number; partition: number }> = [];
    for (const sub of topology.subtopologies()) {
      const specs = sub.stores.map((s) => topology.storeBuilder(s)!.spec).filter((s) => s.logging);
      if (specs.length === 0 || specs.some((s) => !s.persistent)) continue;
      const n = plan.tasksPerSubtopology.get(sub.id) ?? 0;
      for (let p = 0; p < n; p++) out.push({ id: taskId(sub.id, p), sub: sub.id, partition: p });
    }
    return out;
  }

  /** Stops keeping these tasks (they become active here); their progress is checkpointed first. */
  release(ids: Iterable<TaskId>): Promise<void> {
    return this.#exclusive(async () => {
      for (const id of ids) this.#closeTask(id);
    });
  }

  /**
   * Keeps a standby of every candidate task in `wanted` (default: every one) that is not in
   * `active`, and drops the others.
   */
  update(active: ReadonlySet<TaskId>, wanted?: ReadonlySet<TaskId>): Promise<void> {
    const keep = (id: TaskId) => !active.has(id) && (wanted === undefined || wanted.has(id));
    return this.#exclusive(async () => {
      for (const id of [...this.#tasks.keys()]) if (!keep(id)) this.#closeTask(id);
      const opened: StandbyTask[] = [];
      for (const c of this.#candidates()) {
        if (!keep(c.id) || this.#tasks.has(c.id)) continue;
        try {
          opened.push(this.#openTask(c.id, c.sub, c.partition));
        } catch (error) {
          this.#options.logger.warn({ taskId: c.id }, `no standby for task ${c.id}: ${errorMessage(error)}`);
        }
      }
      if (opened.length > 0) await this.#assign(opened);
      this.#loop ??= this.#run();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#exclusive(async () => {
      for (const id of [...this.#tasks.keys()]) this.#closeTask(id);
    });
    await this.#loop;
    await this.#reader?.close().catch(() => {});
    this.#reader = undefined;
  }

  #openTask(id: TaskId, subId: number, partition: number): StandbyTask {
    const o = this.#options;
    const sub = o.topology.subtopologies()[subId]!;
    o.stateDirectory.lock(id);
    const stores = new TaskStores({
      applicationId: o.applicationId,
      taskId: id,
      database: () => openTaskDatabase(o.stateDirectory.taskDir(id), id, o.logger),
    });
    for (const name of sub.stores) o.topology.storeBuilder(name)!.build(stores);
    const logged = [...stores.opened.values()].filter((s) => s.spec.logging);
    const task: StandbyTask = { id, partition, stores, logged, positions: new Map() };
    this.#tasks.set(id, task);
    return task;
  }

  async #assign(tasks: StandbyTask[]): Promise<void> {
    const o = this.#options;
    const partitions = tasks.flatMap((t) =>
      t.logged.map((s) => ({ topic: s.changelogTopic, partition: t.partition })),
    );
    const earliest = await o.admin.listOffsets(partitions, 'earliest');
    this.#reader ??= new ChangelogReader(o.clients, {
      clientId: `${o.clientId}-standby`,
      isolationLevel: o.isolationLevel,
      maxWaitMs: 200,
    });
    for (const t of tasks) {
      const checkpoint = t.stores.database!.readCheckpoint();
      this.#reader.add(
        t.logged.map((s) => {
          const tp = { topic: s.changelogTopic, partition: t.partition };
          const key = checkpointKey(tp.topic, tp.partition);
          const from = restoreStart(checkpoint.get(key), earliest.get(topicPartitionKey(tp)) ?? 0n);
          t.positions.set(key, from);
          return {
            ...tp,
            from,
            apply: (records) => {
              restoreInto(s, records);
              this.appliedRecords += records.length;
              t.positions.set(key, records[records.length - 1]!.offset + 1n);
            },
          };
        }),
      );
    }
  }

  #closeTask(id: TaskId): void {
    const t = this.#tasks.get(id);
    if (!t) return;
    this.#checkpoint(t);
    this.#reader?.remove(t.logged.map((s) => ({ topic: s.changelogTopic, partition: t.partition })));
    t.stores.close();
    this.#options.stateDirectory.unlock(id);
    this.#tasks.delete(id);
  }

  #checkpoint(t: StandbyTask): void {
    const db = t.stores.database;
    if (!db) return;
    db.writeCheckpoint(t.positions);
    db.commit();
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      await this.#exclusive(async () => {
        if (!this.#reader || this.#tasks.size === 0) {
          await new Promise((r) => setTimeout(r, 200));
          return;
        }
        await this.#reader.pollOnce();
        if (performance.now() - this.#lastCheckpoint >= CHECKPOINT_INTERVAL_MS) {
          this.#lastCheckpoint = performance.now();
          for (const t of this.#tasks.values()) this.#checkpoint(t);
        }
      }).catch((error) => {
        this.#options.logger.warn({}, `standby replicas paused after: ${errorMessage(error)}`);
        return new Promise((r) => setTimeout(r, 1_000));
      });
    }
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => {});
    return next;
  }
}
