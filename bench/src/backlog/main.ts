/**
 * Memory while draining a backlog: each implementation starts, in a process of its own, on an
 * input that already holds `--records` (default 1,000,000) records, and drains it once; the
 * report is the process's peak resident set size over that drain, next to its records/s. The
 * stateless scenario's and the stateful count's implementations (the framework and the raw
 * @platformatic/kafka pipes), under both guarantees, and two processes that only load the
 * client or the framework and do nothing: the floor under every row. Prints the table and
 * writes bench/results/backlog.json.
 *
 *   node bench/src/backlog/main.ts [--records 1000000] [--workloads stateless,count]
 *                                  [--guarantees at_least_once,exactly_once_v2] [--stack <scripts/stack.sh>]
 *
 * A drain here is a single cold run (a fresh process each, no warm-up), timed as the main
 * bench's drains are (harness/measure.ts): from the pipe owning its partitions until every
 * output is written (at_least_once) or every input offset committed (exactly_once_v2).
 * `--stack` only says which checkout's local stack runs the broker, for its version in the report.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Broker, bootstrapServers, prefill, sleep } from '../harness/broker.ts';
import type { MemoryPeaks } from '../harness/child.ts';
import { measureDrain, PipeProcess } from '../harness/measure.ts';
import type { Guarantee } from '../harness/pipe.ts';
import { machineInfo, writeJson } from '../harness/report.ts';
import { COMMIT_INTERVAL_MS, type DrainScenario, SCENARIOS, type Subject } from '../scenarios.ts';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    workloads: { type: 'string', default: 'stateless,count' },
    guarantees: { type: 'string', default: 'at_least_once,exactly_once_v2' },
    // Only to report the broker's version: the scripts/stack.sh of the checkout that runs it.
    stack: { type: 'string' },
  },
});

const RECORDS = Number(args.records);
const GUARANTEES = new Set(args.guarantees.split(',').map((g) => g.trim()));
const RESULTS = fileURLToPath(new URL('../../results/', import.meta.url));
const IDLE = new URL('./idle.ts', import.meta.url);
const PARTITIONS = 3;

/** Which of the main bench's scenarios and subjects each workload runs. */
const WORKLOADS: Record<string, { scenario: string; subjects: readonly string[] }> = {
  stateless: { scenario: 'stateless', subjects: ['kafka-pattern', 'raw pipe'] },
  count: { scenario: 'stateful count', subjects: ['kafka-pattern SQLite', 'raw pipe + Map'] },
};

function log(message: string): void {
  process.stderr.write(`backlog: ${message}\n`);
}

interface BacklogRow {
  workload: string;
  subject: string;
  guarantee: Guarantee | '—';
  records: number;
  seconds: number;
  recordsPerSec: number;
  peakRssMiB: number;
  peakHeapUsedMiB: number;
  peakExternalMiB: number;
}

const MiB = 2 ** 20;

function memoryOf(pipe: PipeProcess): Pick<BacklogRow, 'peakRssMiB' | 'peakHeapUsedMiB' | 'peakExternalMiB'> {
  const p: MemoryPeaks | undefined = pipe.memoryPeaks;
  return {
    peakRssMiB: pipe.peakRssBytes / MiB,
    peakHeapUsedMiB: (p?.heapUsedBytes ?? Number.NaN) / MiB,
    peakExternalMiB: (p?.externalBytes ?? Number.NaN) / MiB,
  };
}

async function idle(load: 'client' | 'framework'): Promise<BacklogRow> {
  const pipe = new PipeProcess(`idle (${load})`);
  const stateDir = mkdtempSync(join(tmpdir(), 'kp-bench-idle-'));
  try {
    await pipe.start(IDLE, {
      bootstrapServers: [],
      input: '',
      inputs: [],
      output: '',
      groupId: '',
      guarantee: 'at_least_once',
      commitIntervalMs: 0,
      stateDir,
      params: { load },
    });
    await sleep(1_000);
    await pipe.stop();
    return {
      workload: '—',
      subject: load === 'client' ? 'Node + client loaded, idle' : 'Node + framework loaded, idle',
      guarantee: '—',
      records: 0,
      seconds: 0,
      recordsPerSec: 0,
      ...memoryOf(pipe),
    };
  } finally {
    await pipe.exit();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

async function drain(broker: Broker, workload: string, stamp: string): Promise<BacklogRow[]> {
  const w = WORKLOADS[workload];
  if (!w) throw new Error(`--workloads: ${Object.keys(WORKLOADS).join(', ')}, not ${workload}`);
  const scenario = SCENARIOS.find((s): s is DrainScenario => s.name === w.scenario && s.kind === 'drain')!;
  const subjects = scenario.subjects.filter(
    (s: Subject) => w.subjects.includes(s.name) && GUARANTEES.has(s.guarantee),
  );
  const prefix = `bench-backlog-${workload}-${stamp}`;
  const input = `${prefix}-in`;
  const stateRoot = mkdtempSync(join(tmpdir(), 'kp-bench-backlog-'));
  const rows: BacklogRow[] = [];
  try {
    await broker.createTopic(input, PARTITIONS);
    log(`${workload}: pre-filling ${input} with ${RECORDS.toLocaleString('en-US')} records`);
    const filling = performance.now();
    await prefill(broker.servers, input, PARTITIONS, RECORDS, scenario.inputs[0]!);
    log(`${workload}: pre-filled in ${((performance.now() - filling) / 1000).toFixed(1)} s`);
    const expected = scenario.expectedOutputs(RECORDS);
    for (const [n, s] of subjects.entries()) {
      const label = `${s.name} (${s.guarantee})`;
      const pipe = new PipeProcess(label);
      try {
        const result = await measureDrain(
          {
            pipe,
            module: s.module,
            guarantee: s.guarantee,
            commitIntervalMs: COMMIT_INTERVAL_MS[s.guarantee],
            params: s.params,
          },
          {
            broker,
            inputs: [input],
            partitions: PARTITIONS,
            recordsPerInput: RECORDS,
            expectedOutputs: expected,
            runId: `${prefix}-${n}`,
            stateDir: join(stateRoot, `${n}`),
            timeoutMs: 600_000,
          },
        );
        const row: BacklogRow = {
          workload,
          subject: s.name,
          guarantee: s.guarantee,
          records: RECORDS,
          seconds: result.seconds,
          recordsPerSec: result.recordsPerSec,
          ...memoryOf(pipe),
        };
        log(
          `${workload} ${label}: ${Math.round(row.recordsPerSec)} records/s (${row.seconds.toFixed(1)} s), peak RSS ${row.peakRssMiB.toFixed(0)} MiB`,
        );
        rows.push(row);
      } finally {
        await pipe.exit();
      }
    }
    return rows;
  } finally {
    await broker.deleteTopicsWithPrefix(prefix).catch(() => {});
    rmSync(stateRoot, { recursive: true, force: true });
  }
}

const HEADER = [
  'workload',
  'implementation',
  'guarantee',
  'records/s',
  'drain s',
  'peak RSS MiB',
  'heap used MiB',
  'external MiB',
];

function cells(r: BacklogRow): string[] {
  const drained = r.records > 0;
  return [
    r.workload,
    r.subject,
    r.guarantee,
    drained ? Math.round(r.recordsPerSec).toLocaleString('en-US') : '—',
    drained ? r.seconds.toFixed(1) : '—',
    r.peakRssMiB.toFixed(0),
    r.peakHeapUsedMiB.toFixed(0),
    r.peakExternalMiB.toFixed(0),
  ];
}

function print(rows: BacklogRow[], loadAverage: number): void {
  const all = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  process.stdout.write(
    `\n${[line(HEADER), widths.map((x) => '-'.repeat(x)).join('  '), ...rows.map((r) => line(cells(r)))].join('\n')}\n\n` +
      `${RECORDS.toLocaleString('en-US')} records per backlog, 3 partitions, one cold drain per process; heap used and external: highest 250 ms samples; load average ${loadAverage}\n`,
  );
}

async function main(): Promise<void> {
  const broker = new Broker(bootstrapServers());
  const stamp = Date.now().toString(36);
  const rows: BacklogRow[] = [];
  try {
    rows.push(await idle('client'), await idle('framework'));
    for (const workload of args.workloads.split(',').map((x) => x.trim())) {
      rows.push(...(await drain(broker, workload, stamp)));
    }
  } finally {
    await broker.close();
  }
  const machine = machineInfo(
    broker.servers,
    args.stack === undefined ? undefined : join(dirname(args.stack), '..'),
  );
  print(rows, machine.loadAverage);
  const run = {
    date: new Date().toISOString(),
    machine,
    settings: { records: RECORDS, partitions: PARTITIONS, commitIntervalMs: COMMIT_INTERVAL_MS },
    rows,
  };
  // One file for all workloads: a run of some replaces theirs and keeps the others' runs.
  const path = join(RESULTS, 'backlog.json');
  const ran = new Set(rows.map((r) => r.workload));
  let earlier: (typeof run)[] = [];
  try {
    earlier = (JSON.parse(readFileSync(path, 'utf8')) as { runs: (typeof run)[] }).runs ?? [];
  } catch {
    // none yet
  }
  const kept = earlier
    .map((r) => ({ ...r, rows: r.rows.filter((x) => x.workload !== '—' && !ran.has(x.workload)) }))
    .filter((r) => r.rows.length > 0);
  writeJson(path, { runs: [...kept, run] });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `backlog failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
