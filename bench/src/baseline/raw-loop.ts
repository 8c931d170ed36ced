/**
 * A consume → transform → produce loop written directly on @platformatic/kafka, as someone who
 * hand-rolls it would, with the framework's batching; each scenario's baseline plugs its
 * per-record work into it:
 * - whatever the consumer stream has fetched is taken as one batch and produced with one `send`,
 *   split (as the framework's adapter does) so no request carries more than the broker's
 *   `max.message.bytes` for a partition: the client does not split a partition's batch itself;
 * - at_least_once: once the commit interval has passed, the last offset of each partition is
 *   committed after the batch's produce was acknowledged;
 * - exactly_once_v2: batches are produced inside a transaction that is committed, with the
 *   consumed offsets, once per commit interval.
 * The client's stream fetches ahead while a batch is being produced; the framework's poll loop
 * does not. That is part of what a user gets from the client, so it is left in.
 * The retry delays are the ones the framework's adapter uses: with the client's default (1 s), a
 * transaction begun right after a commit that meets CONCURRENT_TRANSACTIONS (the coordinator is
 * still writing the previous one's markers) stalls for a second; the adapter retries that answer
 * after 2 ms first, anything else after 100 ms. The client's `timeout` is also
 * the transaction timeout; 5 s by default, it is set to the framework's 10 s, so a transaction
 * slowed down by a busy machine is not aborted by the broker under the pipe's feet.
 */
import {
  Consumer,
  FetchIsolationLevels,
  findErrorBy,
  type Message,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  type MessageToProduce,
  Producer,
} from '@platformatic/kafka';
import type { PipeRun, RunningPipe } from '../harness/pipe.ts';

type Stream = Awaited<ReturnType<Consumer['consume']>>;
type Transaction = Awaited<ReturnType<Producer['beginTransaction']>>;

const RETRY_DELAY_MS = 100;
const CONCURRENT_TRANSACTIONS_DELAYS_MS = [2, 10, 50, 500, 1500];

function retryDelay(
  _client: unknown,
  _operation: string,
  attempt: number,
  _retries: number,
  error: Error,
): number {
  return findErrorBy(error, 'apiId', 'CONCURRENT_TRANSACTIONS') === null
    ? RETRY_DELAY_MS
    : (CONCURRENT_TRANSACTIONS_DELAYS_MS[attempt - 1] ?? 1500);
}
const TRANSACTION_TIMEOUT_MS = 10_000;

// Three partitions' worth of the framework's 512 KiB per partition and request.
const MAX_SEND_BYTES = 1536 * 1024;

/** What one consumed record becomes: an output (written to the run's output topic) or nothing. */
export type Transform = (message: Message) => { key: Buffer; value: Buffer } | undefined;

export async function startRawPipe(run: PipeRun, transform: Transform): Promise<RunningPipe> {
  const eos = run.guarantee === 'exactly_once_v2';
  const consumer = new Consumer({
    clientId: `${run.groupId}-consumer`,
    bootstrapBrokers: run.bootstrapServers,
    retryDelay: RETRY_DELAY_MS,
    groupId: run.groupId,
    autocommit: false,
    isolationLevel: eos ? FetchIsolationLevels.READ_COMMITTED : FetchIsolationLevels.READ_UNCOMMITTED,
    maxWaitTime: 200,
  });
  const producer = new Producer({
    clientId: `${run.groupId}-producer`,
    bootstrapBrokers: run.bootstrapServers,
    retryDelay,
    idempotent: true,
    acks: -1,
    timeout: TRANSACTION_TIMEOUT_MS,
    ...(eos ? { transactionalId: `${run.groupId}-tx` } : {}),
  });
  const stream = await consumer.consume({
    topics: [...run.inputs],
    mode: MessagesStreamModes.COMMITTED,
    fallbackMode: MessagesStreamFallbackModes.EARLIEST,
  });

  // The stream fetches only while someone listens; one listener for the whole run keeps it
  // fetching ahead between batches.
  let wake: (() => void) | undefined;
  stream.on('readable', () => wake?.());
  let stopping = false;
  // Last consumed message per partition since the previous commit.
  let uncommitted = new Map<string, Map<number, Message>>();
  let transaction: Transaction | undefined;
  let lastCommit = performance.now();

  const commit = async (): Promise<void> => {
    const last = [...uncommitted.values()].flatMap((byPartition) => [...byPartition.values()]);
    uncommitted = new Map();
    if (eos) {
      if (transaction === undefined && last.length === 0) return;
      transaction ??= await producer.beginTransaction();
      if (last.length > 0) {
        await transaction.addConsumer(consumer);
        // The client coalesces concurrent offset additions of one producer: add them one by one.
        for (const message of last) await transaction.addOffset(message);
      }
      await transaction.commit();
      transaction = undefined;
    } else if (last.length > 0) {
      await Promise.all(last.map((message) => message.commit()));
    }
  };

  const loop = (async () => {
    while (!stopping) {
      const batch = await nextBatch(
        stream,
        Math.max(0, lastCommit + run.commitIntervalMs - performance.now()),
        (w) => {
          wake = w;
        },
      );
      wake = undefined;
      if (batch.length > 0) {
        const sends: MessageToProduce[][] = [[]];
        let bytes = 0;
        for (const message of batch) {
          const out = transform(message);
          if (out) {
            bytes += out.value.length + out.key.length;
            if (bytes > MAX_SEND_BYTES) {
              sends.push([]);
              bytes = out.value.length + out.key.length;
            }
            sends[sends.length - 1]!.push({
              topic: run.output,
              key: out.key,
              value: out.value,
              timestamp: message.timestamp,
            });
          }
          let byPartition = uncommitted.get(message.topic);
          if (!byPartition) {
            byPartition = new Map();
            uncommitted.set(message.topic, byPartition);
          }
          byPartition.set(message.partition, message);
        }
        if (eos) transaction ??= await producer.beginTransaction();
        for (const messages of sends) {
          if (messages.length === 0) continue;
          if (transaction) await transaction.send({ messages });
          else await producer.send({ messages });
        }
      }
      if (performance.now() - lastCommit >= run.commitIntervalMs) {
        await commit();
        lastCommit = performance.now();
      }
    }
    await commit();
  })();

  return {
    async close() {
      stopping = true;
      wake?.();
      try {
        await loop;
      } finally {
        await stream.close();
        await Promise.allSettled([consumer.close(), producer.close()]);
      }
    },
  };
}

/**
 * Everything the stream has buffered (at least one fetch response), or nothing once `timeoutMs`
 * passed without a record, so a due commit is not held back by an idle input.
 */
export function nextBatch(
  stream: Stream,
  timeoutMs: number,
  onWait: (wake: () => void) => void,
): Promise<Message[]> {
  const batch = readAll(stream);
  if (batch.length > 0 || timeoutMs === 0) return Promise.resolve(batch);
  return new Promise((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    function done() {
      clearTimeout(timer);
      resolve(readAll(stream));
    }
    onWait(done);
  });
}

function readAll(stream: Stream): Message[] {
  const batch: Message[] = [];
  for (
    let message = stream.read() as Message | null;
    message !== null;
    message = stream.read() as Message | null
  ) {
    batch.push(message);
  }
  return batch;
}
