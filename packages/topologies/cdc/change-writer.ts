/**
 * Writes captured changes to Kafka in their order, batch after batch, and says when a position is
 * safe: after the broker acknowledged a batch (at_least_once, idempotent producer) or after its
 * transaction committed (exactly_once_v2, with the capture's offset record in the same
 * transaction). Only then does the capture confirm that position to the slot.
 *
 * One batch is in flight at a time, so records reach each partition in the order they were
 * appended. A failed batch is retried as it was (the idempotent producer drops what the broker
 * already has; under exactly_once_v2 the transaction is aborted first), so a broker that restarts
 * delays the capture and loses nothing. Topics are created the first time a batch needs them.
 */
import type {
  AdminPort,
  KafkaClientFactory,
  ProducedRecord,
  ProducerPort,
} from '@kafka-pattern/streams-core/client';
import { type CaptureOffset, offsetRecord } from './capture-offsets.ts';

export type CaptureGuarantee = 'at_least_once' | 'exactly_once_v2';

export interface ChangeWriterOptions {
  clients: KafkaClientFactory;
  admin: AdminPort;
  guarantee: CaptureGuarantee;
  clientId: string;
  transactionalId: string;
  offsetsTopic: string;
  slot: string;
  /** Partitions and replication of the topics the writer creates. */
  partitions: number;
  replicationFactor?: number;
  maxBatchRecords?: number;
  /** Everything appended with an `endLsn` at or before this one is in Kafka. */
  onWritten(endLsn: bigint): void;
  warn(message: string): void;
}

interface Unit {
  records: ProducedRecord[];
  endLsn?: bigint;
  offset?: CaptureOffset;
}

export class ChangeWriter {
  readonly #options: ChangeWriterOptions;
  readonly #queue: Unit[] = [];
  readonly #topics = new Set<string>();
  #queuedRecords = 0;
  #producer: ProducerPort | undefined;
  #pump: Promise<void> | undefined;
  #drained: (() => void)[] = [];
  #closed = false;

  constructor(options: ChangeWriterOptions) {
    this.#options = options;
  }

  get #maxBatch(): number {
    return this.#options.maxBatchRecords ?? 5_000;
  }

  /**
   * Queues records (one PostgreSQL transaction, or a part of the snapshot) to go after everything
   * queued before. `endLsn` becomes safe once they are written; `offset` goes with them. Waits while
   * much is queued: the caller reads PostgreSQL no faster than Kafka takes it.
   */
  async append(records: ProducedRecord[], endLsn?: bigint, offset?: CaptureOffset): Promise<void> {
    if (this.#closed) throw new Error('the capture is closed');
    this.#queue.push({ records, ...(endLsn !== undefined ? { endLsn } : {}), ...(offset ? { offset } : {}) });
    this.#queuedRecords += records.length;
    this.#pump ??= this.#run();
    while (this.#queuedRecords > 4 * this.#maxBatch) await this.#waitDrained();
  }

  /** Resolves once everything appended so far is in Kafka. */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#pump) await this.#waitDrained();
  }

  /** Whether anything appended is not in Kafka yet. */
  busy(): boolean {
    return this.#queue.length > 0 || this.#pump !== undefined;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#producer?.close().catch(() => undefined);
    this.#producer = undefined;
  }

  #waitDrained(): Promise<void> {
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  #notify(): void {
    const waiting = this.#drained;
    this.#drained = [];
    for (const w of waiting) w();
  }

  async #run(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const units: Unit[] = [];
        let count = 0;
        while (
          this.#queue.length > 0 &&
          (units.length === 0 || count + this.#queue[0]!.records.length <= this.#maxBatch)
        ) {
          const unit = this.#queue.shift()!;
          units.push(unit);
          count += unit.records.length;
        }
        await this.#writeWithRetries(units);
        this.#queuedRecords -= count;
        let endLsn: bigint | undefined;
        for (const u of units) if (u.endLsn !== undefined) endLsn = u.endLsn;
        if (endLsn !== undefined) this.#options.onWritten(endLsn);
        this.#notify();
      }
    } finally {
      this.#pump = undefined;
      this.#notify();
    }
  }

  async #writeWithRetries(units: Unit[]): Promise<void> {
    const records = units.flatMap((u) => u.records);
    const eos = this.#options.guarantee === 'exactly_once_v2';
    let lastOffset: CaptureOffset | undefined;
    let endLsn: bigint | undefined;
    for (const u of units) {
      if (u.offset) lastOffset = u.offset;
      if (u.endLsn !== undefined) endLsn = u.endLsn;
    }
    // Under exactly_once_v2 every batch records how far it reached, in its own transaction.
    const offset: CaptureOffset | undefined =
      eos && endLsn !== undefined
        ? { snapshot: lastOffset?.snapshot ?? 'completed', lsn: endLsn }
        : lastOffset;
    if (offset) records.push(offsetRecord(this.#options.offsetsTopic, this.#options.slot, offset));
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw new Error('the capture was closed before its changes reached Kafka');
      try {
        await this.#ensureTopics(records);
        const producer = await this.#ensureProducer();
        if (eos) {
          const tx = await producer.beginTransaction();
          try {
            await tx.send(records);
            await tx.commit();
          } catch (e) {
            await tx.abort().catch(() => undefined);
            throw e;
          }
        } else {
          await producer.send(records);
        }
        if (attempt > 0) this.#options.warn(`Kafka took the changes after ${attempt} failed attempts`);
        return;
      } catch (e) {
        const delay = Math.min(5_000, 250 * 2 ** Math.min(attempt, 5));
        this.#options.warn(
          `writing ${records.length} change records to Kafka failed (${(e as Error).message}); retrying in ${delay} ms. Nothing is confirmed to PostgreSQL until Kafka has them.`,
        );
        // A producer whose transaction state is in doubt starts over; its successor fences it.
        await this.#producer?.close().catch(() => undefined);
        this.#producer = undefined;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async #ensureTopics(records: readonly ProducedRecord[]): Promise<void> {
    const missing = [...new Set(records.map((r) => r.topic))].filter(
      (t) => !this.#topics.has(t) && t !== this.#options.offsetsTopic,
    );
    if (missing.length === 0) return;
    await this.#options.admin.createTopics(
      missing.map((name) => ({
        name,
        partitions: this.#options.partitions,
        ...(this.#options.replicationFactor ? { replicationFactor: this.#options.replicationFactor } : {}),
      })),
    );
    for (const t of missing) this.#topics.add(t);
  }

  async #ensureProducer(): Promise<ProducerPort> {
    if (this.#producer) return this.#producer;
    const eos = this.#options.guarantee === 'exactly_once_v2';
    this.#producer = this.#options.clients.producer({
      clientId: this.#options.clientId,
      idempotent: true,
      ...(eos ? { transactionalId: this.#options.transactionalId, transactionTimeoutMs: 60_000 } : {}),
    });
    return this.#producer;
  }
}
