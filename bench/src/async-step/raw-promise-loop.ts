/**
 * The async-step scenario's baseline: what a user writes by hand on @platformatic/kafka without
 * the framework. Each fetched batch starts one Promise per record; a record waits for the
 * previous record of its key (a per-key promise chain) and for one of `concurrency` slots of its
 * partition; once every call of the batch has settled the outputs are produced in one send, in
 * the batch's order, and the offsets are committed after the commit interval (at_least_once).
 */
import {
  Consumer,
  FetchIsolationLevels,
  type Message,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  Producer,
} from '@platformatic/kafka';
import { nextBatch } from '../baseline/raw-loop.ts';
import type { PipeRun, RunningPipe, StartPipe } from '../harness/pipe.ts';
import { startRemoteService } from './workload.ts';

/** At most `n` calls at once. */
class Slots {
  #free: number;
  readonly #waiting: Array<() => void> = [];
  constructor(n: number) {
    this.#free = n;
  }
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

export const start: StartPipe = async (run: PipeRun): Promise<RunningPipe> => {
  if (run.guarantee !== 'at_least_once') throw new Error('the Promise loop baseline runs at_least_once only');
  const service = await startRemoteService();
  const concurrency = Number(run.params.concurrency);
  const consumer = new Consumer({
    clientId: `${run.groupId}-consumer`,
    bootstrapBrokers: run.bootstrapServers,
    retryDelay: 100,
    groupId: run.groupId,
    autocommit: false,
    isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
    maxWaitTime: 200,
  });
  const producer = new Producer({
    clientId: `${run.groupId}-producer`,
    bootstrapBrokers: run.bootstrapServers,
    retryDelay: 100,
    idempotent: true,
    acks: -1,
  });
  const stream = await consumer.consume({
    topics: [...run.inputs],
    mode: MessagesStreamModes.COMMITTED,
    fallbackMode: MessagesStreamFallbackModes.EARLIEST,
  });
  let wake: (() => void) | undefined;
  stream.on('readable', () => wake?.());
  let stopping = false;
  const slots = new Map<number, Slots>();
  const chains = new Map<string, Promise<unknown>>();
  let uncommitted = new Map<string, Message>();
  let lastCommit = performance.now();
  const commit = async () => {
    const last = [...uncommitted.values()];
    uncommitted = new Map();
    await Promise.all(last.map((m) => m.commit()));
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
        const results = batch.map((message) => {
          const key = message.key.toString();
          let partitionSlots = slots.get(message.partition);
          if (!partitionSlots) {
            partitionSlots = new Slots(concurrency);
            slots.set(message.partition, partitionSlots);
          }
          const s = partitionSlots;
          const previous = chains.get(key) ?? Promise.resolve();
          const result = previous.then(() => s.run(() => service.call(message.value.toString())));
          chains.set(key, result);
          return result;
        });
        const values = await Promise.all(results);
        chains.clear();
        await producer.send({
          messages: batch.map((m, i) => ({
            topic: run.output,
            key: m.key,
            value: Buffer.from(values[i]!),
            timestamp: m.timestamp,
          })),
        });
        for (const m of batch) uncommitted.set(`${m.topic}:${m.partition}`, m);
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
        await Promise.allSettled([consumer.close(), producer.close(), service.close()]);
      }
    },
  };
};
