/**
 * `pnpm bench`: runs every scenario of the registry against the local broker and reports
 * throughput (drain rate of a pre-filled input) and end-to-end latency (a paced run) of each
 * subject next to its baselines. Prints the table, writes bench/results/latest.json and the
 * results table of bench/README.md.
 *
 *   node bench/src/main.ts [--records 500000] [--reps 3] [--scenarios stateless,stateful]
 *                          [--latency-rate 2000] [--latency-seconds 5] [--profile]
 *                          [--compare <git ref>] [--subjects kafka-pattern,KafkaJS]
 *
 * --scenarios (or --scenario, repeated) takes scenario names or the start of one.
 * --subjects runs only the implementations whose names start with one of these (comma-separated,
 * case-insensitive), e.g. `--subjects kafka-pattern,Kafka Streams`; a ratio whose baseline did not
 * run shows as —.
 * --profile runs the framework's subjects under `node --cpu-prof` and Kafka Streams (Java) under
 * Java Flight Recorder, and prints where their time goes; its numbers are skewed by the
 * profilers, so it writes no results.
 * --compare runs each framework subject a second time as of another commit, in the same rounds
 * (harness/compare.ts), prints records/s and p99 of both and writes bench/results/compare.json
 * instead of latest.json and the README table.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Broker, bootstrapServers, prefill } from './harness/broker.ts';
import {
  checkoutRef,
  comparisonRows,
  type RefCheckout,
  repositoryRoot,
  withTwins,
} from './harness/compare.ts';
import { summarizeJfr } from './harness/jfr-profile.ts';
import {
  type DrainResult,
  measureDrain,
  measureLatency,
  measureRestore,
  PipeProcess,
  type PipeTarget,
} from './harness/measure.ts';
import { summarizeProfile } from './harness/profile.ts';
import {
  machineInfo,
  peerTables,
  printComparison,
  printTable,
  type Report,
  type Row,
  updateReadme,
  writeJson,
} from './harness/report.ts';
import { median } from './harness/stats.ts';
import { ensureJavaBuilt, JFR_ENV } from './peers/kafka-streams-java.ts';
import {
  COMMIT_INTERVAL_MS,
  type DrainScenario,
  JVM_WARMUPS,
  KAFKA_STREAMS_JAVA,
  KAFKAJS,
  KAFKATS_FLOW,
  type RestoreScenario,
  SCENARIOS,
  type Scenario,
  type Subject,
  selectScenarios,
  selectSubjects,
} from './scenarios.ts';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '500000' },
    reps: { type: 'string', default: '3' },
    scenario: { type: 'string', multiple: true },
    scenarios: { type: 'string', multiple: true },
    'latency-rate': { type: 'string', default: '2000' },
    'latency-seconds': { type: 'string', default: '5' },
    profile: { type: 'boolean', default: false },
    compare: { type: 'string' },
    subjects: { type: 'string' },
  },
});

const RECORDS = Number(args.records);
const REPS = Number(args.reps);
const LATENCY_RATE = Number(args['latency-rate']);
const LATENCY_MS = Number(args['latency-seconds']) * 1000;
const LATENCY_WARMUP_MS = 1000;
const PROFILE = args.profile;
const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));
// Profiles are large and of one machine: kept out of the repository.
const PROFILES = join(tmpdir(), 'kafka-pattern-bench-profiles');

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function label(s: Subject): string {
  return `${s.name} (${s.guarantee})`;
}

function slug(s: Subject): string {
  return `${s.name.replace(/\W+/g, '')}-${s.guarantee === 'exactly_once_v2' ? 'eos' : 'alos'}`;
}

/** The JavaScript peers: a column in every scenario's side-by-side table, — where they do not run. */
const PEERS = [KAFKAJS, KAFKATS_FLOW];

/** A row before its ratios, which may need scenarios run after it. */
type Measured = Omit<Row, 'baselines'>;

interface Pipes {
  readonly byS: Map<Subject, PipeProcess>;
  target(s: Subject): PipeTarget;
}

function openPipes(scenario: Scenario, subjects: readonly Subject[]): Pipes {
  const byS = new Map<Subject, PipeProcess>();
  for (const s of subjects) {
    const prof =
      PROFILE && s.framework
        ? ['--cpu-prof', `--cpu-prof-dir=${PROFILES}`, `--cpu-prof-name=${profileName(scenario, s)}`]
        : [];
    const env: Record<string, string> =
      PROFILE && s.name === KAFKA_STREAMS_JAVA ? { [JFR_ENV]: join(PROFILES, jfrName(scenario, s)) } : {};
    byS.set(s, new PipeProcess(label(s), prof, env));
  }
  return {
    byS,
    target: (s) => ({
      pipe: byS.get(s)!,
      module: s.module,
      guarantee: s.guarantee,
      commitIntervalMs: COMMIT_INTERVAL_MS[s.guarantee],
      params: s.params,
    }),
  };
}

function profileName(scenario: Scenario, s: Subject): string {
  return `${scenario.name.replace(/\W+/g, '-')}-${slug(s)}.cpuprofile`;
}

function jfrName(scenario: Scenario, s: Subject): string {
  return `${scenario.name.replace(/\W+/g, '-')}-${slug(s)}.jfr`;
}

/**
 * Rounds interleave the subjects, and the order rotates, so no subject always runs first (or
 * last) on a broker whose page cache and segments change as the run goes on. Round 0 warms up.
 */
async function timedRounds(
  scenario: Scenario,
  measure: (s: Subject, run: Run) => Promise<DrainResult>,
): Promise<Map<Subject, Rates>> {
  const rates = new Map<Subject, Rates>(scenario.subjects.map((s) => [s, { perSec: [], perCpuSec: [] }]));
  for (let round = 0; round <= REPS; round++) {
    for (const s of rotate(scenario.subjects, round)) {
      // Round 0 is a subject's warm-up drains, one after the other; the first is also checked.
      const drains = round === 0 ? (s.warmups ?? 1) : 1;
      for (let warmup = 0; warmup < drains; warmup++) {
        const id = round === 0 && warmup > 0 ? `0w${warmup}` : `${round}`;
        const result = await measure(s, { id, checked: round === 0 && warmup === 0 });
        if (round > 0) {
          rates.get(s)!.perSec.push(result.recordsPerSec);
          rates.get(s)!.perCpuSec.push(result.recordsPerCpuSec ?? Number.NaN);
        }
        const cpu = result.recordsPerCpuSec;
        log(
          `${scenario.name} ${round === 0 ? `warm-up${drains > 1 ? ` ${warmup + 1}/${drains}` : ''}` : `run ${round}/${REPS}`} ${label(s)}: ${Math.round(result.recordsPerSec)} records/s${cpu !== undefined && Number.isFinite(cpu) ? `, ${Math.round(cpu)} per CPU-second` : ''} (${result.seconds.toFixed(2)} s${result.records === undefined ? '' : `, ${result.records} records`})`,
        );
      }
    }
  }
  return rates;
}

/** One drain of a subject: `id` names its topics and state; `checked` compares its output. */
interface Run {
  readonly id: string;
  readonly checked: boolean;
}

interface Rates {
  readonly perSec: number[];
  readonly perCpuSec: number[];
}

async function runDrainScenario(broker: Broker, scenario: DrainScenario, stamp: string): Promise<Measured[]> {
  const prefix = `bench-${scenario.name.replace(/\W+/g, '-')}-${stamp}`;
  const stateRoot = mkdtempSync(join(tmpdir(), 'kp-bench-'));
  const pipes = openPipes(scenario, scenario.subjects);
  try {
    // One set of inputs per size: the scenario's, and a smaller one for a subject that drains a
    // share of it (one too slow to drain the whole input several times within the run).
    const sizes = new Map<number, { inputs: string[]; records: number; expected: number; lines: string[] }>();
    for (const share of new Set([1, ...scenario.subjects.map((s) => s.recordsShare ?? 1)])) {
      const tag = share === 1 ? '' : `-share${String(share).replace(/\W/g, '')}`;
      const inputs = scenario.inputs.map((_, n) => `${prefix}${tag}-in${n === 0 ? '' : n + 1}`);
      const records = Math.round(recordsOf(scenario) * share);
      for (const [n, input] of inputs.entries()) {
        await broker.createTopic(input, scenario.inputPartitions);
        log(`${scenario.name}: pre-filling ${input} with ${records} records`);
        await prefill(broker.servers, input, scenario.inputPartitions, records, scenario.inputs[n]!);
      }
      const expected = scenario.expectedOutputs(records);
      const lines = scenario.output.expected(records);
      if (lines.length !== expected) {
        throw new Error(
          `${scenario.name}: ${lines.length} expected output records, but the drain waits for ${expected}`,
        );
      }
      sizes.set(share, { inputs, records, expected, lines });
    }
    const rates = await timedRounds(scenario, (s, r) => {
      const size = sizes.get(s.recordsShare ?? 1)!;
      return measureDrain(pipes.target(s), {
        broker,
        inputs: size.inputs,
        partitions: scenario.inputPartitions,
        recordsPerInput: size.records,
        expectedOutputs: size.expected,
        runId: `${prefix}-${slug(s)}-${r.id}`,
        stateDir: join(stateRoot, r.id),
        timeoutMs: 600_000,
        ...(r.checked ? { check: { label: label(s), output: scenario.output, expected: size.lines } } : {}),
      });
    });
    const latencies = new Map<Subject, { p50Ms: number; p99Ms: number; samples: number }>();
    for (const s of scenario.subjects.filter((x) => x.latency)) {
      const result = await measureLatency(pipes.target(s), {
        broker,
        partitions: scenario.inputPartitions,
        ratePerSec: LATENCY_RATE,
        durationMs: LATENCY_MS,
        warmupMs: LATENCY_WARMUP_MS,
        records: scenario.inputs,
        expectedOutputs: scenario.expectedOutputs,
        runId: `${prefix}-lat-${slug(s)}`,
        stateDir: join(stateRoot, 'latency'),
      });
      latencies.set(s, result);
      log(
        `${scenario.name} latency ${label(s)}: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms (${result.samples} records)`,
      );
    }
    await closePipes(pipes);
    return scenario.subjects.map((s) => ({
      ...measured(scenario, s, rates.get(s)!, pipes),
      ...(latencies.has(s) ? { latency: latencies.get(s)! } : {}),
    }));
  } finally {
    await closePipes(pipes);
    await broker.deleteTopicsWithPrefix(prefix).catch(() => {});
    rmSync(stateRoot, { recursive: true, force: true });
  }
}

async function runRestoreScenario(
  broker: Broker,
  scenario: RestoreScenario,
  stamp: string,
): Promise<Measured[]> {
  const prefix = `bench-${scenario.name.replace(/\W+/g, '-')}-${stamp}`;
  const input = `${prefix}-in`;
  const records = recordsOf(scenario);
  const stateRoot = mkdtempSync(join(tmpdir(), 'kp-bench-'));
  const writer = openPipes(scenario, [scenario.writer]);
  const pipes = openPipes(scenario, scenario.subjects);
  try {
    await broker.createTopic(input, scenario.inputPartitions);
    log(`${scenario.name}: pre-filling ${input} with ${records} records`);
    await prefill(broker.servers, input, scenario.inputPartitions, records, scenario.inputs[0]!);
    // The writer's application id names the changelog every restoration reads; its topics stay
    // until the scenario ends.
    const applicationId = `${prefix}-writer`;
    const written = await measureDrain(writer.target(scenario.writer), {
      broker,
      inputs: [input],
      partitions: scenario.inputPartitions,
      recordsPerInput: records,
      expectedOutputs: scenario.writerOutputs(records),
      runId: applicationId,
      stateDir: join(stateRoot, 'writer'),
      timeoutMs: 600_000,
      keepTopics: true,
    });
    log(
      `${scenario.name}: changelog written by ${label(scenario.writer)} in ${written.seconds.toFixed(2)} s`,
    );
    await closePipes(writer);
    const params = {
      applicationId,
      changelog: `${applicationId}-${scenario.store}-changelog`,
      partitions: scenario.inputPartitions,
    };
    const restoring = (s: Subject): PipeTarget => {
      const t = pipes.target(s);
      return { ...t, params: { ...t.params, ...params } };
    };
    // Every restoration must restore the whole changelog (one record per input, none compacted away).
    const changelogRecords = await broker.recordsWritten(params.changelog, scenario.inputPartitions);
    const rates = await timedRounds(scenario, async (s, r) => {
      const result = await measureRestore(restoring(s), {
        broker,
        input,
        output: `${applicationId}-out`,
        runId: `${prefix}-${slug(s)}-${r.id}`,
        stateDir: join(stateRoot, `${slug(s)}-${r.id}`),
      });
      if (result.records !== changelogRecords) {
        throw new Error(
          `${label(s)} restored ${result.records} records, but ${params.changelog} holds ${changelogRecords}`,
        );
      }
      return result;
    });
    await closePipes(pipes);
    return scenario.subjects.map((s) => measured(scenario, s, rates.get(s)!, pipes));
  } finally {
    await Promise.allSettled([closePipes(writer), closePipes(pipes)]);
    await broker.deleteTopicsWithPrefix(prefix).catch(() => {});
    rmSync(stateRoot, { recursive: true, force: true });
  }
}

async function closePipes(pipes: Pipes): Promise<void> {
  await Promise.allSettled([...pipes.byS.values()].map((p) => p.exit()));
}

function recordsOf(scenario: Scenario): number {
  return Math.round(RECORDS * scenario.recordsFactor);
}

function measured(scenario: Scenario, s: Subject, rates: Rates, pipes: Pipes): Measured {
  const perCpuSec = rates.perCpuSec.filter(Number.isFinite);
  return {
    scenario: scenario.name,
    subject: s.name,
    guarantee: s.guarantee,
    recordsPerSec: median(rates.perSec),
    runs: rates.perSec,
    ...(perCpuSec.length > 0 ? { recordsPerCpuSec: median(perCpuSec), cpuRuns: perCpuSec } : {}),
    peakRssMiB: pipes.byS.get(s)!.peakRssBytes / 2 ** 20,
    ...(scenario.kind === 'restore' ? { records: recordsOf(scenario) } : {}),
    ...(s.twinOf === undefined ? {} : { twinOf: s.twinOf }),
  };
}

function withBaselines(rows: Measured[]): Row[] {
  const byName = new Map(SCENARIOS.map((s) => [s.name, s]));
  return rows.map((r) => ({
    ...r,
    baselines: byName.get(r.scenario)!.baselines.map((b) => {
      const scenario = b.scenario ?? r.scenario;
      const of = (x: Measured) => x.scenario === scenario && x.guarantee === r.guarantee;
      // A twin is divided by its baseline's twin where there is one: both as of the other commit.
      const theirs =
        (r.twinOf === undefined ? undefined : rows.find((x) => of(x) && x.twinOf === b.subject)) ??
        rows.find((x) => of(x) && x.subject === b.subject);
      return {
        label: b.label,
        scenario,
        subject: b.subject,
        ratio: theirs ? r.recordsPerSec / theirs.recordsPerSec : Number.NaN,
      };
    }),
  }));
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const n = by % items.length;
  return [...items.slice(n), ...items.slice(0, n)];
}

interface Comparing {
  readonly checkout: RefCheckout;
  readonly head: string;
  readonly uncommitted: boolean;
  readonly notes: string[];
}

/** Checks out and installs `ref`, and adds the twins of its framework subjects to `selected`. */
function compareWith(ref: string, selected: Scenario[]): { scenarios: Scenario[]; comparing: Comparing } {
  const root = repositoryRoot();
  const checkout = checkoutRef(ref, root, log);
  const notes: string[] = [];
  const scenarios = selected.map((sc) =>
    withTwins(sc, checkout, root, (note) => {
      notes.push(note);
      log(note);
    }),
  );
  if (!scenarios.some((sc) => sc.subjects.some((s) => s.twinOf !== undefined))) {
    throw new Error(
      `--compare ${ref}: none of the selected scenarios' framework modules exists at ${checkout.short}`,
    );
  }
  const git = (...a: string[]) => execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim();
  return {
    scenarios,
    comparing: {
      checkout,
      head: git('rev-parse', 'HEAD'),
      uncommitted: git('status', '--porcelain', '--', 'packages', 'bench', ':!bench/results') !== '',
      notes,
    },
  };
}

async function main(): Promise<void> {
  const names = [...(args.scenario ?? []), ...(args.scenarios ?? []).flatMap((x) => x.split(','))].filter(
    (x) => x.trim() !== '',
  );
  let selected = selectScenarios(names);
  if (args.subjects !== undefined) selected = selectSubjects(selected, args.subjects.split(','));
  let comparing: Comparing | undefined;
  if (args.compare !== undefined) ({ scenarios: selected, comparing } = compareWith(args.compare, selected));
  // Built once, before anything runs: a missing Java or Maven stops the run here, saying so.
  if (selected.some((sc) => sc.subjects.some((s) => s.name === KAFKA_STREAMS_JAVA))) {
    log('building the Kafka Streams (Java) subject (bench/java) unless it is up to date');
    try {
      ensureJavaBuilt();
    } catch (error) {
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}\n(--subjects runs some implementations only, e.g. --subjects kafka-pattern,raw to leave Kafka Streams out)`,
      );
    }
  }
  const broker = new Broker(bootstrapServers());
  if (PROFILE) {
    rmSync(PROFILES, { recursive: true, force: true });
    mkdirSync(PROFILES, { recursive: true });
  }
  const stamp = Date.now().toString(36);
  const measuredRows: Measured[] = [];
  try {
    for (const scenario of selected) {
      measuredRows.push(
        ...(scenario.kind === 'restore'
          ? await runRestoreScenario(broker, scenario, stamp)
          : await runDrainScenario(broker, scenario, stamp)),
      );
    }
  } finally {
    await broker.close();
  }
  const rows = withBaselines(measuredRows);
  const report: Report = {
    date: new Date().toISOString(),
    machine: machineInfo(broker.servers),
    settings: {
      records: RECORDS,
      repetitions: REPS,
      warmupRuns: 1,
      ...(selected.some((sc) => sc.subjects.some((s) => s.name === KAFKA_STREAMS_JAVA))
        ? { jvmWarmupRuns: JVM_WARMUPS }
        : {}),
      commitIntervalMs: COMMIT_INTERVAL_MS,
      latency: { ratePerSec: LATENCY_RATE, durationMs: LATENCY_MS, warmupMs: LATENCY_WARMUP_MS },
      profiled: PROFILE,
    },
    scenarios: selected.map((s) => ({
      name: s.name,
      summary: s.summary,
      records: recordsOf(s),
      baselines: s.baselines.map((b) => `${b.scenario ?? s.name} / ${b.subject}`),
    })),
    rows,
    ...(comparing
      ? {
          comparison: {
            ref: comparing.checkout.ref,
            commit: comparing.checkout.commit,
            short: comparing.checkout.short,
            head: comparing.head,
            uncommitted: comparing.uncommitted,
            rows: comparisonRows(rows),
            notes: comparing.notes,
          },
        }
      : {}),
  };
  printTable(report);
  process.stdout.write(peerTables(report, KAFKA_STREAMS_JAVA, 'text', PEERS));
  printComparison(report);
  if (PROFILE) {
    for (const sc of selected) {
      for (const x of sc.subjects.filter((y) => y.framework)) {
        const name = profileName(sc, x);
        process.stdout.write(`\n${summarizeProfile(join(PROFILES, name), `${sc.name} ${label(x)}`)}`);
      }
      for (const x of sc.subjects.filter((y) => y.name === KAFKA_STREAMS_JAVA)) {
        process.stdout.write(`\n${summarizeJfr(join(PROFILES, jfrName(sc, x)), `${sc.name} ${label(x)}`)}`);
      }
    }
    log(`profiles in ${PROFILES} (open them in Chrome DevTools for call trees)`);
    return;
  }
  if (comparing) {
    // A comparison is not the bench's results: latest.json and the README table stay as they are.
    writeJson(join(RESULTS, 'compare.json'), report);
    log(`results in ${join(RESULTS, 'compare.json')}`);
    return;
  }
  writeJson(join(RESULTS, 'latest.json'), report);
  updateReadme(
    fileURLToPath(new URL('../README.md', import.meta.url)),
    report,
    peerTables(report, KAFKA_STREAMS_JAVA, 'markdown', PEERS),
  );
  log(`results in ${join(RESULTS, 'latest.json')} and bench/README.md`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
