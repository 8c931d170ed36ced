/**
 * ProducerPort and TransactionPort on the client's Producer.
 *
 * - Idempotent mode allows one in-flight request per connection, so `send` takes a batch and the
 *   client turns it into one produce request per leader.
 * - The client puts all of a request's records for one partition into one record batch and does
 *   not split it, and the broker rejects a batch over `max.message.bytes` (1 MiB by default) with
 *   MESSAGE_TOO_LARGE. A poll's outputs can exceed that, so `send` splits them into requests that
 *   carry at most MAX_PARTITION_BYTES per partition, sent one after the other.
 * - The client writes each record's timestamp as a delta from its batch's first one, and its
 *   varint encoding is wrong for deltas of 2^31 ms (24.8 days) or more: such a record reads back
 *   with another timestamp (or a negative one). A record that far from the first one of its
 *   partition's batch starts a new request, so that every delta stays small. Re-driven dead
 *   letters and replayed history mix timestamps weeks apart.
 * - Partitions are resolved here (Java-compatible, see partitioner.ts), which also gives each
 *   record its offset: the broker acknowledges one base offset per partition and the records of a
 *   partition keep their order within the request.
 * - Transactions: the client's transaction timeout is its `timeout` option (5 s by default,
 *   also the per-request timeout); it is set from `transactionTimeoutMs`.
 * - `sendOffsets` adds the group to the transaction once, then sends one TxnOffsetCommit with
 *   every partition's highest offset (txn-offset-commit.ts: the client alone would send one
 *   request per partition, one after the other). The generation and member sent are those of the
 *   poll that produced the records, so the broker rejects the offsets of a member that has been
 *   rebalanced away.
 */
import { type MessageToProduce, Producer } from '@platformatic/kafka';
import { KafkaClientError, RebalanceError } from '../errors.ts';
import type {
  ConsumerPort,
  ProducedOffset,
  ProducedRecord,
  ProducerOptions,
  ProducerPort,
  TopicPartitionOffset,
  TransactionPort,
} from '../port.ts';
import { baseOptions, type ConnectionConfig, securityContext } from './connection.ts';
import { latestPerPartition, PlatformaticConsumer } from './consumer.ts';
import { toPortError } from './errors.ts';
import { Partitioner } from './partitioner.ts';
import { commitOffsetsTogether, type OffsetCommitTopic, withAllOffsets } from './txn-offset-commit.ts';

const DEFAULT_TRANSACTION_TIMEOUT_MS = 60_000;
// Half the broker's default max.message.bytes: the estimate below leaves out batch and record
// framing, and a topic may be configured a little lower.
const MAX_PARTITION_BYTES = 512 * 1024;
const RECORD_OVERHEAD_BYTES = 24;
/** Largest timestamp delta within one record batch that the client encodes correctly. */
const MAX_TIMESTAMP_DELTA_MS = 2 ** 31 - 1;

type Transaction = Awaited<ReturnType<Producer['beginTransaction']>>;

export class PlatformaticProducer implements ProducerPort {
  readonly #config: ConnectionConfig;
  readonly #options: ProducerOptions;
  readonly #producer: Producer;
  readonly #partitioner = new Partitioner();
  #transaction: PlatformaticTransaction | undefined;

  constructor(config: ConnectionConfig, options: ProducerOptions) {
    this.#config = config;
    this.#options = options;
    const transactional = options.transactionalId !== undefined;
    this.#producer = new Producer({
      ...baseOptions(config, options.clientId),
      idempotent: options.idempotent || transactional,
      acks: -1,
      ...(transactional
        ? {
            transactionalId: options.transactionalId,
            timeout: options.transactionTimeoutMs ?? DEFAULT_TRANSACTION_TIMEOUT_MS,
          }
        : {}),
    });
    if (transactional) commitOffsetsTogether(this.#producer);
  }

  /** Every partition's offset as the TxnOffsetCommit request carries it, with its current leader epoch. */
  async offsetCommitTopics(offsets: readonly TopicPartitionOffset[]): Promise<OffsetCommitTopic[]> {
    const metadata = await this.#producer.metadata({ topics: [...new Set(offsets.map((o) => o.topic))] });
    const byTopic = new Map<string, OffsetCommitTopic>();
    for (const o of offsets) {
      let topic = byTopic.get(o.topic);
      if (!topic) {
        topic = { name: o.topic, partitions: [] };
        byTopic.set(o.topic, topic);
      }
      const leaderEpoch = metadata.topics.get(o.topic)?.partitions[o.partition]?.leaderEpoch ?? -1;
      topic.partitions.push({
        partitionIndex: o.partition,
        committedOffset: o.offset,
        committedLeaderEpoch: leaderEpoch,
      });
    }
    return [...byTopic.values()];
  }

  /** @internal the client's producer, for the transaction's offset commit */
  get client(): Producer {
    return this.#producer;
  }

  async send(records: ProducedRecord[]): Promise<ProducedOffset[]> {
    if (this.#options.transactionalId !== undefined) {
      throw new KafkaClientError(
        'A transactional producer sends inside a transaction: use beginTransaction().send()',
      );
    }
    return this.produce(records, (messages) => this.#producer.send({ messages }));
  }

  async beginTransaction(): Promise<TransactionPort> {
    const transactionalId = this.#options.transactionalId;
    if (transactionalId === undefined) {
      throw new KafkaClientError('beginTransaction() needs a producer created with a transactionalId');
    }
    if (this.#transaction && !this.#transaction.done) {
      throw new KafkaClientError(
        `Producer "${transactionalId}" already has an open transaction: commit or abort it first`,
      );
    }
    try {
      // A fresh producer must register with producer id -1 / epoch -1, as the Java client does:
      // the broker then aborts whatever transaction an earlier incarnation left open and bumps the
      // epoch. The client's default (0 / 0) claims to be producer 0 and is answered PRODUCER_FENCED.
      const tx = await this.#producer.beginTransaction({ producerId: -1n, producerEpoch: -1 });
      this.#transaction = new PlatformaticTransaction(this, tx, transactionalId);
      return this.#transaction;
    } catch (error) {
      throw this.mapError(error);
    }
  }

  async close(): Promise<void> {
    await this.#producer.close();
  }

  /**
   * Resolves partitions (once per topic), sends, and reports the last offset written per
   * partition: the base offset of the partition's last request plus the records it held there.
   */
  async produce(
    records: ProducedRecord[],
    send: (
      messages: MessageToProduce[],
    ) => Promise<{ offsets?: { topic: string; partition: number; offset: bigint }[] }>,
  ): Promise<ProducedOffset[]> {
    if (records.length === 0) return [];
    try {
      const counts = new Map<string, number>();
      for (const record of records) if (!counts.has(record.topic)) counts.set(record.topic, 0);
      const metadata = await this.#producer.metadata({ topics: [...counts.keys()] });
      for (const topic of counts.keys()) counts.set(topic, metadata.topics.get(topic)?.partitionsCount ?? 1);
      const requests: MessageToProduce[][] = [[]];
      // Per `topic:partition`, within the request being filled: records placed and bytes taken.
      let perPartition = new Map<
        string,
        { topic: string; partition: number; count: number; bytes: number; firstTimestamp: number }
      >();
      const placed: Array<typeof perPartition> = [perPartition];
      // Records without a timestamp get it here rather than in the client, so that the deltas checked are the ones written.
      const now = Date.now();
      for (const record of records) {
        const timestamp = record.timestamp ?? now;
        const partition =
          record.partition ?? this.#partitioner.partition(record.key, counts.get(record.topic)!);
        const key = `${record.topic}:${partition}`;
        const size = recordBytes(record);
        let used = perPartition.get(key);
        if (
          used &&
          (used.bytes + size > MAX_PARTITION_BYTES ||
            Math.abs(timestamp - used.firstTimestamp) > MAX_TIMESTAMP_DELTA_MS)
        ) {
          requests.push([]);
          perPartition = new Map();
          placed.push(perPartition);
          used = undefined;
        }
        if (!used) {
          used = { topic: record.topic, partition, count: 0, bytes: 0, firstTimestamp: timestamp };
          perPartition.set(key, used);
        }
        used.count++;
        used.bytes += size;
        requests[requests.length - 1]!.push({
          topic: record.topic,
          partition,
          key: record.key ?? undefined,
          value: record.value ?? undefined,
          timestamp: BigInt(timestamp),
          ...(record.headers && record.headers.length > 0
            ? { headers: new Map(record.headers.map(([k, v]) => [Buffer.from(k), v] as [Buffer, Buffer])) }
            : {}),
        });
      }
      const last = new Map<string, ProducedOffset>();
      for (let i = 0; i < requests.length; i++) {
        const result = await send(requests[i]!);
        for (const o of result.offsets ?? []) {
          const key = `${o.topic}:${o.partition}`;
          const count = placed[i]!.get(key)?.count ?? 1;
          last.set(key, { topic: o.topic, partition: o.partition, lastOffset: o.offset + BigInt(count - 1) });
        }
      }
      return [...last.values()];
    } catch (error) {
      throw this.mapError(error, [...new Set(records.map((r) => r.topic))]);
    }
  }

  mapError(error: unknown, topics?: string[]): Error {
    return toPortError(error, {
      bootstrapServers: this.#config.bootstrapServers,
      ...securityContext(this.#config),
      ...(topics ? { topics } : {}),
      ...(this.#options.transactionalId !== undefined
        ? { transactionalId: this.#options.transactionalId }
        : {}),
    });
  }
}

class PlatformaticTransaction implements TransactionPort {
  readonly #producer: PlatformaticProducer;
  readonly #tx: Transaction;
  readonly #transactionalId: string;
  done = false;

  constructor(producer: PlatformaticProducer, tx: Transaction, transactionalId: string) {
    this.#producer = producer;
    this.#tx = tx;
    this.#transactionalId = transactionalId;
  }

  send(records: ProducedRecord[]): Promise<ProducedOffset[]> {
    this.#checkOpen();
    return this.#producer.produce(records, (messages) => this.#tx.send({ messages }));
  }

  async sendOffsets(consumer: ConsumerPort, offsets: TopicPartitionOffset[]): Promise<void> {
    this.#checkOpen();
    if (!(consumer instanceof PlatformaticConsumer)) {
      throw new KafkaClientError('sendOffsets() needs a consumer created by the same client factory');
    }
    const latest = latestPerPartition(offsets);
    if (latest.length === 0) return;
    const context = consumer.transactionContext(latest);
    try {
      await this.#tx.addConsumer(context.client);
      const coordinatorId = await context.client.findGroupCoordinator();
      const topics = await this.#producer.offsetCommitTopics(latest);
      const first = latest[0]!;
      // The client commits `offset + 1` of the message it is given: hand it the last processed one.
      await withAllOffsets(this.#producer.client, topics, () =>
        this.#tx.addOffset({
          topic: first.topic,
          partition: first.partition,
          offset: first.offset - 1n,
          metadata: {
            consumer: {
              groupId: context.groupId,
              generationId: context.generationId,
              memberId: context.memberId,
              coordinatorId,
            },
          },
        } as never),
      );
    } catch (error) {
      const mapped = this.#producer.mapError(error);
      throw mapped instanceof RebalanceError ? consumer.failedCommit(error, context.generationId) : mapped;
    }
  }

  async commit(): Promise<void> {
    this.#checkOpen();
    try {
      await this.#tx.commit();
      this.done = true;
    } catch (error) {
      throw this.#producer.mapError(error);
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    try {
      await this.#tx.abort();
      this.done = true;
    } catch (error) {
      throw this.#producer.mapError(error);
    }
  }

  #checkOpen(): void {
    if (this.done)
      throw new KafkaClientError(`The transaction of "${this.#transactionalId}" has already ended`);
  }
}

function recordBytes(record: ProducedRecord): number {
  let bytes = RECORD_OVERHEAD_BYTES + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const [k, v] of record.headers ?? []) bytes += k.length + v.length;
  return bytes;
}
