/**
 * What a run reports: the table on stdout, bench/results/latest.json, and the results section of
 * bench/README.md (between its `results:start` / `results:end` markers).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { brokerVersion } from './broker.ts';
import type { ComparisonRow } from './compare.ts';
import type { Guarantee } from './pipe.ts';

export interface Row {
  scenario: string;
  subject: string;
  guarantee: Guarantee;
  /** Median of the timed runs. */
  recordsPerSec: number;
  runs: number[];
  /**
   * Median of the timed runs' input records per CPU-second of the subject's processes over the
   * drain (absent where not measured: a restoration).
   */
  recordsPerCpuSec?: number;
  cpuRuns?: number[];
  /** recordsPerSec over each baseline's with the same guarantee (NaN when the baseline did not run). */
  baselines: { label: string; scenario: string; subject: string; ratio: number }[];
  /** Absent where a paced run means nothing (restoration). */
  latency?: { p50Ms: number; p99Ms: number; samples: number };
  /** Highest resident set size of the subject's process over all its runs (warm-up, timed, latency). */
  peakRssMiB: number;
  /** Records restored per run, for a restoration. */
  records?: number;
  /** On a twin of `--compare`: the subject of this commit it runs as of the other commit. */
  twinOf?: string;
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  client: string;
  broker: { version: string; bootstrapServers: string[] };
  /** 1-minute load average when the run ended: the broker and anything else on the machine compete with the pipes. */
  loadAverage: number;
}

export interface Report {
  date: string;
  machine: MachineInfo;
  settings: {
    /** `--records`; each scenario drains a multiple of it (`scenarios[].records`). */
    records: number;
    repetitions: number;
    warmupRuns: number;
    /** Warm-up drains of the Kafka Streams (Java) subject. */
    jvmWarmupRuns?: number;
    commitIntervalMs: Record<Guarantee, number>;
    latency: { ratePerSec: number; durationMs: number; warmupMs: number };
    profiled: boolean;
  };
  scenarios: { name: string; summary: string; records: number; baselines: string[] }[];
  rows: Row[];
  /** `--compare`: this commit's framework subjects against their twins of `commit`. */
  comparison?: {
    ref: string;
    commit: string;
    /** How the twins are named: `kafka-pattern@<short>`. */
    short: string;
    /** The commit of the tree this run's harness and current subjects ran from. */
    head: string;
    /** Whether that tree's packages/ or bench/ differed from `head`. */
    uncommitted: boolean;
    rows: ComparisonRow[];
    /** Subjects without a twin, one line each. */
    notes: string[];
  };
}

/** `stackRoot`: the checkout whose local stack runs the broker (default: this one). */
export function machineInfo(servers: string[], stackRoot?: string): MachineInfo {
  const clientPackage = JSON.parse(
    readFileSync(new URL('../../node_modules/@platformatic/kafka/package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    client: `@platformatic/kafka ${clientPackage.version}`,
    broker: { version: brokerVersion(stackRoot), bootstrapServers: servers },
    loadAverage: Math.round(loadavg()[0]! * 100) / 100,
  };
}

const HEADER = [
  'scenario',
  'implementation',
  'guarantee',
  'records/s',
  'per CPU-s',
  'vs baseline',
  'p50 ms',
  'p99 ms',
  'peak RSS MiB',
];
const NUMERIC = new Set([3, 4, 6, 7, 8]);

function rate(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '—' : Math.round(x).toLocaleString('en-US');
}

function cells(r: Row): string[] {
  return [
    r.scenario,
    r.subject,
    r.guarantee,
    rate(r.recordsPerSec),
    rate(r.recordsPerCpuSec),
    r.baselines
      .map((b) => `${Number.isFinite(b.ratio) ? `${b.ratio.toFixed(2)}×` : '—'} ${b.label}`)
      .join(', '),
    r.latency ? r.latency.p50Ms.toFixed(0) : '—',
    r.latency ? r.latency.p99Ms.toFixed(0) : '—',
    r.peakRssMiB.toFixed(0),
  ];
}

function context(report: Report): string {
  const m = report.machine;
  const s = report.settings;
  return (
    `${report.date.slice(0, 10)}, ${m.cpus} CPUs (${m.cpuModel}), Node ${m.node}, Kafka ${m.broker.version} ` +
    `on the same machine, ${m.client}; records per drain and input topic: ${perScenario(report)}; ` +
    `median of ${s.repetitions} after ${s.warmupRuns} warm-up${s.jvmWarmupRuns === undefined ? '' : ` (Kafka Streams (Java): ${s.jvmWarmupRuns})`}; latency at ${s.latency.ratePerSec} records/s ` +
    `for ${s.latency.durationMs / 1000} s (first ${s.latency.warmupMs / 1000} s not counted); load average ${m.loadAverage}`
  );
}

function perScenario(report: Report): string {
  return report.scenarios.map((s) => `${s.name} ${s.records.toLocaleString('en-US')}`).join(', ');
}

export function printTable(report: Report): void {
  const rows = [HEADER, ...report.rows.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((c, i) => (NUMERIC.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  const out = [
    line(HEADER),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...report.rows.map((r) => line(cells(r))),
  ];
  process.stdout.write(`\n${out.join('\n')}\n\n${context(report)}\n`);
}

/**
 * One table per scenario with every implementation side by side: a row per guarantee and
 * measure (records/s, records per CPU-second), a column per implementation, the first column's
 * (`baseline`, Kafka Streams (Java)) the one every other is divided by. Scenarios without that
 * baseline are left out; a cell whose subject did not run that guarantee, or a column of `peers`
 * that cannot express the scenario, shows —.
 */
export function peerTables(
  report: Report,
  baseline: string,
  format: 'text' | 'markdown' = 'text',
  peers: readonly string[] = [],
): string {
  const tables: string[] = [];
  // A peer that ran in some scenario of the report gets a column (—) in the others too, unless
  // one of their implementations is named after it (KafkaJS + Map).
  const ran = peers.filter((p) => report.rows.some((r) => r.subject.startsWith(p)));
  for (const scenario of report.scenarios) {
    const rows = report.rows.filter((r) => r.scenario === scenario.name && r.twinOf === undefined);
    if (!rows.some((r) => r.subject === baseline)) continue;
    const names = [
      baseline,
      ...new Set(rows.map((r) => r.subject).filter((n) => n !== baseline)),
      ...ran.filter((p) => !rows.some((r) => r.subject.startsWith(p))),
    ];
    const header = [scenario.name, 'measure', ...names];
    const body: string[][] = [];
    for (const guarantee of new Set(rows.map((r) => r.guarantee))) {
      for (const [measure, of] of [
        ['records/s', (r: Row) => r.recordsPerSec],
        ['per CPU-s', (r: Row) => r.recordsPerCpuSec],
      ] as const) {
        const find = (name: string) => rows.find((r) => r.subject === name && r.guarantee === guarantee);
        const base = find(baseline);
        const baseValue = base ? of(base) : undefined;
        if (rows.every((r) => r.guarantee !== guarantee || of(r) === undefined)) continue;
        body.push([
          guarantee,
          measure,
          ...names.map((name) => {
            const r = find(name);
            const value = r ? of(r) : undefined;
            if (value === undefined || !Number.isFinite(value)) return '—';
            if (name === baseline || baseValue === undefined || !Number.isFinite(baseValue))
              return rate(value);
            return `${rate(value)} (${(value / baseValue).toFixed(2)}×)`;
          }),
        ]);
      }
    }
    if (format === 'markdown') {
      const row = (c: string[]) => `| ${c.join(' | ')} |`;
      const align = header.map((_, i) => (i < 2 ? '---' : '--:'));
      tables.push([row(header), row(align), ...body.map(row)].join('\n'));
      continue;
    }
    const all = [header, ...body];
    const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
    const line = (r: string[]) =>
      r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    tables.push([line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n'));
  }
  return tables.length === 0
    ? ''
    : `\nEvery implementation of a scenario side by side; (×) is over ${baseline} with the same guarantee and measure:\n\n${tables.join('\n\n')}\n`;
}

/**
 * `--compare`: records/s of each side with the spread of its timed runs, current ÷ ref, and the
 * p99 of each.
 */
export function printComparison(report: Report): void {
  const c = report.comparison;
  if (!c) return;
  const short = c.short;
  const header = [
    'scenario',
    'implementation',
    'guarantee',
    'records/s',
    'runs ±',
    `@${short}`,
    'runs ±',
    `÷ @${short}`,
    'p99 ms',
    `p99 @${short}`,
  ];
  const numeric = new Set([3, 4, 5, 6, 7, 8, 9]);
  const p99 = (ms: number | undefined) => (ms === undefined ? '—' : ms.toFixed(0));
  const spread = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : '—');
  const rows = c.rows.map((r) => [
    r.scenario,
    r.subject,
    r.guarantee,
    Math.round(r.current.recordsPerSec).toLocaleString('en-US'),
    spread(r.current.spread),
    Math.round(r.ref.recordsPerSec).toLocaleString('en-US'),
    spread(r.ref.spread),
    `${r.ratio.toFixed(2)}×`,
    p99(r.current.p99Ms),
    p99(r.ref.p99Ms),
  ]);
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((x, i) => (numeric.has(i) ? x.padStart(widths[i]!) : x.padEnd(widths[i]!))).join('  ');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  process.stdout.write(
    `\nthis tree (${c.head.slice(0, c.short.length)}${c.uncommitted ? ' with uncommitted changes' : ''}) against ${c.ref} (${c.commit}), same run, interleaved; ÷ is this tree's records/s over theirs:\n\n` +
      `${out.join('\n')}\n${c.notes.map((n) => `\n${n}`).join('')}\n`,
  );
}

export function markdownTable(report: Report): string {
  const align = HEADER.map((_, i) => (NUMERIC.has(i) ? '--:' : '---'));
  const row = (c: string[]) => `| ${c.join(' | ')} |`;
  return [row(HEADER), row(align), ...report.rows.map((r) => row(cells(r)))].join('\n');
}

export function writeJson(path: string, report: object): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}

const START = '<!-- results:start -->';
const END = '<!-- results:end -->';

/** `peers`: the side-by-side tables (peerTables, markdown) written after the long table. */
export function updateReadme(path: string, report: Report, peers = ''): void {
  const text = readFileSync(path, 'utf8');
  const from = text.indexOf(START);
  const to = text.indexOf(END);
  if (from < 0 || to < from) {
    process.stderr.write(
      `bench: ${path} has no ${START} … ${END} section; the table was not written there\n`,
    );
    return;
  }
  const section = `${START}\n${markdownTable(report)}\n\n${context(report)}.\n${peers}${END}`;
  writeFileSync(path, text.slice(0, from) + section + text.slice(to + END.length));
}
