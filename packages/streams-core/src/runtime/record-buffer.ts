/**
 * The runtime's RecordCollector: outputs of processing are buffered and produced as one batch
 * per poll (inside the open transaction under exactly-once). Changelog records carry the task's
 * partition, so a store's changelog partition always matches its task.
 */
import type { ProducedRecord } from '../client/port.ts';
import type { Headers } from '../processor/api/headers.ts';
import type { RecordCollector } from '../processor/internals/record-collector.ts';

export class RecordBuffer implements RecordCollector {
  #records: ProducedRecord[] = [];
  readonly #partitions: Map<string, number>;

  constructor(partitions: Map<string, number>) {
    this.#partitions = partitions;
  }

  get size(): number {
    return this.#records.length;
  }

  send(
    topic: string,
    key: Buffer | null,
    value: Buffer | null,
    headers: Headers,
    timestamp: number,
    partition: number | undefined,
  ): void {
    const record: ProducedRecord = { topic, key, value, timestamp };
    if (partition !== undefined) record.partition = partition;
    if (headers.size > 0) record.headers = headers.view();
    this.#records.push(record);
  }

  partitionsFor(topic: string): number | undefined {
    return this.#partitions.get(topic);
  }

  /** Hands over everything buffered so far. */
  drain(): ProducedRecord[] {
    const out = this.#records;
    this.#records = [];
    return out;
  }

  /** Drops what was buffered (an aborted transaction's work). */
  clear(): void {
    this.#records = [];
  }
}
