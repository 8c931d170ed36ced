/**
 * Recovery after a broker outage: for each guarantee, a framework application (the stateless
 * pipe, or the count) processes a paced input; the local broker is stopped, stays down for
 * `--down-seconds` while the input keeps being sent (and failing), and is started again. Prints
 * how long the broker was away, the time from its accepting connections again to the first new
 * output record a reader can see (read_committed under exactly_once_v2), the time until the
 * application caught up, `metrics().transientFailures`, and whether the output is complete
 * (exactly-once: exact; at-least-once: nothing missing). Writes bench/results/outage-<pipe>.json.
 *
 *   node bench/src/outage/main.ts [--pipe stateless|count] [--guarantees at_least_once,exactly_once_v2]
 *        [--rate 1000] [--before-seconds 10] [--down-seconds 15] [--after-seconds 10]
 *        [--stop down|kill] [--stack <path to scripts/stack.sh>]
 *
 * The broker is stopped and started with the stack's script (`down`: a controlled shutdown;
 * `--stop kill`: SIGKILL of its process, a crash) and is started again whatever happens: when
 * the measurement fails, and on SIGINT or SIGTERM. Only the local broker that script runs can be
 * used; the default script is this repository's, `--stack` names another checkout's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Broker, bootstrapServers, brokerVersion, type InputRecord, sleep } from '../harness/broker.ts';
import { PipeProcess } from '../harness/measure.ts';
import type { Guarantee } from '../harness/pipe.ts';
import { machineInfo, writeJson } from '../harness/report.ts';
import { readAll, readTo, type ScannedRecord } from '../harness/scan.ts';
import {
  accepts,
  brokerPid,
  endpointOf,
  killBroker,
  runStack,
  stackRoot,
  waitForPort,
} from '../harness/stack.ts';
import { COMMIT_INTERVAL_MS } from '../scenarios.ts';
import { keyedRecord } from '../stateful/workload.ts';
import { orderRecord } from '../stateless/workload.ts';
import { checkOutput, type OutputCheck } from './check.ts';
import { type InputStats, PacedInput } from './input.ts';
import { type OutagePipe, outagePipeOf } from './kafka-streams.ts';

const { values: args } = parseArgs({
  options: {
    pipe: { type: 'string', default: 'stateless' },
    guarantees: { type: 'string', default: 'at_least_once,exactly_once_v2' },
    rate: { type: 'string', default: '1000' },
    'before-seconds': { type: 'string', default: '10' },
    'down-seconds': { type: 'string', default: '15' },
    'after-seconds': { type: 'string', default: '10' },
    stop: { type: 'string', default: 'down' },
    stack: { type: 'string' },
    'status-seconds': { type: 'string', default: '0' },
  },
});

const PIPE = outagePipeOf(args.pipe);
const GUARANTEES = args.guarantees.split(',').map((g): Guarantee => {
  const t = g.trim();
  if (t === 'at_least_once' || t === 'exactly_once_v2') return t;
  throw new Error(`--guarantees: at_least_once and/or exactly_once_v2, not ${t}`);
});
const RATE = Number(args.rate);
const BEFORE_MS = Number(args['before-seconds']) * 1000;
const DOWN_MS = Number(args['down-seconds']) * 1000;
const AFTER_MS = Number(args['after-seconds']) * 1000;
const STOP = ((stop: string): 'down' | 'kill' => {
  if (stop === 'down' || stop === 'kill') return stop;
  throw new Error(`--stop: down or kill, not ${stop}`);
})(args.stop);
// The application's state and counters on stderr every so often (0: never).
const STATUS_EVERY_MS = Number(args['status-seconds']) * 1000;
const STACK = args.stack ?? fileURLToPath(new URL('../../../scripts/stack.sh', import.meta.url));
const MODULE = new URL('./kafka-streams.ts', import.meta.url);
const RESULTS = fileURLToPath(new URL('../../results/', import.meta.url));
const PARTITIONS = 3;
const CATCH_UP_TIMEOUT_MS = 180_000;

const SERVERS = bootstrapServers();
const ENDPOINT = endpointOf(SERVERS[0]!);

function log(message: string): void {
  process.stderr.write(`outage: ${message}\n`);
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const opt = (ms: number | undefined) => (ms === undefined ? '—' : s(ms));
const n = (x: number) => x.toLocaleString('en-US');
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** Whether this process stopped the broker and has not seen it start again. */
let brokerStopped = false;

async function restoreBroker(): Promise<void> {
  if (!brokerStopped && (await accepts(ENDPOINT))) return;
  log(`starting the broker again (${STACK} up)`);
  const up = await runStack(STACK, 'up');
  if (up.code !== 0) throw new Error(`${STACK} up failed (${up.code}):\n${up.output}`);
  brokerStopped = false;
}

// Interrupted while the broker is down: start it before leaving.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (brokerStopped) {
      log(`${signal}: starting the broker again before exiting`);
      spawnSync('bash', [STACK, 'up'], { stdio: ['ignore', 'inherit', 'inherit'] });
    }
    process.exit(130);
  });
}

interface OutageResult {
  pipe: OutagePipe;
  guarantee: Guarantee;
  stop: 'down' | 'kill';
  /** From the stop command to the broker refusing connections. */
  stoppingMs: number;
  /** From the broker's process gone to `stack.sh up`. */
  downMs: number;
  /** From `stack.sh up` to the broker accepting connections. */
  startingMs: number;
  /** From refusing connections to accepting them again: how long there was no broker. */
  outageMs: number;
  /** From accepting connections to the first output record written after the restart becoming visible. */
  firstOutputMs: number | undefined;
  /** From accepting connections to the first end-offset reading (the one that separates old outputs from new). */
  firstReadingMs: number;
  /**
   * From accepting connections to the backlog of the outage being worked off: in every
   * partition, the output of an input generated after the broker was back is visible.
   */
  drainedMs: number | undefined;
  /** From the broker refusing connections to the application's first transient failure. */
  noticedMs: number | undefined;
  /** From accepting connections to the application's last transition to RUNNING. */
  runningAgainMs: number | undefined;
  /** The output's end offsets, summed, at the last reading before the stop and at the first after the start. */
  endsBeforeStop: number;
  endsAtRestart: number;
  input: InputStats & { inTopic: number };
  check: OutputCheck;
  application: Readonly<Record<string, unknown>>;
  peakRssMiB: number;
}

function recordOf(pipe: OutagePipe): (i: number) => InputRecord {
  return pipe === 'stateless' ? orderRecord : keyedRecord;
}

/**
 * When the first output record written after the restart became visible: the first reading whose
 * end offset of its partition passed it. `series[0]` is the first reading after the restart;
 * the records at or past its end offsets are the new ones (an application needs far longer than
 * that reading to rejoin, so none of them can be older).
 */
function firstNewOutput(
  outputs: readonly ScannedRecord[][],
  series: readonly { at: number; ends: number[] }[],
): number | undefined {
  const first = series[0];
  if (!first) return undefined;
  let at: number | undefined;
  for (const [p, records] of outputs.entries()) {
    const fresh = records.find((r) => r.offset >= first.ends[p]!);
    if (!fresh) continue;
    const seen = series.find((x) => x.ends[p]! > fresh.offset);
    if (seen && (at === undefined || seen.at < at)) at = seen.at;
  }
  return at;
}

/**
 * When every partition's output had a record of an input generated at or after `since` (wall
 * clock) visible: the application has worked through what piled up before it, partitions being
 * processed in offset order.
 */
function backlogDrained(
  outputs: readonly ScannedRecord[][],
  series: readonly { at: number; ends: number[] }[],
  since: number,
): number | undefined {
  let at = Number.NEGATIVE_INFINITY;
  for (const [p, records] of outputs.entries()) {
    const recent = records.find((r) => r.timestamp >= since);
    const seen = recent && series.find((x) => x.ends[p]! > recent.offset);
    if (!seen) return undefined;
    at = Math.max(at, seen.at);
  }
  return Number.isFinite(at) ? at : undefined;
}

/** performance.now() of this process as wall-clock ms, comparable with another process's Date.now(). */
function wall(at: number): number {
  return performance.timeOrigin + at;
}

async function runOne(guarantee: Guarantee, stamp: string): Promise<OutageResult> {
  const eos = guarantee === 'exactly_once_v2';
  const isolation = eos ? 'read_committed' : 'read_uncommitted';
  const prefix = `bench-outage-${PIPE}-${eos ? 'eos' : 'alos'}-${stamp}`;
  const input = `${prefix}-in`;
  const output = `${prefix}-out`;
  const groupId = `${prefix}-app`;
  const stateDir = mkdtempSync(join(tmpdir(), 'kp-bench-outage-'));
  let broker = new Broker(SERVERS);
  const pipe = new PipeProcess(`${PIPE} (${guarantee})`);
  const feed = new PacedInput(SERVERS, input, PARTITIONS, recordOf(PIPE), RATE);
  let watching = false;
  let watcher: Promise<void> = Promise.resolve();
  try {
    await broker.createTopic(input, PARTITIONS);
    await broker.createTopic(output, PARTITIONS);
    await pipe.start(MODULE, {
      bootstrapServers: SERVERS,
      input,
      inputs: [input],
      output,
      groupId,
      guarantee,
      commitIntervalMs: COMMIT_INTERVAL_MS[guarantee],
      stateDir,
      params: { pipe: PIPE, statusEveryMs: STATUS_EVERY_MS },
    });
    feed.start();
    log(
      `${PIPE} (${guarantee}): running, input at ${RATE} records/s; stopping the broker in ${s(BEFORE_MS)}`,
    );
    await sleep(BEFORE_MS);
    if (pipe.failure) throw pipe.failure;
    const before = sum(await broker.endOffsets(output, PARTITIONS, isolation));
    if (before === 0)
      throw new Error(`${PIPE} (${guarantee}): no output after ${s(BEFORE_MS)}, before any outage`);
    await broker.close();

    const versionBefore = brokerVersion(stackRoot(STACK));
    const stopAt = performance.now();
    const refused = waitForPort(ENDPOINT, false, 120_000, 10);
    refused.catch(() => {});
    brokerStopped = true;
    if (STOP === 'kill') {
      if (!(await killBroker(STACK))) throw new Error(`no broker process of ${STACK} to kill`);
    } else {
      const down = await runStack(STACK, 'down');
      if (down.code !== 0) throw new Error(`${STACK} down failed (${down.code}):\n${down.output}`);
    }
    const refusedAt = await refused;
    const goneAt = performance.now();
    log(`broker stopped (${STOP}); starting it again in ${s(DOWN_MS)}; the input keeps being sent`);
    await sleep(DOWN_MS);
    const upAt = performance.now();
    const up = runStack(STACK, 'up');
    const acceptedAt = await waitForPort(ENDPOINT, true, 180_000, 10);
    log(`broker accepting connections ${s(acceptedAt - refusedAt)} after it stopped`);

    broker = new Broker(SERVERS, { retryDelayMs: 20 });
    const series: { at: number; ends: number[] }[] = [];
    watching = true;
    const reader = broker;
    watcher = (async () => {
      while (watching) {
        try {
          const ends = await reader.endOffsets(output, PARTITIONS, isolation);
          series.push({ at: performance.now(), ends });
        } catch {
          // the broker is still loading partitions: next reading
        }
        await sleep(20);
      }
    })();
    const started = await up;
    if (started.code !== 0) throw new Error(`${STACK} up failed (${started.code}):\n${started.output}`);
    brokerStopped = false;
    const version = brokerVersion(stackRoot(STACK));
    if (version !== versionBefore) {
      throw new Error(
        `${STACK} up started Kafka ${version}, not the ${versionBefore} that was stopped: a broker of another version has its own data, without this run's topics`,
      );
    }

    await sleep(Math.max(0, acceptedAt + AFTER_MS - performance.now()));
    const fed = await feed.stop();
    const inputEnds = await broker.endOffsets(input, PARTITIONS);
    const inputs = (await readTo(SERVERS, input, inputEnds)).flat();
    log(
      `input stopped: ${n(fed.generated)} generated, ${n(inputs.length)} in the topic; waiting for the application to commit them all`,
    );
    // Committed offsets at the input's end: everything processed and its output written (an
    // at_least_once commit waits for its outputs' acknowledgements; exactly_once_v2 commits them
    // in the same transaction). Under at_least_once that waits for the next commit, up to 30 s.
    const deadline = performance.now() + CATCH_UP_TIMEOUT_MS;
    while ((await broker.committed(groupId, input)) < inputs.length) {
      if (pipe.failure) throw pipe.failure;
      if (performance.now() > deadline) {
        throw new Error(
          `${PIPE} (${guarantee}): not committed ${s(CATCH_UP_TIMEOUT_MS)} after the input stopped`,
        );
      }
      await sleep(50);
    }
    await sleep(200);
    watching = false;
    await watcher;
    await pipe.stop();
    const application = pipe.lastReport ?? {};
    const outputs = await readAll(SERVERS, output, PARTITIONS, isolation);
    const check = checkOutput(PIPE, guarantee, inputs, outputs.flat());
    const firstAt = firstNewOutput(outputs, series);
    const drainedAt = backlogDrained(outputs, series, wall(acceptedAt));
    const since = (t: unknown, from: number) => (typeof t === 'number' ? t - wall(from) : undefined);
    return {
      pipe: PIPE,
      guarantee,
      stop: STOP,
      stoppingMs: refusedAt - stopAt,
      downMs: upAt - goneAt,
      startingMs: acceptedAt - upAt,
      outageMs: acceptedAt - refusedAt,
      firstOutputMs: firstAt === undefined ? undefined : firstAt - acceptedAt,
      firstReadingMs: (series[0]?.at ?? Number.NaN) - acceptedAt,
      drainedMs: drainedAt === undefined ? undefined : drainedAt - acceptedAt,
      noticedMs: since(application.firstFailureAt, refusedAt),
      runningAgainMs: since(application.lastRunningAt, acceptedAt),
      endsBeforeStop: before,
      endsAtRestart: series[0] ? sum(series[0].ends) : Number.NaN,
      input: { ...fed, inTopic: inputs.length },
      check,
      application,
      peakRssMiB: pipe.peakRssBytes / 2 ** 20,
    };
  } finally {
    watching = false;
    await watcher;
    await restoreBroker();
    await feed.stop(5_000).catch(() => {});
    await pipe.exit();
    await broker.close().catch(() => {});
    const cleaner = new Broker(SERVERS);
    await cleaner.deleteTopicsWithPrefix(prefix).catch(() => {});
    await cleaner.close().catch(() => {});
    rmSync(stateDir, { recursive: true, force: true });
  }
}

function print(r: OutageResult): void {
  const a = r.application;
  const c = r.check;
  const lines = [
    `${r.pipe} (${r.guarantee}), broker stopped with ${r.stop === 'down' ? 'stack.sh down' : 'SIGKILL'}:`,
    `  outage: ${s(r.outageMs)} without a broker (stopping ${s(r.stoppingMs)}, down ${s(r.downMs)}, stack.sh up until it accepted connections ${s(r.startingMs)})`,
    `  first new ${r.guarantee === 'exactly_once_v2' ? 'committed ' : ''}output record: ${r.firstOutputMs === undefined ? 'none seen' : s(r.firstOutputMs)} after the broker accepted connections again`,
    `  outage backlog worked off (every partition has output of an input generated after the broker was back): ${opt(r.drainedMs)} after it accepted connections`,
    `  application: first transient failure ${opt(r.noticedMs)} after the broker stopped accepting connections; last went to RUNNING ${opt(r.runningAgainMs)} after it accepted them again`,
    `  input: ${n(r.input.generated)} records generated at ${n(RATE)}/s, ${n(r.input.inTopic)} in the topic; ${n(r.input.failedSends)} of ${n(r.input.sends)} sends failed${r.input.lastError ? ` (last: ${r.input.lastError})` : ''}`,
    `  output ${c.complete ? 'complete' : 'INCOMPLETE'}: ${n(c.expected)} expected, ${n(c.outputs)} read, ${n(c.missing)} missing, ${n(c.duplicates)} duplicates, ${n(c.irregular)} irregular`,
    `  application: transientFailures ${String(a.transientFailures)}, longest metrics().outage ${typeof a.longestOutageMs === 'number' ? s(a.longestOutageMs) : '—'}${a.lastError ? ` (last error: ${String(a.lastError)})` : ''}, state ${String(a.state)}, peak RSS ${r.peakRssMiB.toFixed(0)} MiB`,
    `  (output end offsets summed: ${n(r.endsBeforeStop)} at the last reading before the stop, ${n(r.endsAtRestart)} at the first after the restart, ${s(r.firstReadingMs)} after it accepted connections)`,
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const pid = brokerPid(STACK);
  if (pid === undefined || !(await accepts(ENDPOINT))) {
    throw new Error(
      `no broker of ${STACK} answers at ${SERVERS[0]}: the outage can only stop a broker that script runs (--stack names the checkout whose scripts/stack.sh started it)`,
    );
  }
  const stamp = Date.now().toString(36);
  const results: OutageResult[] = [];
  for (const guarantee of GUARANTEES) {
    const r = await runOne(guarantee, stamp);
    print(r);
    results.push(r);
  }
  const report = {
    date: new Date().toISOString(),
    machine: machineInfo(SERVERS, stackRoot(STACK)),
    settings: {
      pipe: PIPE,
      ratePerSec: RATE,
      beforeMs: BEFORE_MS,
      downMs: DOWN_MS,
      afterMs: AFTER_MS,
      stop: STOP,
      commitIntervalMs: COMMIT_INTERVAL_MS,
    },
    results,
  };
  process.stdout.write(`\nload average ${report.machine.loadAverage}\n`);
  writeJson(join(RESULTS, `outage-${PIPE}.json`), report);
  if (results.some((r) => !r.check.complete)) process.exitCode = 1;
}

main().catch(async (error: unknown) => {
  process.stderr.write(
    `outage failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
  await restoreBroker().catch((e: unknown) => {
    process.stderr.write(`could not start the broker again: ${String(e)}\n`);
  });
});
