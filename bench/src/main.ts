/**
 * `pnpm bench`: runs every scenario of the registry against the local broker and reports
 * throughput (drain rate of a pre-filled input) and end-to-end latency (a paced run) of each
 * subject next to its baselines. Prints the table, writes bench/results/latest.json and the
 * results table of bench/README.md.
 *
 *   node bench/src/main.ts [--records 200000] [--reps 3] [--scenario stateless]
 *                          [--latency-rate 2000] [--latency-seconds 5] [--profile]
 *
 * --profile runs the framework's subjects under `node --cpu-prof` and prints where their time
 * goes; its numbers are skewed by the profiler, so it writes no results.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Broker, bootstrapServers, prefill } from './harness/broker.ts';
import { measureDrain, measureLatency, PipeProcess } from './harness/measure.ts';
import { summarizeProfile } from './harness/profile.ts';
import { machineInfo, printTable, type Report, type Row, updateReadme, writeJson } from './harness/report.ts';
import { median } from './harness/stats.ts';
import { COMMIT_INTERVAL_MS, SCENARIOS, type Scenario, type Subject } from './scenarios.ts';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    reps: { type: 'string', default: '3' },
    scenario: { type: 'string', multiple: true },
    'latency-rate': { type: 'string', default: '2000' },
    'latency-seconds': { type: 'string', default: '5' },
    profile: { type: 'boolean', default: false },
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

async function runScenario(broker: Broker, scenario: Scenario, stamp: string): Promise<Row[]> {
  const prefix = `bench-${scenario.name}-${stamp}`;
  const input = `${prefix}-in`;
  const stateRoot = mkdtempSync(join(tmpdir(), 'kp-bench-'));
  await broker.createTopic(input, scenario.inputPartitions);
  const pipes = new Map<Subject, PipeProcess>();
  try {
    log(`${scenario.name}: pre-filling ${input} with ${RECORDS} records`);
    await prefill(broker.servers, input, scenario.inputPartitions, RECORDS, scenario.record);
    const expected = scenario.expectedOutputs(RECORDS);
    for (const s of scenario.subjects) {
      const prof =
        PROFILE && s.framework
          ? [
              '--cpu-prof',
              `--cpu-prof-dir=${PROFILES}`,
              `--cpu-prof-name=${scenario.name}-${s.name}-${s.guarantee}.cpuprofile`,
            ]
          : [];
      pipes.set(s, new PipeProcess(label(s), prof));
    }
    const target = (s: Subject) => ({
      pipe: pipes.get(s)!,
      module: s.module,
      guarantee: s.guarantee,
      commitIntervalMs: COMMIT_INTERVAL_MS[s.guarantee],
    });
    const rates = new Map<Subject, number[]>(scenario.subjects.map((s) => [s, []]));
    // Rounds interleave the subjects, and the order rotates, so no subject always runs first
    // (or last) on a broker whose page cache and segments change as the run goes on.
    for (let round = 0; round <= REPS; round++) {
      const order = rotate(scenario.subjects, round);
      for (const s of order) {
        const result = await measureDrain(target(s), {
          broker,
          input,
          partitions: scenario.inputPartitions,
          inputRecords: RECORDS,
          expectedOutputs: expected,
          runId: `${prefix}-${s.name.replace(/\W+/g, '')}-${s.guarantee === 'exactly_once_v2' ? 'eos' : 'alos'}-${round}`,
          stateDir: join(stateRoot, `${round}`),
          timeoutMs: 180_000,
        });
        if (round > 0) rates.get(s)!.push(result.recordsPerSec);
        log(
          `${scenario.name} ${round === 0 ? 'warm-up' : `run ${round}/${REPS}`} ${label(s)}: ${Math.round(result.recordsPerSec)} records/s (${result.seconds.toFixed(2)} s)`,
        );
      }
    }
    const latencies = new Map<Subject, { p50Ms: number; p99Ms: number; samples: number }>();
    for (const s of scenario.subjects) {
      const result = await measureLatency(target(s), {
        broker,
        partitions: scenario.inputPartitions,
        ratePerSec: LATENCY_RATE,
        durationMs: LATENCY_MS,
        warmupMs: LATENCY_WARMUP_MS,
        record: scenario.record,
        expectedOutputs: scenario.expectedOutputs,
        runId: `${prefix}-lat-${s.name.replace(/\W+/g, '')}-${s.guarantee === 'exactly_once_v2' ? 'eos' : 'alos'}`,
        stateDir: join(stateRoot, 'latency'),
      });
      latencies.set(s, result);
      log(
        `${scenario.name} latency ${label(s)}: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms (${result.samples} records)`,
      );
    }
    return scenario.subjects.map((s) => {
      const runs = rates.get(s)!;
      const reference = scenario.subjects.find(
        (r) => r.name === scenario.reference && r.guarantee === s.guarantee,
      );
      const mine = median(runs);
      const theirs = reference ? median(rates.get(reference)!) : Number.NaN;
      return {
        scenario: scenario.name,
        subject: s.name,
        guarantee: s.guarantee,
        recordsPerSec: mine,
        runs,
        reference: scenario.reference,
        ratio: mine / theirs,
        latency: latencies.get(s)!,
      };
    });
  } finally {
    await Promise.allSettled([...pipes.values()].map((p) => p.exit()));
    await broker.deleteTopics([input, `${input}-dlt`]).catch(() => {});
    rmSync(stateRoot, { recursive: true, force: true });
  }
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const n = by % items.length;
  return [...items.slice(n), ...items.slice(0, n)];
}

async function main(): Promise<void> {
  const selected = args.scenario?.length
    ? SCENARIOS.filter((s) => args.scenario!.includes(s.name))
    : SCENARIOS;
  if (selected.length === 0)
    throw new Error(
      `No scenario named ${args.scenario!.join(', ')}: known are ${SCENARIOS.map((s) => s.name).join(', ')}`,
    );
  const broker = new Broker(bootstrapServers());
  if (PROFILE) {
    rmSync(PROFILES, { recursive: true, force: true });
    mkdirSync(PROFILES, { recursive: true });
  }
  const stamp = Date.now().toString(36);
  const rows: Row[] = [];
  try {
    for (const scenario of selected) rows.push(...(await runScenario(broker, scenario, stamp)));
  } finally {
    await broker.close();
  }
  const report: Report = {
    date: new Date().toISOString(),
    machine: machineInfo(broker.servers),
    settings: {
      records: RECORDS,
      repetitions: REPS,
      warmupRuns: 1,
      commitIntervalMs: COMMIT_INTERVAL_MS,
      latency: { ratePerSec: LATENCY_RATE, durationMs: LATENCY_MS, warmupMs: LATENCY_WARMUP_MS },
      profiled: PROFILE,
    },
    scenarios: selected.map((s) => ({ name: s.name, summary: s.summary, reference: s.reference })),
    rows,
  };
  printTable(report);
  if (PROFILE) {
    for (const s of selected.flatMap((sc) =>
      sc.subjects.filter((x) => x.framework).map((x) => `${sc.name}-${x.name}-${x.guarantee}`),
    )) {
      process.stdout.write(`\n${summarizeProfile(join(PROFILES, `${s}.cpuprofile`), s)}`);
    }
    log(`profiles in ${PROFILES} (open them in Chrome DevTools for call trees)`);
    return;
  }
  writeJson(join(RESULTS, 'latest.json'), report);
  updateReadme(fileURLToPath(new URL('../README.md', import.meta.url)), report);
  log(`results in ${join(RESULTS, 'latest.json')} and bench/README.md`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
