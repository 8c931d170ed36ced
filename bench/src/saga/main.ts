/**
 * The saga of `@kafka-pattern/topologies/saga` on the broker: orders per second from OrderPlaced
 * to a terminal orderStatus (APPROVED, REJECTED, CANCELLED), and the latency of one order, for
 * the three services as three KafkaStreams applications in three processes of their own, under
 * exactly_once_v2 and at_least_once, side by side with a hand-written Map loop
 * ([`map-loop.ts`](map-loop.ts)) doing the same choreography in one process.
 *
 * - throughput: each run gets its own six topics (3 partitions) and application ids. Wallets and
 *   stock are set, then `--orders` OrderPlaced are written (a backlog: idempotent producer,
 *   count checked), then the services start; the clock runs from the first service owning its
 *   partitions until a reader of orderStatus (read_committed) has seen a terminal status of every
 *   order. After each run the guarantee is checked on what the services wrote (`checkSaga` of
 *   test/support/saga.ts: every order terminal, no terminal status changed, net charge = amount
 *   for APPROVED and 0 otherwise, at most one charge and one inventory answer per order, no
 *   customer spent more than the wallet, no SKU below zero); a violation stops the run. One
 *   warm-up round, then `--reps` rounds, the subjects interleaved and rotated; median.
 * - latency: fresh topics, services running, wallets and stock set, then orders at
 *   `--latency-rate` orders/s (default: half the subject's median throughput) for
 *   `--latency-seconds`; per order, the time the reader sees its terminal status minus the time
 *   its OrderPlaced was handed to the producer; p50/p99, the first `--latency-warmup-seconds`
 *   not counted.
 *
 *   node bench/src/saga/main.ts [--orders 20000] [--reps 3] [--latency-seconds 10]
 *        [--latency-warmup-seconds 2] [--latency-rate <orders/s>] [--subjects kp-eos,kp-alos,loop]
 *        [--backlog before-start|after-start]
 *
 * `--backlog after-start` starts the services first, sets wallets and stock, waits 3 s and then
 * writes the orders as fast as the producer takes them; the clock runs from the first send.
 *
 * Prints the table and writes bench/results/saga.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { partitionForKey } from '@kafka-pattern/streams-core';
import { checkSaga, readSagaLogs, type SagaWorkload } from '@kafka-pattern/test/support/saga.ts';
import { type SagaTopics, sagaTopics } from '@kafka-pattern/topologies/saga';
import {
  Consumer,
  FetchIsolationLevels,
  type Message,
  MessagesStreamModes,
  type MessageToProduce,
  Producer,
} from '@platformatic/kafka';
import { Broker, bootstrapServers, sleep } from '../harness/broker.ts';
import { PipeProcess } from '../harness/measure.ts';
import type { Guarantee } from '../harness/pipe.ts';
import { machineInfo, writeJson } from '../harness/report.ts';
import { median, percentile } from '../harness/stats.ts';
import { benchWorkload, STOCK_COVER, WALLET_COVER } from './workload.ts';

const { values: args } = parseArgs({
  options: {
    orders: { type: 'string', default: '20000' },
    reps: { type: 'string', default: '3' },
    'latency-seconds': { type: 'string', default: '10' },
    'latency-warmup-seconds': { type: 'string', default: '2' },
    'latency-rate': { type: 'string' },
    subjects: { type: 'string', default: 'kp-eos,kp-alos,loop' },
    backlog: { type: 'string', default: 'before-start' },
  },
});
const ORDERS = Number(args.orders);
const REPS = Number(args.reps);
const LATENCY_MS = Number(args['latency-seconds']) * 1000;
const LATENCY_WARMUP_MS = Number(args['latency-warmup-seconds']) * 1000;
const PARTITIONS = 3;
const BACKLOG = args.backlog;
if (BACKLOG !== 'after-start' && BACKLOG !== 'before-start')
  throw new Error(`--backlog: after-start or before-start, not ${BACKLOG}`);
/** Long enough that no order of a backlog times out: the bench measures the saga, not its timeout. */
const SAGA_TIMEOUT_MS = 600_000;
const COMMIT_INTERVAL_MS: Record<Guarantee, number> = { at_least_once: 30_000, exactly_once_v2: 100 };
const RUN_TIMEOUT_MS = Number(process.env.KP_SAGA_RUN_TIMEOUT_MS ?? 240_000);
const RESULTS = fileURLToPath(new URL('../../results/saga.json', import.meta.url));
const SERVICE = new URL('./service.ts', import.meta.url);
const LOOP = new URL('./map-loop.ts', import.meta.url);
const SERVICES = ['orders', 'payments', 'inventory'] as const;
const log = (m: string) => process.stderr.write(`saga: ${m}\n`);
const n = (x: number) => Math.round(x).toLocaleString('en-US');

interface Subject {
  key: string;
  label: string;
  guarantee: Guarantee;
  /** The processes and what each runs. */
  parts: { name: string; pipe: PipeProcess; module: URL; service?: string }[];
}

const servers = bootstrapServers();
const broker = new Broker(servers);
const stamp = Date.now().toString(36);
const stateDir = mkdtempSync(join(tmpdir(), 'kp-bench-saga-'));
const kpProcesses = SERVICES.map((s) => ({ name: s, pipe: new PipeProcess(`saga ${s}`), service: s }));
const loopProcess = new PipeProcess('saga Map loop');
const ALL: Subject[] = [
  {
    key: 'kp-eos',
    label: 'kafka-pattern, 3 apps',
    guarantee: 'exactly_once_v2',
    parts: kpProcesses.map((p) => ({ ...p, module: SERVICE })),
  },
  {
    key: 'kp-alos',
    label: 'kafka-pattern, 3 apps',
    guarantee: 'at_least_once',
    parts: kpProcesses.map((p) => ({ ...p, module: SERVICE })),
  },
  {
    key: 'loop',
    label: 'Map loop, 1 process',
    guarantee: 'at_least_once',
    parts: [{ name: 'loop', pipe: loopProcess, module: LOOP }],
  },
];
const wanted = args.subjects.split(',').map((s) => s.trim());
const SUBJECTS = ALL.filter((s) => wanted.includes(s.key));

/** Reads orderStatus from the beginning and notes when each order's first terminal status arrives. */
class StatusWatcher {
  readonly terminalAt = new Map<string, number>();
  readonly topic: string;
  readonly id: string;
  readonly #consumer: Consumer;
  #stream: Awaited<ReturnType<Consumer['consume']>> | undefined;
  constructor(topic: string, id: string) {
    this.topic = topic;
    this.id = id;
    this.#consumer = new Consumer({
      clientId: `${id}-reader`,
      groupId: `${id}-reader`,
      bootstrapBrokers: servers,
      autocommit: false,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      maxWaitTime: 100,
    });
  }
  async start(): Promise<void> {
    this.#stream = await this.#consumer.consume({ topics: [this.topic], mode: MessagesStreamModes.EARLIEST });
    this.#stream.on('data', (m: Message) => {
      const now = Date.now();
      const s = JSON.parse(m.value!.toString()) as { orderId: string; status: string };
      if (s.status !== 'PENDING' && !this.terminalAt.has(s.orderId)) this.terminalAt.set(s.orderId, now);
    });
  }
  async waitFor(count: number, subject: Subject, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let reported = performance.now();
    while (this.terminalAt.size < count) {
      if (performance.now() - reported > 10_000) {
        reported = performance.now();
        log(`${this.id}: ${this.terminalAt.size} of ${count} orders terminal so far`);
      }
      for (const p of subject.parts) if (p.pipe.failure) throw p.pipe.failure;
      if (performance.now() > deadline)
        throw new Error(
          `${this.id}: ${this.terminalAt.size} of ${count} orders terminal after ${timeoutMs} ms`,
        );
      await sleep(20);
    }
  }
  async close(): Promise<void> {
    await this.#stream?.close().catch(() => {});
    await this.#consumer.close().catch(() => {});
  }
}

/**
 * A record of the saga's, in the partition the framework would choose for its key (murmur2, as
 * Kafka's default partitioner): wallets, stock and orders must be co-partitioned with what the
 * services write, or a customer's wallet ends up in another task than its charges.
 */
const json = (topic: string, key: string, value: unknown): MessageToProduce => {
  const k = Buffer.from(key);
  return {
    topic,
    key: k,
    partition: partitionForKey(k, PARTITIONS),
    value: Buffer.from(JSON.stringify(value)),
  };
};

async function produceAll(messages: MessageToProduce[]): Promise<void> {
  const producer = new Producer({
    clientId: `bench-saga-fill`,
    bootstrapBrokers: servers,
    idempotent: true,
    acks: -1,
  });
  try {
    for (let i = 0; i < messages.length; i += 5_000)
      await producer.send({ messages: messages.slice(i, i + 5_000) });
  } finally {
    await producer.close();
  }
}

function settings(topics: SagaTopics, w: SagaWorkload): MessageToProduce[] {
  return [
    ...Object.entries(w.balances).map(([c, balance]) => json(topics.wallets, c, { balance })),
    ...Object.entries(w.stock).map(([sku, available]) => json(topics.stock, sku, { available })),
  ];
}

async function createTopics(topics: SagaTopics): Promise<void> {
  for (const t of Object.values(topics)) await broker.createTopic(t, PARTITIONS);
}

/** Starts the subject's processes together; resolves with when each owned its partitions. */
async function startSubject(s: Subject, runId: string, prefix: string): Promise<number[]> {
  return Promise.all(
    s.parts.map(async (p) => {
      await p.pipe.start(p.module, {
        bootstrapServers: servers,
        input: `${prefix}orders`,
        inputs: [`${prefix}orders`],
        output: `${prefix}orderStatus`,
        groupId: `${runId}-${p.name}`,
        guarantee: s.guarantee,
        commitIntervalMs: COMMIT_INTERVAL_MS[s.guarantee],
        stateDir: join(stateDir, runId),
        params: { service: p.service ?? '', prefix, timeoutMs: SAGA_TIMEOUT_MS, partitions: PARTITIONS },
      });
      return Date.now();
    }),
  );
}

async function stopSubject(s: Subject): Promise<void> {
  await Promise.all(s.parts.map((p) => p.pipe.stop().catch(() => {})));
}

async function check(runId: string, topics: SagaTopics, w: SagaWorkload): Promise<Record<string, number>> {
  const logs = await readSagaLogs(topics);
  const c = checkSaga(w, logs);
  if (c.violations.length > 0)
    throw new Error(
      `${runId}: ${c.violations.length} violations of the saga's guarantee, first: ${c.violations.slice(0, 5).join('; ')}`,
    );
  return c.counts;
}

async function dropRun(runId: string): Promise<void> {
  await broker.deleteTopicsWithPrefix(`${runId}.`).catch(() => {});
  await broker.deleteTopicsWithPrefix(`${runId}-`).catch(() => {});
  rmSync(join(stateDir, runId), { recursive: true, force: true });
}

/** What the orders that never ended went through, for the error. */
async function diagnose(topics: SagaTopics, w: SagaWorkload, watcher: StatusWatcher): Promise<void> {
  const logs = await readSagaLogs(topics);
  const missing = w.orders.filter((o) => !watcher.terminalAt.has(o.orderId));
  const kinds = new Map<string, number>();
  for (const o of missing) {
    const facts = [
      ...logs.payments.filter((p) => p.orderId === o.orderId).map((p) => p.type),
      ...logs.inventory.filter((i) => i.orderId === o.orderId).map((i) => i.type),
      ...logs.status.filter((x) => x.orderId === o.orderId).map((x) => x.status),
    ].join(',');
    kinds.set(facts, (kinds.get(facts) ?? 0) + 1);
  }
  log(`${missing.length} orders not terminal; what they went through: ${JSON.stringify([...kinds])}`);
  const count = (xs: { type?: string; status?: string }[]) => {
    const m: Record<string, number> = {};
    for (const x of xs) m[x.type ?? x.status ?? '?'] = (m[x.type ?? x.status ?? '?'] ?? 0) + 1;
    return JSON.stringify(m);
  };
  log(`payments ${count(logs.payments)}, inventory ${count(logs.inventory)}, status ${count(logs.status)}`);
  log(`e.g. ${JSON.stringify(missing.slice(0, 3))}`);
}

interface ThroughputRun {
  round: number;
  warmup: boolean;
  seconds: number;
  ordersPerSec: number;
  /** Seconds between the first and the last process owning its partitions. */
  startSpreadSeconds: number;
  counts: Record<string, number>;
}

let runNo = 0;
async function throughput(s: Subject, round: number): Promise<ThroughputRun> {
  const runId = `bench-saga-${stamp}-${++runNo}-${s.key}`;
  const topics = sagaTopics(`${runId}.`);
  const w = benchWorkload(ORDERS, runId);
  await createTopics(topics);
  const watcher = new StatusWatcher(topics.orderStatus, runId);
  try {
    let ready: number[];
    let started: number;
    try {
      if (BACKLOG === 'before-start') {
        await produceAll(settings(topics, w));
        await produceAll(w.orders.map((o) => json(topics.orders, o.orderId, o)));
        await watcher.start();
        ready = await startSubject(s, runId, `${runId}.`);
        started = Math.min(...ready);
      } else {
        await watcher.start();
        ready = await startSubject(s, runId, `${runId}.`);
        await produceAll(settings(topics, w));
        await sleep(3_000); // the settings are applied before the first order
        started = Date.now();
        await produceAll(w.orders.map((o) => json(topics.orders, o.orderId, o)));
      }
      const written = await broker.recordsWritten(topics.orders, PARTITIONS);
      if (written !== ORDERS) throw new Error(`${runId}: ${written} orders written, not ${ORDERS}`);
      await watcher.waitFor(ORDERS, s, RUN_TIMEOUT_MS).catch(async (e: unknown) => {
        await diagnose(topics, w, watcher);
        throw e;
      });
      const seconds = (Math.max(...watcher.terminalAt.values()) - started) / 1000;
      await stopSubject(s);
      const counts = await check(runId, topics, w);
      return {
        round,
        warmup: round === 0,
        seconds,
        ordersPerSec: ORDERS / seconds,
        startSpreadSeconds: (Math.max(...ready) - Math.min(...ready)) / 1000,
        counts,
      };
    } finally {
      await stopSubject(s);
    }
  } finally {
    await watcher.close();
    await dropRun(runId);
  }
}

interface LatencyRun {
  ratePerSec: number;
  sent: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
  counts: Record<string, number>;
}

async function latency(s: Subject, ratePerSec: number): Promise<LatencyRun> {
  const runId = `bench-saga-${stamp}-${++runNo}-${s.key}-latency`;
  const topics = sagaTopics(`${runId}.`);
  const total = Math.ceil((ratePerSec * LATENCY_MS) / 1000);
  const w = benchWorkload(total, runId);
  await createTopics(topics);
  const watcher = new StatusWatcher(topics.orderStatus, runId);
  const producer = new Producer({
    clientId: `${runId}-paced`,
    bootstrapBrokers: servers,
    idempotent: true,
    acks: -1,
  });
  try {
    await watcher.start();
    await startSubject(s, runId, `${runId}.`);
    await produceAll(settings(topics, w));
    await sleep(3_000); // the settings are applied before the first order
    const sentAt = new Map<string, number>();
    const began = performance.now();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - began) * ratePerSec) / 1000));
      if (due > sent) {
        const now = Date.now();
        const batch: MessageToProduce[] = [];
        for (; sent < due; sent++) {
          const o = w.orders[sent]!;
          sentAt.set(o.orderId, now);
          batch.push(json(topics.orders, o.orderId, o));
        }
        await producer.send({ messages: batch });
      }
      await sleep(5);
    }
    await watcher.waitFor(total, s, 60_000);
    const countFrom = [...sentAt.values()][0]! + LATENCY_WARMUP_MS;
    const latencies: number[] = [];
    for (const [id, at] of sentAt) if (at >= countFrom) latencies.push(watcher.terminalAt.get(id)! - at);
    await stopSubject(s);
    const counts = await check(runId, topics, w);
    return {
      ratePerSec,
      sent,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: Math.max(...latencies),
      samples: latencies.length,
      counts,
    };
  } finally {
    await producer.close().catch(() => {});
    await stopSubject(s);
    await watcher.close();
    await dropRun(runId);
  }
}

const spread = (xs: number[]) => {
  const m = median(xs);
  return m > 0 ? (Math.max(...xs) - Math.min(...xs)) / 2 / m : 0;
};

try {
  log(
    `${n(ORDERS)} orders per run (500 customers, wallets ${WALLET_COVER * 100}% of their orders; 100 SKUs, stock ${STOCK_COVER * 100}% of demand), ${PARTITIONS} partitions, 1 warm-up + ${REPS} rounds`,
  );
  const runs = new Map<string, ThroughputRun[]>(SUBJECTS.map((s) => [s.key, []]));
  for (let round = 0; round <= REPS; round++) {
    const order = SUBJECTS.map((_, i) => SUBJECTS[(i + round) % SUBJECTS.length]!);
    for (const s of order) {
      const r = await throughput(s, round);
      runs.get(s.key)!.push(r);
      log(
        `round ${round}${round === 0 ? ' (warm-up)' : ''} ${s.label} ${s.guarantee}: ${r.seconds.toFixed(2)} s, ${n(r.ordersPerSec)} orders/s, started within ${r.startSpreadSeconds.toFixed(2)} s; ${JSON.stringify(r.counts)}; guarantee checked`,
      );
    }
  }
  const rows = [];
  for (const s of SUBJECTS) {
    const timed = runs.get(s.key)!.filter((r) => !r.warmup);
    const ordersPerSec = median(timed.map((r) => r.ordersPerSec));
    const rate = args['latency-rate']
      ? Number(args['latency-rate'])
      : Math.max(1, Math.round(ordersPerSec / 2));
    const lat = await latency(s, rate);
    log(
      `latency ${s.label} ${s.guarantee} at ${rate}/s: p50 ${lat.p50Ms} ms, p99 ${lat.p99Ms} ms (${lat.samples} orders); ${JSON.stringify(lat.counts)}; guarantee checked`,
    );
    rows.push({
      subject: s.key,
      implementation: s.label,
      guarantee: s.guarantee,
      ordersPerSec,
      spread: spread(timed.map((r) => r.ordersPerSec)),
      runs: runs.get(s.key)!,
      latency: lat,
      peakRssMiB: s.parts.map((p) => Math.round(p.pipe.peakRssBytes / 2 ** 20)),
    });
  }
  const loop = rows.find((r) => r.subject === 'loop');
  console.log(
    `\nsaga: ${n(ORDERS)} orders from OrderPlaced to a terminal status, median of ${REPS} after a warm-up:`,
  );
  console.log(
    '| implementation | guarantee | orders/s | runs ± | vs Map loop | latency at | p50 ms | p99 ms | approved / rejected / cancelled | peak RSS MiB |',
  );
  console.log('| --- | --- | --: | --: | --: | --: | --: | --: | --- | --: |');
  for (const r of rows) {
    const c = r.runs.at(-1)!.counts;
    console.log(
      `| ${r.implementation} | ${r.guarantee} | ${n(r.ordersPerSec)} | ${Math.round(r.spread * 100)}% | ${loop ? `${(r.ordersPerSec / loop.ordersPerSec).toFixed(2)}×` : '—'} | ${n(r.latency.ratePerSec)}/s | ${n(r.latency.p50Ms)} | ${n(r.latency.p99Ms)} | ${n(c.APPROVED ?? 0)} / ${n(c.REJECTED ?? 0)} / ${n(c.CANCELLED ?? 0)} | ${r.peakRssMiB.join(' + ')} |`,
    );
  }
  const machine = machineInfo(servers);
  console.log(`\nload average ${machine.loadAverage.toFixed(2)}`);
  writeJson(RESULTS, {
    when: new Date().toISOString(),
    machine,
    settings: {
      orders: ORDERS,
      partitions: PARTITIONS,
      customers: 500,
      skus: 100,
      walletCover: WALLET_COVER,
      stockCover: STOCK_COVER,
      sagaTimeoutMs: SAGA_TIMEOUT_MS,
      commitIntervalMs: COMMIT_INTERVAL_MS,
      reps: REPS,
      warmupRounds: 1,
      latency: { durationMs: LATENCY_MS, warmupMs: LATENCY_WARMUP_MS },
    },
    rows,
  });
} finally {
  for (const p of [...kpProcesses.map((k) => k.pipe), loopProcess]) await p.exit().catch(() => {});
  await broker.deleteTopicsWithPrefix(`bench-saga-${stamp}-`).catch(() => {});
  await broker.close();
  rmSync(stateDir, { recursive: true, force: true });
}
