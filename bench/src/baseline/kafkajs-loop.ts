/**
 * The consume → transform → produce loop as a KafkaJS user writes it: `consumer.run` with
 * `eachBatch`, the client's defaults otherwise (one partition's batch at a time), the outputs
 * of a batch produced with one `send` per 1,000 records (a partition's batch of one send goes
 * into one produce request, which the broker refuses above `max.message.bytes`):
 * - at_least_once: an idempotent producer (acks all); offsets are committed once the commit
 *   interval has passed, after the batch's produce was acknowledged;
 * - exactly_once_v2: a transactional producer; the outputs go into a transaction that is
 *   committed, with the consumed offsets (`sendOffsets`), once per commit interval, and the
 *   consumer reads committed records only.
 * The pipe owns its partitions once KafkaJS reports the group joined. Its logger is off: it logs
 * the errors it retries (CONCURRENT_TRANSACTIONS right after a commit), and one it cannot
 * recover from fails the run through a thrown error or the consumer's crash event.
 */
import { type EachBatchPayload, Kafka, logLevel, type Message, type Transaction } from 'kafkajs';
import type { PipeRun, RunningPipe } from '../harness/pipe.ts';

/** What one consumed record becomes: an output (written to the run's output topic) or nothing. */
export type KafkaJsTransform = (key: Buffer, value: Buffer) => { key: Buffer; value: Buffer } | undefined;

const RECORDS_PER_SEND = 1_000;

export async function startKafkaJsPipe(run: PipeRun, transform: KafkaJsTransform): Promise<RunningPipe> {
  const eos = run.guarantee === 'exactly_once_v2';
  const kafka = new Kafka({
    clientId: `${run.groupId}-kafkajs`,
    brokers: [...run.bootstrapServers],
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: run.groupId, readUncommitted: !eos, maxWaitTimeInMs: 200 });
  const producer = kafka.producer(
    eos
      ? { idempotent: true, maxInFlightRequests: 1, transactionalId: `${run.groupId}-tx` }
      : { idempotent: true, maxInFlightRequests: 1 },
  );
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe({ topics: [...run.inputs], fromBeginning: true });

  // Next offset to commit per topic and partition, since the last commit.
  let pending = new Map<string, Map<number, string>>();
  let transaction: Transaction | undefined;
  let lastCommit = performance.now();
  // Batches, commits and the commit timer one after the other: a transaction is never used by two.
  let serial: Promise<void> = Promise.resolve();
  const inTurn = (work: () => Promise<void>): Promise<void> => {
    const next = serial.then(work);
    serial = next.catch(() => {});
    return next;
  };

  const commit = async (): Promise<void> => {
    const topics = [...pending].map(([topic, partitions]) => ({
      topic,
      partitions: [...partitions].map(([partition, offset]) => ({ partition, offset })),
    }));
    pending = new Map();
    lastCommit = performance.now();
    if (eos) {
      if (transaction === undefined) return;
      if (topics.length > 0) await transaction.sendOffsets({ consumerGroupId: run.groupId, topics });
      await transaction.commit();
      transaction = undefined;
    } else if (topics.length > 0) {
      await consumer.commitOffsets(
        topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, ...p }))),
      );
    }
  };

  const eachBatch = ({ batch }: EachBatchPayload) =>
    inTurn(async () => {
      if (batch.messages.length === 0) return;
      const messages: Message[] = [];
      for (const m of batch.messages) {
        const out = transform(m.key ?? Buffer.alloc(0), m.value ?? Buffer.alloc(0));
        if (out) messages.push({ key: out.key, value: out.value, timestamp: m.timestamp });
      }
      if (eos) transaction ??= await producer.transaction();
      const sender = transaction ?? producer;
      for (let i = 0; i < messages.length; i += RECORDS_PER_SEND) {
        await sender.send({ topic: run.output, acks: -1, messages: messages.slice(i, i + RECORDS_PER_SEND) });
      }
      let partitions = pending.get(batch.topic);
      if (!partitions) {
        partitions = new Map();
        pending.set(batch.topic, partitions);
      }
      partitions.set(batch.partition, (BigInt(batch.lastOffset()) + 1n).toString());
      if (performance.now() - lastCommit >= run.commitIntervalMs) await commit();
    });

  const joined = new Promise<void>((resolve) => {
    consumer.on(consumer.events.GROUP_JOIN, () => resolve());
  });
  let failure: unknown;
  consumer.on(consumer.events.CRASH, (e) => {
    failure = e.payload.error;
  });
  await consumer.run({ autoCommit: false, eachBatch });
  await joined;
  // An idle input must not hold a due commit back (the drain under exactly_once_v2 ends with it).
  const timer = setInterval(
    () => {
      if (performance.now() - lastCommit >= run.commitIntervalMs)
        void inTurn(commit).catch((e: unknown) => {
          failure ??= e;
        });
    },
    Math.max(10, Math.min(run.commitIntervalMs, 1_000)),
  );

  return {
    async close() {
      clearInterval(timer);
      try {
        await inTurn(commit);
        if (failure !== undefined) throw failure;
      } finally {
        await consumer.disconnect();
        await producer.disconnect();
      }
    },
  };
}
