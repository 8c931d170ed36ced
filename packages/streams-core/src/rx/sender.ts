/**
 * KafkaSender: produces the records of an Observable and reports each one's outcome, in input
 * order, on the client port the runtime uses.
 *
 * Records are sent in batches, one batch at a time, so a partition's records are written in the
 * order they arrived; a batch holds at most `maxInFlight` records (those sent and not yet
 * acknowledged), and the records that arrive while one is in flight make the next. Partitions are
 * resolved here (keys with the Java-compatible partitioner, null keys round robin) so that each
 * record's offset is known from the port's per-partition answer.
 */
import { Observable, type Subscription } from 'rxjs';
import { KafkaClientError } from '../client/errors.ts';
import { createPlatformaticClientFactory } from '../client/platformatic/factory.ts';
import type {
  AdminPort,
  KafkaClientFactory,
  ProducedRecord,
  ProducerPort,
  RawHeaders,
  TopicPartition,
  TransactionPort,
} from '../client/port.ts';
import { partitionForKey } from '../partitioning/partitioner.ts';
import type { Serializer } from '../serdes/serde.ts';
import type { ClientSource } from './receiver.ts';

export interface SenderRecord<K, V, C> {
  topic: string;
  /** Omit to pick it from the key (Java's partitioner) or round robin for a null key. */
  partition?: number;
  key: K | null;
  value: V | null;
  timestamp?: number;
  headers?: RawHeaders;
  /** Handed back unchanged with this record's result, to tell results apart. */
  correlationMetadata: C;
}

export interface RecordMetadata extends TopicPartition {
  offset: bigint;
}

/** One record's outcome: `recordMetadata` when written, `error` when not. */
export interface SenderResult<C> {
  correlationMetadata: C;
  recordMetadata?: RecordMetadata;
  error?: Error;
}

export type SenderOptions<K, V> = ClientSource & {
  keySerializer: Serializer<K>;
  valueSerializer: Serializer<V>;
  /** Default 'kafka-pattern-sender'. */
  clientId?: string;
  /** Most records sent and not yet acknowledged (default 256); also the largest batch. */
  maxInFlight?: number;
  /**
   * true (default): the first failed record ends the result stream with its error (records not
   * sent yet are dropped). false: a failed batch's records each get a result with `error`, and
   * sending goes on.
   */
  stopOnError?: boolean;
};

export type TransactionalSenderOptions<K, V> = SenderOptions<K, V> & {
  /** Makes the sender transactional: each batch of `send` is one transaction. */
  transactionalId: string;
  /** Default 60 s. */
  transactionTimeoutMs?: number;
};

/** Estimated bytes per partition in one batch: below the adapter's split into several requests. */
const MAX_BATCH_PARTITION_BYTES = 256 * 1024;
/** The client encodes timestamp deltas within one record batch correctly below 2^31 ms. */
const MAX_TIMESTAMP_DELTA_MS = 2 ** 31 - 1;

interface Queued<K, V, C> {
  record: SenderRecord<K, V, C>;
}
export class KafkaSender<K, V> {
  protected readonly options: SenderOptions<K, V> & {
    transactionalId?: string;
    transactionTimeoutMs?: number;
  };
  protected readonly producer: ProducerPort;
  readonly #factory: KafkaClientFactory;
  #admin: AdminPort | undefined;
  readonly #partitionCounts = new Map<string, Promise<number>>();
  #roundRobin = 0;
  #closed = false;
  /** Batches of all `send` subscriptions go one at a time (per-partition order, one transaction at a time). */
  #chain: Promise<unknown> = Promise.resolve();

  protected constructor(
    options: SenderOptions<K, V> & { transactionalId?: string; transactionTimeoutMs?: number },
  ) {
    this.options = options;
    this.#factory =
      options.clientFactory ??
      createPlatformaticClientFactory({
        bootstrapServers: options.bootstrapServers!,
        clientId: options.clientId ?? 'kafka-pattern-sender',
      });
    const maxInFlight = options.maxInFlight ?? 256;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1)
      throw new RangeError(`maxInFlight must be a positive integer, got ${maxInFlight}`);
    this.producer = this.#factory.producer({
      clientId: options.clientId ?? 'kafka-pattern-sender',
      idempotent: true,
      ...(options.transactionalId !== undefined ? { transactionalId: options.transactionalId } : {}),
      ...(options.transactionTimeoutMs !== undefined
        ? { transactionTimeoutMs: options.transactionTimeoutMs }
        : {}),
    });
  }

  /** An idempotent sender; with `transactionalId`, a transactional one. */
  static create<K, V>(options: TransactionalSenderOptions<K, V>): TransactionalKafkaSender<K, V>;
  static create<K, V>(options: SenderOptions<K, V> & { transactionalId?: never }): KafkaSender<K, V>;
  static create<K, V>(options: SenderOptions<K, V> & { transactionalId?: string }): KafkaSender<K, V> {
    if (options.transactionalId !== undefined)
      return new TransactionalKafkaSender(options as TransactionalSenderOptions<K, V>);
    return new KafkaSender(options);
  }

  /**
   * Sends every record of `records$` and emits one result per record, in input order. Subscribing
   * subscribes to `records$`; the results complete after `records$` completes and every record's
   * result is out. An error of `records$` ends the results with it once the records before it
   * have their results.
   */
  send<C>(records$: Observable<SenderRecord<K, V, C>>): Observable<SenderResult<C>> {
    const maxInFlight = this.options.maxInFlight ?? 256;
    const stopOnError = this.options.stopOnError ?? true;
    return new Observable<SenderResult<C>>((subscriber) => {
      const queue: Queued<K, V, C>[] = [];
      let inputDone = false;
      let inputError: { error: unknown } | undefined;
      let sending = false;
      let stopped = false;
      const pump = (): void => {
        if (stopped || sending) return;
        if (queue.length === 0) {
          if (inputError) subscriber.error(inputError.error);
          else if (inputDone) subscriber.complete();
          return;
        }
        const batch = queue.splice(0, Math.min(maxInFlight, queue.length));
        sending = true;
        this.enqueue(() => this.#sendBatch(batch.map((q) => q.record))).then(
          (results) => {
            sending = false;
            if (stopped) return;
            for (const r of results) {
              if (r.error && stopOnError) {
                stopped = true;
                subscriber.error(r.error);
                return;
              }
              subscriber.next(r);
            }
            pump();
          },
          (error: unknown) => {
            sending = false;
            stopped = true;
            subscriber.error(error);
          },
        );
      };
      const input: Subscription = records$.subscribe({
        next: (record) => {
          queue.push({ record });
          pump();
        },
        error: (error: unknown) => {
          inputError = { error };
          pump();
        },
        complete: () => {
          inputDone = true;
          pump();
        },
      });
      return () => {
        stopped = true;
        input.unsubscribe();
      };
    });
  }

  /** Waits for the batches in flight, then closes the producer. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#chain.catch(() => {});
    await Promise.allSettled([this.producer.close(), this.#admin?.close()]);
  }

  /** Runs `work` after every batch queued before it (of any subscription). */
  protected enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(work, work);
    this.#chain = run.catch(() => {});
    return run;
  }

  /**
   * One batch: each record serialized and placed (a record that cannot be fails alone), the rest
   * sent as one or more port sends (split where the adapter would split a request); a send the
   * broker refuses fails all of its records.
   */
  async #sendBatch<C>(records: SenderRecord<K, V, C>[]): Promise<SenderResult<C>[]> {
    if (this.#closed) throw new KafkaClientError('send() on a closed sender');
    const results: SenderResult<C>[] = new Array(records.length);
    const produced: ProducedRecord[] = [];
    const at: number[] = [];
    for (const [i, r] of records.entries()) {
      try {
        produced.push(await this.serialize(r));
        at.push(i);
      } catch (error) {
        results[i] = { correlationMetadata: r.correlationMetadata, error: asError(error) };
      }
    }
    for (const [from, to] of splitPoints(produced)) {
      const part = produced.slice(from, to);
      try {
        const metadata = await this.write(part);
        for (let j = 0; j < part.length; j++) {
          const i = at[from + j]!;
          results[i] = { correlationMetadata: records[i]!.correlationMetadata, recordMetadata: metadata[j]! };
        }
      } catch (error) {
        for (let j = from; j < to; j++) {
          const i = at[j]!;
          results[i] = { correlationMetadata: records[i]!.correlationMetadata, error: asError(error) };
        }
      }
    }
    return results;
  }

  /** Writes records whose partitions are resolved, one request per partition; each record's metadata. */
  protected async write(records: ProducedRecord[]): Promise<RecordMetadata[]> {
    return recordOffsets(records, await this.producer.send(records));
  }

  /** Serializes a record and resolves its partition. */
  protected async serialize<C>(r: SenderRecord<K, V, C>): Promise<ProducedRecord> {
    const key = this.options.keySerializer.serialize(r.topic, r.key);
    const value = this.options.valueSerializer.serialize(r.topic, r.value);
    let partition = r.partition;
    if (partition === undefined) {
      const count = await this.#partitionCount(r.topic);
      partition = key === null ? this.#roundRobin++ % count : partitionForKey(key, count);
      if (this.#roundRobin > 0x7fffffff) this.#roundRobin = 0;
    }
    return {
      topic: r.topic,
      partition,
      key,
      value,
      // The adapter stamps records without a timestamp per send; stamping here keeps the deltas checked in splitPoints true.
      timestamp: r.timestamp ?? Date.now(),
      ...(r.headers ? { headers: r.headers } : {}),
    };
  }

  #partitionCount(topic: string): Promise<number> {
    let count = this.#partitionCounts.get(topic);
    if (!count) {
      this.#admin ??= this.#factory.admin();
      count = this.#admin.describeTopics([topic]).then((d) => {
        const description = d.get(topic);
        if (!description)
          throw new KafkaClientError(`Topic "${topic}" does not exist: create it before sending to it`);
        return description.partitions;
      });
      count.catch(() => this.#partitionCounts.delete(topic));
      this.#partitionCounts.set(topic, count);
    }
    return count;
  }
}

/** A transactional sender: `send` makes each batch one transaction; `receiveExactlyOnce` adds the consumed offsets to it. */
export class TransactionalKafkaSender<K, V> extends KafkaSender<K, V> {
  constructor(options: TransactionalSenderOptions<K, V>) {
    super(options);
  }

  get transactionalId(): string {
    return this.options.transactionalId!;
  }

  /**
   * Sends `records` in one transaction, runs `before` inside it (adding consumed offsets), and
   * commits; aborts and rethrows on any failure. Every record's result, in order.
   */
  sendInTransaction<C>(
    records: SenderRecord<K, V, C>[],
    before?: (tx: TransactionPort) => Promise<void>,
  ): Promise<SenderResult<C>[]> {
    return this.enqueue(() => this.#transaction(records, before));
  }

  async #transaction<C>(
    records: SenderRecord<K, V, C>[],
    before?: (tx: TransactionPort) => Promise<void>,
  ): Promise<SenderResult<C>[]> {
    const produced: ProducedRecord[] = [];
    for (const r of records) produced.push(await this.serialize(r));
    const tx = await this.producer.beginTransaction();
    try {
      const metadata = produced.length > 0 ? recordOffsets(produced, await tx.send(produced)) : [];
      if (before) await before(tx);
      await tx.commit();
      return records.map((r, i) => ({
        correlationMetadata: r.correlationMetadata,
        recordMetadata: metadata[i]!,
      }));
    } catch (error) {
      await tx.abort().catch(() => {});
      throw error;
    }
  }

  protected override async write(records: ProducedRecord[]): Promise<RecordMetadata[]> {
    const tx = await this.producer.beginTransaction();
    try {
      const offsets = recordOffsets(records, await tx.send(records));
      await tx.commit();
      return offsets;
    } catch (error) {
      await tx.abort().catch(() => {});
      throw error;
    }
  }
}

/**
 * Each record's offset from the port's per-partition last offsets: a partition's records of one
 * request are written contiguously and in order.
 */
export function recordOffsets(
  records: readonly ProducedRecord[],
  lastOffsets: readonly { topic: string; partition: number; lastOffset: bigint }[],
): RecordMetadata[] {
  const last = new Map(lastOffsets.map((o) => [`${o.topic}:${o.partition}`, o.lastOffset]));
  const remaining = new Map<string, bigint>();
  for (const r of records) {
    const key = `${r.topic}:${r.partition}`;
    remaining.set(key, (remaining.get(key) ?? 0n) + 1n);
  }
  return records.map((r) => {
    const key = `${r.topic}:${r.partition}`;
    const after = remaining.get(key)! - 1n;
    remaining.set(key, after);
    const lastOffset = last.get(key);
    if (lastOffset === undefined)
      throw new KafkaClientError(
        `The broker acknowledged no offset for ${key} although records were sent there`,
      );
    return { topic: r.topic, partition: r.partition!, offset: lastOffset - after };
  });
}

/**
 * Where to cut a batch so that each part goes to the broker as one request per partition: the
 * adapter splits a send above its per-partition byte limit or for timestamps 2^31 ms apart,
 * and the offsets of one send's parts would not be contiguous then.
 */
export function splitPoints(records: readonly ProducedRecord[]): Array<[number, number]> {
  const cuts: Array<[number, number]> = [];
  let start = 0;
  let used = new Map<string, { bytes: number; first: number }>();
  records.forEach((r, i) => {
    const key = `${r.topic}:${r.partition}`;
    let size = 24 + (r.key?.length ?? 0) + (r.value?.length ?? 0);
    for (const [k, v] of r.headers ?? []) size += k.length + v.length;
    const u = used.get(key);
    if (
      u &&
      (u.bytes + size > MAX_BATCH_PARTITION_BYTES ||
        Math.abs((r.timestamp ?? 0) - u.first) > MAX_TIMESTAMP_DELTA_MS)
    ) {
      cuts.push([start, i]);
      start = i;
      used = new Map();
    }
    const now = used.get(key);
    if (now) now.bytes += size;
    else used.set(key, { bytes: size, first: r.timestamp ?? 0 });
  });
  if (records.length > 0) cuts.push([start, records.length]);
  return cuts;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
