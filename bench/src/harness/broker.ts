/**
 * The driver's side of the broker: where it is, which version it runs, topics, offsets, and the
 * load generator. Written on @platformatic/kafka directly so the measuring code shares nothing
 * with the framework it measures.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin, FetchIsolationLevels, type MessageToProduce, Producer } from '@platformatic/kafka';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** KAFKA_BOOTSTRAP_SERVERS, else what `scripts/stack.sh up` wrote to `.stack/env`, else the default port. */
export function bootstrapServers(): string[] {
  const fromEnv = process.env.KAFKA_BOOTSTRAP_SERVERS?.trim();
  if (fromEnv)
    return fromEnv
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  try {
    for (const line of readFileSync(`${ROOT}.stack/env`, 'utf8').split('\n')) {
      const m = /^\s*(?:export\s+)?KAFKA_BOOTSTRAP_SERVERS\s*=\s*["']?([^"'\s]+)["']?\s*$/.exec(line);
      if (m?.[1]) return m[1].split(',');
    }
  } catch {
    // no stack file: the default port
  }
  return ['127.0.0.1:9092'];
}

/**
 * The broker the local stack (`<root>/scripts/stack.sh`) runs, if one runs: its pid and the
 * directory of its jars, data and pid file. The stack keeps one directory per broker version,
 * `.stack/kafka/<version>/`; before that, everything was in `.stack/kafka/` itself.
 */
export function stackBroker(root: string = ROOT): { pid: number; dir: string } | undefined {
  const base = join(root, '.stack', 'kafka');
  let dirs = [base];
  try {
    dirs = [
      base,
      ...readdirSync(base, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => join(base, d.name)),
    ];
  } catch {
    return undefined;
  }
  for (const dir of dirs) {
    try {
      const pid = Number(readFileSync(join(dir, 'broker.pid'), 'utf8').trim());
      if (
        Number.isInteger(pid) &&
        pid > 0 &&
        readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kafka.Kafka')
      ) {
        return { pid, dir };
      }
    } catch {
      // no pid file here, or its process is gone
    }
  }
  return undefined;
}

/**
 * The Kafka protocol does not report a broker's version; the local stack runs it from jars whose
 * names carry it (the running broker's, else any the stack holds). Another cluster is reported
 * as unknown unless KP_KAFKA_VERSION says.
 */
export function brokerVersion(root: string = ROOT): string {
  const running = stackBroker(root);
  const base = join(root, '.stack', 'kafka');
  const candidates = running ? [running.dir] : [base];
  if (!running) {
    try {
      for (const d of readdirSync(base, { withFileTypes: true }))
        if (d.isDirectory()) candidates.push(join(base, d.name));
    } catch {
      // not the jar-based stack
    }
  }
  for (const dir of candidates) {
    try {
      for (const jar of readdirSync(join(dir, 'libs'))) {
        const m = /^kafka-server-(\d[\w.-]*)\.jar$/.exec(jar);
        if (m?.[1]) return m[1];
      }
    } catch {
      // no jars here
    }
  }
  return process.env.KP_KAFKA_VERSION ?? 'unknown';
}

export class Broker {
  readonly servers: string[];
  readonly #admin: Admin;

  /**
   * `retryDelayMs` replaces the client's 1 s between retries of a failed request: a reader that
   * polls a broker coming back up would otherwise see it a second late.
   */
  constructor(servers: string[], o: { retryDelayMs?: number } = {}) {
    this.servers = servers;
    this.#admin = new Admin({
      clientId: 'bench-admin',
      bootstrapBrokers: servers,
      ...(o.retryDelayMs === undefined ? {} : { retryDelay: o.retryDelayMs }),
    });
  }

  async createTopic(name: string, partitions: number): Promise<void> {
    await this.#admin.createTopics({ topics: [name], partitions, replicas: 1 });
  }

  async deleteTopicsWithPrefix(prefix: string): Promise<void> {
    const names = (await this.#admin.listTopics()).filter((n) => n.startsWith(prefix));
    if (names.length > 0) await this.#admin.deleteTopics({ topics: names });
  }

  async deleteTopics(names: string[]): Promise<void> {
    const existing = new Set(await this.#admin.listTopics());
    const present = names.filter((n) => existing.has(n));
    if (present.length > 0) await this.#admin.deleteTopics({ topics: present });
  }

  /** Sum over partitions of the high watermark: the number of records written (no transactions). */
  async recordsWritten(topic: string, partitions: number): Promise<number> {
    return (await this.endOffsets(topic, partitions)).reduce((a, b) => a + b, 0);
  }

  /**
   * The end offset of each partition: the high watermark, or under `read_committed` the last
   * stable offset (nothing before it belongs to an open transaction; it also moves past aborted
   * records and transaction markers).
   */
  async endOffsets(
    topic: string,
    partitions: number,
    isolation: 'read_uncommitted' | 'read_committed' = 'read_uncommitted',
  ): Promise<number[]> {
    const listed = await this.#admin.listOffsets({
      topics: [
        { name: topic, partitions: range(partitions).map((p) => ({ partitionIndex: p, timestamp: -1n })) },
      ],
      isolationLevel:
        isolation === 'read_committed'
          ? FetchIsolationLevels.READ_COMMITTED
          : FetchIsolationLevels.READ_UNCOMMITTED,
    });
    const ends = range(partitions).map(() => 0);
    for (const t of listed) for (const p of t.partitions) ends[p.partitionIndex] = Number(p.offset);
    return ends;
  }

  /** Sum over a topic's partitions of what `groupId` has committed. */
  async committed(groupId: string, topic: string): Promise<number> {
    const [group] = await this.#admin.listConsumerGroupOffsets({ groups: [groupId] });
    let sum = 0n;
    for (const t of group?.topics ?? []) {
      if (t.name !== topic) continue;
      for (const p of t.partitions) if (p.committedOffset > 0n) sum += p.committedOffset;
    }
    return Number(sum);
  }

  async close(): Promise<void> {
    await this.#admin.close();
  }
}

export interface InputRecord {
  key: string;
  value: string;
  /** Event time; the wall clock when absent. */
  timestamp?: number;
}

/**
 * Writes `count` records as fast as the broker takes them; record `i` goes to partition
 * `i % partitions`, so a workload whose key determines `i % partitions` is co-partitioned across
 * topics. One sender per partition keeps each partition in `i` order, which event-time
 * workloads (windows, joins) rely on. The producer is idempotent, so a send the client retries
 * is not written twice, and the topic is checked to have grown by exactly `count` records: the
 * drains and the output checks count on that many.
 */
export async function prefill(
  servers: string[],
  topic: string,
  partitions: number,
  count: number,
  record: (i: number) => InputRecord,
): Promise<void> {
  const producer = new Producer({
    clientId: 'bench-prefill',
    bootstrapBrokers: servers,
    idempotent: true,
    acks: -1,
  });
  const broker = new Broker(servers);
  const BATCH = 5_000;
  try {
    const before = await broker.recordsWritten(topic, partitions);
    const sender = async (partition: number) => {
      for (let from = partition; from < count; from += BATCH * partitions) {
        const messages: MessageToProduce[] = [];
        const to = Math.min(count, from + BATCH * partitions);
        for (let i = from; i < to; i += partitions)
          messages.push(toMessage(topic, partition, record(i), Date.now()));
        await producer.send({ messages });
      }
    };
    await Promise.all(range(partitions).map(sender));
    const written = (await broker.recordsWritten(topic, partitions)) - before;
    if (written !== count) throw new Error(`pre-filling ${topic}: ${written} records written, not ${count}`);
  } finally {
    await Promise.allSettled([producer.close(), broker.close()]);
  }
}

/**
 * Writes records at `ratePerSec` for `durationMs`, each stamped with the wall clock at the
 * moment it is handed to the client (event time is the send time here); returns how many were
 * written to each target (record `i` of every target goes in the same send). Ticks every 5 ms
 * and catches up on a late tick, so the rate holds on average even when a send takes longer than
 * a tick.
 */
export async function producePaced(
  servers: string[],
  targets: readonly { topic: string; record: (i: number) => InputRecord }[],
  partitions: number,
  ratePerSec: number,
  durationMs: number,
): Promise<number> {
  // Idempotent like every producer here: a send the client retries after a lost acknowledgement
  // would otherwise be written twice, and the scenario's outputs would count it.
  const producer = new Producer({
    clientId: 'bench-paced',
    bootstrapBrokers: servers,
    idempotent: true,
    acks: -1,
  });
  let sent = 0;
  try {
    const started = performance.now();
    for (;;) {
      const elapsed = performance.now() - started;
      if (elapsed >= durationMs) break;
      const due = Math.floor((elapsed * ratePerSec) / 1000);
      if (due > sent) {
        const messages: MessageToProduce[] = [];
        const now = Date.now();
        for (; sent < due; sent++) {
          for (const t of targets) {
            messages.push(toMessage(t.topic, sent % partitions, { ...t.record(sent), timestamp: now }, now));
          }
        }
        await producer.send({ messages });
      }
      await sleep(5);
    }
  } finally {
    await producer.close();
  }
  return sent;
}

function toMessage(topic: string, partition: number, r: InputRecord, timestamp: number): MessageToProduce {
  return {
    topic,
    partition,
    key: Buffer.from(r.key),
    value: Buffer.from(r.value),
    timestamp: BigInt(r.timestamp ?? timestamp),
  };
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
