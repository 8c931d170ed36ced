/**
 * Shared helpers for integration tests against the real broker: where it is, unique names, topic
 * setup and teardown, and producing / collecting records with bounded waits.
 *
 * The broker address comes from KAFKA_BOOTSTRAP_SERVERS (comma-separated), else from the
 * `.stack/env` file that `pnpm stack:up` writes at the repository root (or `<KP_STACK_DIR>/env`),
 * else 127.0.0.1:9092.
 * A missing broker is a test failure with the client's "unreachable" message, never a skip.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  type AdminPort,
  type ConsumedRecord,
  type ConsumerOptions,
  type ConsumerPort,
  createPlatformaticClientFactory,
  type IsolationLevel,
  type KafkaClientFactory,
  type ProducedOffset,
  type ProducedRecord,
  recordsOf,
  type TopicSpec,
} from '@kafka-pattern/streams-core/client';
import { STACK_ENV } from './services.ts';

export function bootstrapServers(): string[] {
  const fromEnv = process.env.KAFKA_BOOTSTRAP_SERVERS?.trim();
  if (fromEnv) return splitServers(fromEnv);
  try {
    for (const line of readFileSync(STACK_ENV, 'utf8').split('\n')) {
      const m = /^\s*(?:export\s+)?KAFKA_BOOTSTRAP_SERVERS\s*=\s*["']?([^"'\s]+)["']?\s*$/.exec(line);
      if (m?.[1]) return splitServers(m[1]);
    }
  } catch {
    // No stack file: fall through to the default port.
  }
  return ['127.0.0.1:9092'];
}

function splitServers(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A name no earlier run used, so reruns never see old topics, groups or transactional ids. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export function clientFactory(clientId = uniqueName('test')): KafkaClientFactory {
  return createPlatformaticClientFactory({ bootstrapServers: bootstrapServers(), clientId });
}

/**
 * A read_committed group member of `options.topics`, as the client tests use one: a 6 s session,
 * 500 ms heartbeats and 200 ms fetch waits, unless `options` says otherwise.
 */
export function groupConsumer(
  factory: KafkaClientFactory,
  options: Pick<ConsumerOptions, 'groupId' | 'clientId' | 'topics'> & Partial<ConsumerOptions>,
): ConsumerPort {
  return factory.consumer({
    isolationLevel: 'read_committed',
    copartitionGroups: [],
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    maxWaitMs: 200,
    ...options,
  });
}

/** Polls `consumer` until `count` records arrived or `timeoutMs` passed, and gives what arrived. */
export async function pollRecords(
  consumer: ConsumerPort,
  count: number,
  timeoutMs = 30_000,
): Promise<ConsumedRecord[]> {
  const polled: ConsumedRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  while (polled.length < count && Date.now() < deadline) polled.push(...recordsOf(await consumer.poll()));
  return polled;
}

export async function createTopics(topics: TopicSpec[], factory = clientFactory()): Promise<void> {
  const admin = factory.admin();
  try {
    await admin.createTopics(topics);
  } finally {
    await admin.close();
  }
}

export async function createTopic(
  name: string,
  partitions: number,
  configs?: Record<string, string>,
): Promise<string> {
  await createTopics([{ name, partitions, ...(configs ? { configs } : {}) }]);
  return name;
}

export async function deleteTopics(names: string[], factory = clientFactory()): Promise<void> {
  const admin = factory.admin();
  try {
    await admin.deleteTopics(names);
  } finally {
    await admin.close();
  }
}

/** Record shorthand: string key and value, UTF-8. */
export function record(
  topic: string,
  key: string | null,
  value: string | null,
  partition?: number,
): ProducedRecord {
  return {
    topic,
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    ...(partition !== undefined ? { partition } : {}),
  };
}

/** Produces with an idempotent producer and waits for every acknowledgement. */
export async function produce(
  records: ProducedRecord[],
  factory = clientFactory(),
): Promise<ProducedOffset[]> {
  const producer = factory.producer({ clientId: uniqueName('producer'), idempotent: true });
  try {
    return await producer.send(records);
  } finally {
    await producer.close();
  }
}

export interface CollectOptions {
  /** Stop once this many records arrived (default: read to the end offsets taken at the start). */
  count?: number;
  isolationLevel?: IsolationLevel;
  /** Give up after this long (default 20 s); what was collected so far is returned. */
  timeoutMs?: number;
}

/**
 * Reads a topic from the beginning without a consumer group: until `count` records arrived, or
 * (without `count`) up to the end offsets at the time of the call. Under read_committed that end is
 * where every transaction that had written before the call has ended: a commit returns before the
 * broker writes its markers, and the last stable offset trails the log end until they are written.
 * Bounded by `timeoutMs`.
 */
export async function collect(
  topic: string,
  options: CollectOptions = {},
  factory = clientFactory(),
): Promise<ConsumedRecord[]> {
  const isolationLevel = options.isolationLevel ?? 'read_committed';
  const admin = factory.admin();
  const reader = factory.partitionReader({ clientId: uniqueName('collect'), isolationLevel, maxWaitMs: 200 });
  const out: ConsumedRecord[] = [];
  try {
    const description = (await admin.describeTopics([topic])).get(topic);
    if (!description) throw new Error(`collect: topic "${topic}" does not exist`);
    const partitions = Array.from({ length: description.partitions }, (_, partition) => ({
      topic,
      partition,
    }));
    const deadline = Date.now() + (options.timeoutMs ?? 20_000);
    const ends =
      options.count === undefined
        ? await settledEnds(admin, partitions, isolationLevel, deadline)
        : undefined;
    reader.assign(
      partitions.map((tp) => {
        const until = ends?.get(`${tp.topic}:${tp.partition}`);
        return { ...tp, from: 0n, ...(until !== undefined ? { until } : {}) };
      }),
    );
    while (Date.now() < deadline) {
      // One poll may return more records than a spread call can take as arguments.
      for (const r of recordsOf(await reader.poll())) out.push(r);
      if (options.count !== undefined ? out.length >= options.count : reader.pending().length === 0) break;
    }
    return out;
  } finally {
    await Promise.allSettled([reader.close(), admin.close()]);
  }
}

/** The end offsets to read to: the log end, and under read_committed once the stable offset reached it. */
async function settledEnds(
  admin: AdminPort,
  partitions: { topic: string; partition: number }[],
  isolationLevel: IsolationLevel,
  deadline: number,
): Promise<Map<string, bigint>> {
  const logEnds = await admin.listOffsets(partitions, 'latest', 'read_uncommitted');
  if (isolationLevel === 'read_uncommitted') return logEnds;
  for (;;) {
    const stable = await admin.listOffsets(partitions, 'latest', 'read_committed');
    const settled = [...logEnds].every(([tp, end]) => (stable.get(tp) ?? 0n) >= end);
    if (settled || Date.now() >= deadline) return stable;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
