/**
 * Reading changelogs into stores: the one restoration path of active tasks (read to the end
 * before the task starts), standby replicas (follow the changelog as it grows) and global stores
 * (read to the end, then follow). It owns the partition reader, where a changelog partition
 * starts (its checkpoint while the log still holds it, else the log's start: a missing or stale
 * checkpoint means a full restore, never a guess), and handing each fetched partition batch to
 * the store it restores.
 */
import type { KeyValueBytesStore, SessionBytesStore, WindowBytesStore } from '@kafka-pattern/state-store';
import { sessionRestoreRecord, windowRestoreRecord } from '@kafka-pattern/state-store';
import type {
  ConsumedRecord,
  KafkaClientFactory,
  PartitionReaderOptions,
  PartitionReaderPort,
  TopicPartition,
} from '../client/port.ts';
import { topicPartitionKey } from '../client/port.ts';
import type { OpenedStore } from '../state/task-stores.ts';

/** A changelog partition to read, and what to do with its records (offset order, all before `until`). */
export interface ChangelogPartition extends TopicPartition {
  readonly from: bigint;
  /** Exclusive end: restoration stops there. Omit to follow the log. */
  readonly until?: bigint;
  readonly apply: (records: ConsumedRecord[]) => void;
}

/** Where to start reading: the checkpoint while the log still holds it (and, when bounded, not past `end`). */
export function restoreStart(checkpoint: bigint | undefined, earliest: bigint, end?: bigint): bigint {
  if (checkpoint === undefined || checkpoint < earliest) return earliest;
  if (end !== undefined && checkpoint > end) return earliest;
  return checkpoint;
}

/** Writes changelog records into a store the way its kind expects them. */
export function restoreInto(store: OpenedStore, records: ConsumedRecord[]): void {
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

export class ChangelogReader {
  readonly #clients: KafkaClientFactory;
  readonly #options: PartitionReaderOptions;
  readonly #targets = new Map<string, ChangelogPartition['apply']>();
  #reader: PartitionReaderPort | undefined;

  constructor(clients: KafkaClientFactory, options: PartitionReaderOptions) {
    this.#clients = clients;
    this.#options = options;
  }

  get size(): number {
    return this.#targets.size;
  }

  /** Adds partitions, or replaces them (a replaced partition restarts at its new `from`). */
  add(partitions: readonly ChangelogPartition[]): void {
    if (partitions.length === 0) return;
    this.#reader ??= this.#clients.partitionReader(this.#options);
    for (const p of partitions) this.#targets.set(topicPartitionKey(p), p.apply);
    this.#reader.assign(
      partitions.map((p) => ({
        topic: p.topic,
        partition: p.partition,
        from: p.from,
        ...(p.until !== undefined ? { until: p.until } : {}),
      })),
    );
  }

  remove(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) this.#targets.delete(topicPartitionKey(p));
    this.#reader?.unassign([...partitions]);
  }

  /** One fetch, applied; returns the records applied. */
  async pollOnce(): Promise<number> {
    if (!this.#reader) return 0;
    let applied = 0;
    for (const batch of await this.#reader.poll()) {
      const apply = this.#targets.get(topicPartitionKey(batch));
      if (!apply) continue;
      apply(batch.records);
      applied += batch.records.length;
    }
    return applied;
  }

  /** Reads until every bounded partition has reached its `until`. */
  async restore(): Promise<void> {
    while (this.#reader && this.#reader.pending().length > 0) await this.pollOnce();
  }

  /** Next offset to read per partition, by topic-partition key. */
  positions(): Map<string, bigint> {
    return this.#reader?.positions() ?? new Map();
  }

  async close(): Promise<void> {
    const reader = this.#reader;
    this.#reader = undefined;
    this.#targets.clear();
    await reader?.close().catch(() => {});
  }
}
