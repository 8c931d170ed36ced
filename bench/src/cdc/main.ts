/**
 * Change data capture and the transactional outbox, ours and embedded Debezium side by side in
 * one run: for each pattern (`cdc`: a captured table; `outbox`: an outbox table through the
 * relay, Debezium with its EventRouter) and each subject, each in a process of its own:
 *
 * - check: a few hundred changes (cdc: inserts, updates, deletes; outbox: events) must give
 *   every subject the same records, counted by kind, with the same keys, and the ones the changes
 *   imply; the run stops otherwise, before anything is timed;
 * - throughput: `--changes` row changes committed while the subject streams (cdc: half inserts,
 *   half updates of those rows; outbox: inserts), in transactions of `--batch` rows; rows/s =
 *   changes / (the end offset of the subject's topic reaching the last of them, polled every
 *   20 ms − the first commit acknowledged); rows per CPU second from the subject's process CPU
 *   time (/proc, all threads) over the same span. One warm-up round, then `--reps` timed rounds,
 *   the subjects interleaved, alternating who goes first;
 * - latency: `--latency-rate` rows/s for `--latency-seconds` (the rows due every 5 ms in one
 *   transaction); for each row, the time a consumer in this process reads its record minus the
 *   time its commit was acknowledged here; p50/p99, the first second not counted.
 *
 *   node bench/src/cdc/main.ts [--patterns cdc,outbox] [--subjects kafka-pattern,Debezium]
 *        [--changes 50000] [--batch 100] [--reps 3] [--latency-rate 500] [--latency-seconds 10]
 *        [--check-rows 200] [--stack <scripts/stack.sh>]
 *
 * Every run creates its own tables, slots, publications and topics (names carry a stamp) and
 * drops them at the end, also when it fails or is interrupted. Prints the table and writes
 * bench/results/cdc.json. PostgreSQL: DATABASE_URL, else the local stack's.
 */
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { databaseUrl } from '@kafka-pattern/test/support/services.ts';
import { Broker, bootstrapServers, sleep } from '../harness/broker.ts';
import { cpuSeconds } from '../harness/cpu.ts';
import { machineInfo, writeJson } from '../harness/report.ts';
import { median, percentile } from '../harness/stats.ts';
import {
  connect,
  createTable,
  deleteRows,
  dropAll,
  ident,
  insertRows,
  type Pattern,
  updateRows,
  writeChanges,
  writePaced,
} from './database.ts';
import { ArrivalReader, type Capture, endOffset, readCapture, waitForEnd } from './kafka.ts';
import { debezium, kafkaPattern, type Subject, type SubjectName, topicOf } from './subjects.ts';

const { values: args } = parseArgs({
  options: {
    patterns: { type: 'string', default: 'cdc,outbox' },
    subjects: { type: 'string', default: 'kafka-pattern,Debezium' },
    changes: { type: 'string', default: '50000' },
    batch: { type: 'string', default: '100' },
    reps: { type: 'string', default: '3' },
    'latency-rate': { type: 'string', default: '500' },
    'latency-seconds': { type: 'string', default: '10' },
    'check-rows': { type: 'string', default: '200' },
    stack: { type: 'string' },
  },
});

const PATTERNS = args.patterns.split(',').map((p): Pattern => {
  const t = p.trim();
  if (t === 'cdc' || t === 'outbox') return t;
  throw new Error(`--patterns: cdc and/or outbox, not ${t}`);
});
const SUBJECTS = args.subjects.split(',').map((s): SubjectName => {
  const t = s.trim();
  if (t === 'kafka-pattern' || t === 'Debezium') return t;
  throw new Error(`--subjects: kafka-pattern and/or Debezium, not ${t}`);
});
const CHANGES = Number(args.changes);
const BATCH = Number(args.batch);
const REPS = Number(args.reps);
const LATENCY_RATE = Number(args['latency-rate']);
const LATENCY_MS = Number(args['latency-seconds']) * 1000;
const LATENCY_WARMUP_MS = 1000;
// A multiple of 4: a quarter of the rows are deleted, half updated.
const CHECK_ROWS = Math.max(4, Math.round(Number(args['check-rows']) / 4) * 4);
/** A timed round fails when the topic has not grown for this long. */
const STALL_MS = 60_000;
// Debezium as it would be deployed: the JVM's own compiler and collector, a heap of 1 GiB.
const JVM_OPTIONS = ['-Xmx1g'];
const RESULTS = fileURLToPath(new URL('../../results/', import.meta.url));
const SERVERS = bootstrapServers();
const POSTGRES = databaseUrl();
/** The latency run's ids, above any throughput round's. */
const LATENCY_FIRST_ID = 1_000_000_000;

function log(message: string): void {
  process.stderr.write(`cdc: ${message}\n`);
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');
const ABBR: Record<SubjectName, string> = { 'kafka-pattern': 'kp', Debezium: 'dbz' };

/** One subject of one pattern, with everything it captures and where its records go. */
interface Setup {
  subject: Subject;
  pattern: Pattern;
  /** The table written to per phase (cdc: three tables; outbox: one table for all). */
  table: { check: string; throughput: string; latency: string };
  /** Per phase, the outbox's aggregate type (cdc: unused). */
  aggregateType: { check: string; throughput: string; latency: string };
  topic: { check: string; throughput: string; latency: string };
}

interface ThroughputRun {
  round: number;
  warmup: boolean;
  changes: number;
  seconds: number;
  rowsPerSec: number;
  cpuSeconds: number;
  rowsPerCpuSec: number;
  /** How long committing took: the writer must be well ahead of the subject. */
  commitSeconds: number;
}

interface Result {
  pattern: Pattern;
  subject: SubjectName;
  check: Capture;
  runs: ThroughputRun[];
  rowsPerSec: number;
  rowsPerCpuSec: number;
  latency: { p50Ms: number; p99Ms: number; maxMs: number; samples: number; missing: number };
}

/** Created names, dropped at the end (and on SIGINT/SIGTERM). */
const created = {
  slots: [] as string[],
  publications: [] as string[],
  tables: [] as string[],
  topicPrefixes: [] as string[],
};
const running: Subject[] = [];

async function cleanUp(): Promise<void> {
  for (const s of running.splice(0)) {
    await s.stop().catch((e: unknown) => log(`stopping ${s.name}: ${String(e)}`));
  }
  const problems = await dropAll(POSTGRES, created);
  for (const p of problems) log(`clean-up: ${p}`);
  const broker = new Broker(SERVERS);
  try {
    for (const prefix of created.topicPrefixes) await broker.deleteTopicsWithPrefix(prefix).catch(() => {});
  } finally {
    await broker.close().catch(() => {});
  }
  created.slots = [];
  created.publications = [];
  created.tables = [];
  created.topicPrefixes = [];
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: dropping the run's slots, publications, tables and topics`);
    cleanUp().finally(() => process.exit(130));
  });
}

async function setUp(pattern: Pattern, name: SubjectName, stamp: string, broker: Broker): Promise<Setup> {
  const abbr = ABBR[name];
  const base = ident('bench', pattern, stamp, abbr);
  const topicPrefix = `bench-cdc-${stamp}-${abbr}`;
  const phases = ['check', 'throughput', 'latency'] as const;
  const per = (f: (phase: (typeof phases)[number]) => string) =>
    ({ check: f('check'), throughput: f('throughput'), latency: f('latency') }) as Setup['table'];
  const table = pattern === 'cdc' ? per((p) => `${base}_${p}`) : per(() => base);
  const aggregateType = per((p) => (pattern === 'outbox' ? `${base}_${p}` : ''));
  const topic = per((p) => topicOf(pattern, topicPrefix, pattern === 'cdc' ? table[p] : aggregateType[p]));
  const tables = [...new Set(Object.values(table))];
  const slot = `${base}_slot`;
  const publication = `${base}_pub`;
  created.slots.push(slot);
  created.publications.push(publication);
  created.tables.push(...tables);
  created.topicPrefixes.push(pattern === 'cdc' ? topicPrefix : `outbox.event.${base}`);
  const db = await connect(POSTGRES);
  try {
    for (const t of tables) await createTable(db, pattern, t);
  } finally {
    await db.end();
  }
  // One partition each, created here for both subjects alike, as a broker would auto-create them.
  for (const t of Object.values(topic)) await broker.createTopic(t, 1);
  const settings = {
    pattern,
    postgres: POSTGRES,
    bootstrapServers: SERVERS,
    tables,
    topicPrefix,
    slot,
    publication,
  };
  const subject = name === 'Debezium' ? debezium(settings, JVM_OPTIONS) : kafkaPattern(settings);
  return { subject, pattern, table, aggregateType, topic };
}

/** cdc: CHECK_ROWS inserts, half of them updated, a quarter deleted; outbox: CHECK_ROWS events. */
function expectedCapture(pattern: Pattern): Omit<Capture, 'firstKey'> {
  const ids: number[] = [];
  for (let id = 1; id <= CHECK_ROWS; id++) {
    const times = pattern === 'outbox' ? 1 : id <= CHECK_ROWS / 4 ? 4 : id <= CHECK_ROWS / 2 ? 2 : 1;
    for (let k = 0; k < times; k++) ids.push(id);
  }
  const q = CHECK_ROWS / 4;
  const kinds: Record<string, number> =
    pattern === 'outbox' ? { event: CHECK_ROWS } : { c: CHECK_ROWS, u: 2 * q, d: q, tombstone: q };
  return { records: ids.length, kinds, ids };
}

async function check(broker: Broker, setup: Setup): Promise<Capture> {
  const { pattern } = setup;
  const db = await connect(POSTGRES);
  try {
    for (let i = 1; i <= CHECK_ROWS; i += 50)
      await insertRows(
        db,
        pattern,
        setup.table.check,
        i,
        Math.min(CHECK_ROWS, i + 49),
        setup.aggregateType.check,
      );
    if (pattern === 'cdc') {
      await updateRows(db, setup.table.check, 1, CHECK_ROWS / 2);
      await deleteRows(db, setup.table.check, 1, CHECK_ROWS / 4);
    }
  } finally {
    await db.end();
  }
  const expected = expectedCapture(pattern);
  const topic = setup.topic.check;
  if (!(await waitForEnd(broker, topic, expected.records, 60_000)))
    throw new Error(
      `${setup.subject.name} ${pattern}: ${await endOffset(broker, topic)} of ${expected.records} records in ${topic} after 60 s`,
    );
  await sleep(1_000); // anything beyond the expected records would be there by now
  const capture = await readCapture(SERVERS, pattern, topic, await endOffset(broker, topic));
  const same =
    capture.records === expected.records &&
    Object.keys(capture.kinds).length === Object.keys(expected.kinds).length &&
    Object.keys(expected.kinds).every((k) => capture.kinds[k] === expected.kinds[k]) &&
    JSON.stringify(capture.ids) === JSON.stringify(expected.ids);
  if (!same)
    throw new Error(
      `${setup.subject.name} ${pattern}: the check's records are not what its changes give: ${capture.records} records ${JSON.stringify(capture.kinds)}, expected ${expected.records} ${JSON.stringify(expected.kinds)}`,
    );
  log(
    `${setup.subject.name} ${pattern} check: ${capture.records} records ${JSON.stringify(capture.kinds)}, keys like ${capture.firstKey}`,
  );
  return capture;
}

async function throughput(broker: Broker, setup: Setup, round: number): Promise<ThroughputRun> {
  const topic = setup.topic.throughput;
  const base = await endOffset(broker, topic);
  const target = base + CHANGES;
  const pid = setup.subject.pid();
  const db = await connect(POSTGRES);
  try {
    const cpuBefore = cpuSeconds(pid);
    const writing = writeChanges(
      db,
      setup.pattern,
      setup.table.throughput,
      1 + round * CHANGES,
      CHANGES,
      BATCH,
      setup.aggregateType.throughput,
    );
    let failure: unknown;
    writing.catch((e: unknown) => {
      failure = e;
    });
    let seen = base;
    let progressAt = performance.now();
    let lastAt: number;
    for (;;) {
      const at = performance.now();
      const end = await endOffset(broker, topic);
      if (end >= target) {
        lastAt = at;
        break;
      }
      if (failure) throw failure;
      if (end > seen) {
        seen = end;
        progressAt = at;
      } else if (at - progressAt > STALL_MS) {
        throw new Error(
          `${setup.subject.name} ${setup.pattern}: ${end - base} of ${CHANGES} records, none for ${STALL_MS / 1000} s`,
        );
      }
      setup.subject.pid(); // throws once our subject's process failed
      await sleep(20);
    }
    const cpu = cpuSeconds(pid) - cpuBefore;
    const written = await writing;
    const seconds = (lastAt - written.firstCommitAt) / 1000;
    return {
      round,
      warmup: round === 0,
      changes: CHANGES,
      seconds,
      rowsPerSec: CHANGES / seconds,
      cpuSeconds: cpu,
      rowsPerCpuSec: CHANGES / cpu,
      commitSeconds: (written.lastCommitAt - written.firstCommitAt) / 1000,
    };
  } finally {
    await db.end();
  }
}

async function latency(setup: Setup): Promise<Result['latency']> {
  const reader = new ArrivalReader(SERVERS, setup.pattern, setup.topic.latency);
  await reader.start();
  const db = await connect(POSTGRES);
  try {
    await sleep(1_000); // the reader joins its group meanwhile
    const startedAt = Date.now();
    const committedAt = await writePaced(
      db,
      setup.pattern,
      setup.table.latency,
      LATENCY_FIRST_ID,
      LATENCY_RATE,
      LATENCY_MS,
      setup.aggregateType.latency,
    );
    const deadline = performance.now() + 30_000;
    while (reader.arrivedAt.size < committedAt.size && performance.now() < deadline) await sleep(50);
    const samples: number[] = [];
    let missing = 0;
    for (const [id, at] of committedAt) {
      const arrived = reader.arrivedAt.get(id);
      if (arrived === undefined) missing++;
      else if (at - startedAt >= LATENCY_WARMUP_MS) samples.push(arrived - at);
    }
    return {
      p50Ms: percentile(samples, 50),
      p99Ms: percentile(samples, 99),
      maxMs: Math.max(...samples),
      samples: samples.length,
      missing,
    };
  } finally {
    await db.end();
    await reader.close();
  }
}

const spread = (xs: number[]) => (xs.length < 2 ? 0 : (Math.max(...xs) - Math.min(...xs)) / 2 / median(xs));

async function runPattern(broker: Broker, pattern: Pattern, stamp: string): Promise<Result[]> {
  const setups: Setup[] = [];
  for (const name of SUBJECTS) setups.push(await setUp(pattern, name, stamp, broker));
  for (const s of setups) {
    log(`${pattern}: starting ${s.subject.name}`);
    const startedAt = performance.now();
    running.push(s.subject);
    await s.subject.start();
    log(`${pattern}: ${s.subject.name} started in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
  }
  const checks = new Map<Setup, Capture>();
  for (const s of setups) checks.set(s, await check(broker, s));
  const [first, second] = [...checks.values()];
  if (first && second && JSON.stringify(first.ids) !== JSON.stringify(second.ids))
    throw new Error(`${pattern}: the subjects' check records have different keys`);
  const runs = new Map<Setup, ThroughputRun[]>(setups.map((s) => [s, []]));
  for (let round = 0; round <= REPS; round++) {
    const order = round % 2 === 0 ? setups : [...setups].reverse();
    for (const s of order) {
      const r = await throughput(broker, s, round);
      runs.get(s)!.push(r);
      log(
        `${pattern} ${s.subject.name} round ${round}${r.warmup ? ' (warm-up)' : ''}: ${n(r.rowsPerSec)} rows/s (${r.seconds.toFixed(2)} s, commits took ${r.commitSeconds.toFixed(2)} s), ${n(r.rowsPerCpuSec)} rows per CPU second`,
      );
    }
  }
  const results: Result[] = [];
  for (const s of setups) {
    const l = await latency(s);
    log(
      `${pattern} ${s.subject.name} latency: p50 ${l.p50Ms} ms, p99 ${l.p99Ms} ms (${l.samples} samples, ${l.missing} missing)`,
    );
    const timed = runs.get(s)!.filter((r) => !r.warmup);
    results.push({
      pattern,
      subject: s.subject.name,
      check: { ...checks.get(s)!, ids: [] },
      runs: runs.get(s)!,
      rowsPerSec: median(timed.map((r) => r.rowsPerSec)),
      rowsPerCpuSec: median(timed.map((r) => r.rowsPerCpuSec)),
      latency: l,
    });
  }
  return results;
}

const HEADER = [
  'pattern',
  'implementation',
  'rows/s',
  'runs ±',
  'rows per CPU s',
  'p50 ms',
  'p99 ms',
  'keys',
];

function cells(r: Result): string[] {
  const timed = r.runs.filter((x) => !x.warmup).map((x) => x.rowsPerSec);
  return [
    r.pattern,
    r.subject,
    n(r.rowsPerSec),
    `${Math.round(spread(timed) * 100)}%`,
    n(r.rowsPerCpuSec),
    n(r.latency.p50Ms),
    n(r.latency.p99Ms),
    r.check.firstKey,
  ];
}

function print(results: Result[], loadAverage: number): void {
  const all = [HEADER, ...results.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i >= 2 && i <= 6 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  process.stdout.write(
    `\n${[line(HEADER), widths.map((x) => '-'.repeat(x)).join('  '), ...results.map((r) => line(cells(r)))].join('\n')}\n\n` +
      `${n(CHANGES)} changes per round in transactions of ${BATCH} rows, median of ${REPS} after 1 warm-up; latency at ${LATENCY_RATE} rows/s for ${LATENCY_MS / 1000} s (first ${LATENCY_WARMUP_MS / 1000} s not counted); load average ${loadAverage}\n`,
  );
}

async function main(): Promise<void> {
  const stamp = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const broker = new Broker(SERVERS);
  const results: Result[] = [];
  try {
    for (const pattern of PATTERNS) {
      try {
        results.push(...(await runPattern(broker, pattern, stamp)));
      } finally {
        await cleanUp();
      }
    }
  } finally {
    await broker.close();
  }
  const machine = machineInfo(
    SERVERS,
    args.stack === undefined ? undefined : join(dirname(args.stack), '..'),
  );
  print(results, machine.loadAverage);
  writeJson(join(RESULTS, 'cdc.json'), {
    date: new Date().toISOString(),
    machine,
    settings: {
      changes: CHANGES,
      batch: BATCH,
      repetitions: REPS,
      warmupRounds: 1,
      latency: { ratePerSec: LATENCY_RATE, durationMs: LATENCY_MS, warmupMs: LATENCY_WARMUP_MS },
      checkRows: CHECK_ROWS,
      debeziumJvmOptions: JVM_OPTIONS,
    },
    results,
  });
}

main().catch(async (error: unknown) => {
  process.stderr.write(
    `cdc failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
  await cleanUp().catch(() => {});
});
