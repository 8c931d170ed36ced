/**
 * The runtime's RecordCollector: outputs of processing are buffered and produced as one batch
 * per poll (inside the open transaction under exactly-once). Changelog records carry the task's
 * partition, so a store's changelog partition always matches its task.
 */
import type { ProducedRecord } from '../client/port.ts';
import { errorMessage, StreamsException } from '../errors/exception-handlers.ts';
import type { Headers } from '../processor/api/headers.ts';
import type { RecordCollector } from '../processor/internals/record-collector.ts';

export class RecordBuffer implements RecordCollector {
  #records: ProducedRecord[] = [];
  #bytes = 0;
  /** Bumped by clear(): an encoding that finishes after it belongs to dropped work. */
  #generation = 0;
  #encodings: Promise<void>[] = [];
  readonly #partitions: Map<string, number>;

  constructor(partitions: Map<string, number>) {
    this.#partitions = partitions;
  }

  get size(): number {
    return this.#records.length;
  }

  /** Key and value bytes buffered (values still being encoded count once they are). */
  get bytes(): number {
    return this.#bytes;
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
    this.#bytes += (key?.length ?? 0) + (value?.length ?? 0);
  }

  sendEncoding(
    topic: string,
    key: Buffer | null,
    value: Promise<Buffer | null>,
    headers: Headers,
    timestamp: number,
    partition: number | undefined,
    serdeName: string,
  ): void {
    const record: ProducedRecord = { topic, key, value: null, timestamp };
    if (partition !== undefined) record.partition = partition;
    this.#records.push(record);
    this.#bytes += key?.length ?? 0;
    const generation = this.#generation;
    this.#encodings.push(
      value.then(
        (bytes) => {
          record.value = bytes;
          if (generation === this.#generation) this.#bytes += bytes?.length ?? 0;
          if (headers.size > 0) record.headers = headers.view();
        },
        (error: unknown) => {
          throw new StreamsException(
            `Encoding a value for "${topic}" with the asynchronous serde "${serdeName}" failed: ${errorMessage(error)}`,
            { cause: error },
          );
        },
      ),
    );
  }

  /** Whether some buffered values are still being encoded. */
  get encoding(): boolean {
    return this.#encodings.length > 0;
  }

  /** Waits until every buffered value is encoded; throws the first failure. */
  async encoded(): Promise<void> {
    const pending = this.#encodings;
    this.#encodings = [];
    const results = await Promise.allSettled(pending);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  partitionsFor(topic: string): number | undefined {
    return this.#partitions.get(topic);
  }

  /** Hands over everything buffered so far. */
  drain(): ProducedRecord[] {
    const out = this.#records;
    this.#records = [];
    this.#bytes = 0;
    return out;
  }

  /** Drops what was buffered (an aborted transaction's work). */
  clear(): void {
    this.#records = [];
    this.#bytes = 0;
    this.#generation++;
    for (const e of this.#encodings) e.catch(() => {});
    this.#encodings = [];
  }
}
