/**
 * Reading a whole topic back, to check what an application wrote. A reader cannot tell from
 * offsets alone where a transactional topic ends for it (aborted records and transaction
 * markers take offsets it never sees), so once nothing writes to the topic any more, `readAll`
 * appends one sentinel record to each partition, outside any transaction, and reads until it has
 * seen every partition's sentinel.
 */
import {
  Consumer,
  FetchIsolationLevels,
  type Message,
  MessagesStreamModes,
  Producer,
} from '@platformatic/kafka';
import { range, sleep } from './broker.ts';

export interface ScannedRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer;
  readonly value: Buffer;
  /** The record's timestamp, ms since the epoch. */
  readonly timestamp: number;
}

const SENTINEL_KEY = '__bench-end__';

function scanned(m: Message, offset: number): ScannedRecord {
  return { partition: m.partition, offset, key: m.key, value: m.value, timestamp: Number(m.timestamp) };
}

/**
 * Every record of `topic` a consumer with `isolation` sees, in offset order per partition
 * (sentinels left out). Only for a topic no one writes to any more: the sentinels stay in it.
 */
export async function readAll(
  servers: string[],
  topic: string,
  partitions: number,
  isolation: 'read_uncommitted' | 'read_committed',
  timeoutMs = 120_000,
): Promise<ScannedRecord[][]> {
  const producer = new Producer({
    clientId: 'bench-scan-end',
    bootstrapBrokers: servers,
    idempotent: true,
    acks: -1,
  });
  try {
    await producer.send({
      messages: range(partitions).map((p) => ({
        topic,
        partition: p,
        key: Buffer.from(SENTINEL_KEY),
        value: Buffer.alloc(0),
      })),
    });
  } finally {
    await producer.close();
  }
  const reader = new Consumer({
    clientId: 'bench-scan',
    groupId: `bench-scan-${topic}-${Date.now().toString(36)}`,
    bootstrapBrokers: servers,
    autocommit: false,
    isolationLevel:
      isolation === 'read_committed'
        ? FetchIsolationLevels.READ_COMMITTED
        : FetchIsolationLevels.READ_UNCOMMITTED,
    maxWaitTime: 100,
  });
  const records: ScannedRecord[][] = range(partitions).map(() => []);
  const ended = new Set<number>();
  try {
    const stream = await reader.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST });
    stream.on('data', (m: Message) => {
      if (m.key?.toString() === SENTINEL_KEY) ended.add(m.partition);
      else records[m.partition]!.push(scanned(m, Number(m.offset)));
    });
    const deadline = performance.now() + timeoutMs;
    while (ended.size < partitions) {
      if (performance.now() > deadline) {
        throw new Error(
          `reading ${topic}: ${ended.size} of ${partitions} partitions read to the end in ${timeoutMs} ms`,
        );
      }
      await sleep(20);
    }
    await stream.close();
  } finally {
    await reader.close();
  }
  return records;
}

/**
 * Every record of a topic no transaction writes to, up to the end offsets `ends` (read before,
 * while its writers may still be running), in offset order per partition.
 */
export async function readTo(
  servers: string[],
  topic: string,
  ends: readonly number[],
  timeoutMs = 120_000,
): Promise<ScannedRecord[][]> {
  const reader = new Consumer({
    clientId: 'bench-scan',
    groupId: `bench-scan-${topic}-${Date.now().toString(36)}`,
    bootstrapBrokers: servers,
    autocommit: false,
    maxWaitTime: 100,
  });
  const records: ScannedRecord[][] = ends.map(() => []);
  const done = () => ends.every((end, p) => end === 0 || (records[p]!.at(-1)?.offset ?? -1) >= end - 1);
  try {
    const stream = await reader.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST });
    stream.on('data', (m: Message) => {
      const offset = Number(m.offset);
      if (offset < ends[m.partition]!) {
        records[m.partition]!.push(scanned(m, offset));
      }
    });
    const deadline = performance.now() + timeoutMs;
    while (!done()) {
      if (performance.now() > deadline)
        throw new Error(`reading ${topic}: not read to its end in ${timeoutMs} ms`);
      await sleep(20);
    }
    await stream.close();
  } finally {
    await reader.close();
  }
  return records;
}
