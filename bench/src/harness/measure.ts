/**
 * How a pipe is measured, from outside its process:
 * - drain: the input topic is already full; the clock runs from the moment the pipe owns its
 *   partitions until all its work is visible to a reader (at_least_once: every output record
 *   written; exactly_once_v2: every input offset committed, which commits the outputs in the same
 *   transaction). The driver only polls offsets, so it takes almost no CPU from the pipe.
 * - latency: an empty input is fed at a fixed rate; a separate consumer (read_committed under
 *   exactly-once) reads the output, and each record's latency is the time it is read minus the
 *   timestamp the load generator gave its input record (the pipes carry it over).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { Consumer, FetchIsolationLevels, type Message, MessagesStreamModes } from '@platformatic/kafka';
import { type Broker, type InputRecord, producePaced, sleep } from './broker.ts';
import { compareOutputs, type OutputCheck } from './check.ts';
import type { FromChild, MemoryPeaks, ToChild } from './child.ts';
import type { Guarantee, Measured, PipeParams, PipeRun } from './pipe.ts';
import { readAll } from './scan.ts';
import { percentile } from './stats.ts';

const CHILD = new URL('./child.ts', import.meta.url);

/** A pipe's own process; one at a time in flight per process. */
export class PipeProcess {
  readonly #child: ChildProcess;
  #pending:
    | { expect: FromChild['type']; resolve: (message: FromChild) => void; reject: (error: Error) => void }
    | undefined;
  readonly #exited: Promise<void>;
  /** Why the process cannot go on: an error it reported outside a request, or its exit. */
  failure: Error | undefined;
  /** Highest resident set size of the process so far, as of its last stopped run (0 before). */
  peakRssBytes = 0;
  /** Highest sampled heap and buffer sizes so far, as of its last stopped run. */
  memoryPeaks: MemoryPeaks | undefined;
  /** What the pipe reported about its last stopped run, if it reports anything. */
  lastReport: Readonly<Record<string, unknown>> | undefined;
  /** CPU seconds of the last stopped run, from owning its partitions until told to stop. */
  lastCpuSeconds = Number.NaN;

  constructor(label: string, extraExecArgv: string[] = [], extraEnv: Record<string, string> = {}) {
    this.#child = fork(CHILD, [], {
      execArgv: [...process.execArgv, ...extraExecArgv],
      env: { ...process.env, ...extraEnv },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('error', (error) => {
      this.failure ??= new Error(`${label}: ${error.message}`);
    });
    this.#child.on('message', (message: FromChild) => {
      const pending = this.#pending;
      this.#pending = undefined;
      if (!pending) {
        if (message.type === 'error') this.failure ??= new Error(`${label}: ${message.message}`);
        return;
      }
      if (message.type === 'error') pending.reject(new Error(`${label}: ${message.message}`));
      else if (message.type !== pending.expect)
        pending.reject(new Error(`${label}: expected ${pending.expect}, got ${message.type}`));
      else pending.resolve(message);
    });
    this.#exited = new Promise((resolve) => {
      this.#child.on('exit', (code, signal) => {
        this.failure ??= new Error(`${label}: the pipe process exited (${signal ?? code})`);
        this.#pending?.reject(this.failure);
        this.#pending = undefined;
        resolve();
      });
    });
  }

  /** The process's id, to read its CPU time from /proc (undefined if it failed to spawn). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  async start(module: URL, run: PipeRun): Promise<Measured | undefined> {
    const reply = await this.#request({ type: 'start', module: module.href, run }, 'running');
    return reply.type === 'running' ? reply.measured : undefined;
  }

  async stop(): Promise<void> {
    this.lastCpuSeconds = Number.NaN;
    const reply = await this.#request({ type: 'stop' }, 'stopped');
    if (reply.type === 'stopped') {
      this.peakRssBytes = Math.max(this.peakRssBytes, reply.maxRssBytes);
      this.memoryPeaks = reply.peaks;
      this.lastReport = reply.report;
      this.lastCpuSeconds = reply.cpuSeconds;
    }
  }

  async exit(): Promise<void> {
    if (this.#child.connected) this.#child.send({ type: 'exit' } satisfies ToChild);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await this.#exited;
    clearTimeout(timer);
  }

  #request(message: ToChild, expect: FromChild['type']): Promise<FromChild> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.#pending = { expect, resolve, reject };
      this.#child.send(message);
    });
  }
}

export interface PipeTarget {
  readonly pipe: PipeProcess;
  readonly module: URL;
  readonly guarantee: Guarantee;
  readonly commitIntervalMs: number;
  readonly params: PipeParams;
}

export interface DrainOptions {
  readonly broker: Broker;
  /** Pre-filled topics, each with `recordsPerInput` records. */
  readonly inputs: readonly string[];
  readonly partitions: number;
  readonly recordsPerInput: number;
  readonly expectedOutputs: number;
  readonly runId: string;
  readonly stateDir: string;
  readonly timeoutMs: number;
  /** Keeps the run's output and internal topics (a changelog to restore from later). */
  readonly keepTopics?: boolean;
  /**
   * Reads the output back once the pipe stopped and compares it with what the scenario expects
   * (harness/check.ts); a difference fails the run, naming `label`.
   */
  readonly check?: {
    readonly label: string;
    readonly output: OutputCheck;
    readonly expected: readonly string[];
  };
}

export interface DrainResult {
  readonly seconds: number;
  readonly recordsPerSec: number;
  /** Input records per CPU-second of the pipe's processes over the drain (NaN where not measured). */
  readonly recordsPerCpuSec?: number;
  /** Records restored, for a restoration (the driver does not know it beforehand). */
  readonly records?: number;
}

export async function measureDrain(target: PipeTarget, o: DrainOptions): Promise<DrainResult> {
  const output = `${o.runId}-out`;
  const groupId = o.runId;
  const inputRecords = o.inputs.length * o.recordsPerInput;
  await o.broker.createTopic(output, o.partitions);
  try {
    let seconds: number;
    try {
      await target.pipe.start(target.module, run(target, o.broker, o.inputs, output, groupId, o.stateDir));
      const started = performance.now();
      const committed = async () => {
        let sum = 0;
        for (const input of o.inputs) sum += await o.broker.committed(groupId, input);
        return sum;
      };
      const done = async () =>
        target.guarantee === 'exactly_once_v2'
          ? (await committed()) >= inputRecords
          : (await o.broker.recordsWritten(output, o.partitions)) >= o.expectedOutputs;
      while (!(await done())) {
        if (target.pipe.failure) throw target.pipe.failure;
        if (performance.now() - started > o.timeoutMs) {
          throw new Error(`${o.runId}: not drained after ${o.timeoutMs} ms`);
        }
        await sleep(20);
      }
      seconds = (performance.now() - started) / 1000;
    } finally {
      await target.pipe.stop().catch(() => {});
    }
    if (o.check) await checkOutput(target, o, output, o.check);
    return {
      seconds,
      recordsPerSec: inputRecords / seconds,
      recordsPerCpuSec: inputRecords / target.pipe.lastCpuSeconds,
    };
  } finally {
    // Changelogs and repartition topics of a stateful pipe are named after its application id.
    if (!o.keepTopics) await o.broker.deleteTopicsWithPrefix(`${o.runId}-`);
  }
}

async function checkOutput(
  target: PipeTarget,
  o: DrainOptions,
  output: string,
  check: NonNullable<DrainOptions['check']>,
): Promise<void> {
  const isolation = target.guarantee === 'exactly_once_v2' ? 'read_committed' : 'read_uncommitted';
  const records = (await readAll(o.broker.servers, output, o.partitions, isolation)).flat();
  const difference = compareOutputs(
    records.map((r) => check.output.canonical(r.key, r.value)),
    check.expected,
  );
  if (difference !== undefined) {
    throw new Error(
      `${check.label} wrote another output than expected (${output}, ${isolation}):\n${difference}`,
    );
  }
}

export interface LatencyOptions {
  readonly broker: Broker;
  readonly partitions: number;
  readonly ratePerSec: number;
  readonly durationMs: number;
  /** Records produced in the first `warmupMs` are read but not counted. */
  readonly warmupMs: number;
  /** One generator per input topic; record `i` of each is written together. */
  readonly records: readonly ((i: number) => InputRecord)[];
  readonly expectedOutputs: (count: number) => number;
  readonly runId: string;
  readonly stateDir: string;
}

export interface LatencyResult {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly samples: number;
}

export async function measureLatency(target: PipeTarget, o: LatencyOptions): Promise<LatencyResult> {
  const inputs = o.records.map((_, n) => `${o.runId}-in${n === 0 ? '' : n + 1}`);
  const output = `${o.runId}-out`;
  for (const input of inputs) await o.broker.createTopic(input, o.partitions);
  await o.broker.createTopic(output, o.partitions);
  const reader = new Consumer({
    clientId: `${o.runId}-reader`,
    groupId: `${o.runId}-reader`,
    bootstrapBrokers: o.broker.servers,
    autocommit: false,
    isolationLevel:
      target.guarantee === 'exactly_once_v2'
        ? FetchIsolationLevels.READ_COMMITTED
        : FetchIsolationLevels.READ_UNCOMMITTED,
    maxWaitTime: 100,
  });
  try {
    await target.pipe.start(target.module, run(target, o.broker, inputs, output, o.runId, o.stateDir));
    const latencies: number[] = [];
    let received = 0;
    const stream = await reader.consume({ topics: [output], mode: MessagesStreamModes.EARLIEST });
    const countFrom = Date.now() + o.warmupMs;
    stream.on('data', (message: Message) => {
      const now = Date.now();
      received++;
      const sentAt = Number(message.timestamp);
      if (sentAt >= countFrom) latencies.push(now - sentAt);
    });
    const sent = await producePaced(
      o.broker.servers,
      inputs.map((topic, n) => ({ topic, record: o.records[n]! })),
      o.partitions,
      o.ratePerSec,
      o.durationMs,
    );
    const expected = o.expectedOutputs(sent);
    const deadline = performance.now() + 15_000;
    while (received < expected && performance.now() < deadline && !target.pipe.failure) await sleep(20);
    if (target.pipe.failure) throw target.pipe.failure;
    await stream.close();
    if (received < expected) throw new Error(`${o.runId}: ${received} of ${expected} outputs arrived`);
    return { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), samples: latencies.length };
  } finally {
    await reader.close();
    await target.pipe.stop().catch(() => {});
    await o.broker.deleteTopicsWithPrefix(`${o.runId}-`);
  }
}

export interface RestoreOptions {
  readonly broker: Broker;
  /** The input and output topics of the application whose state is restored. */
  readonly input: string;
  readonly output: string;
  readonly runId: string;
  readonly stateDir: string;
}

/**
 * Starts a pipe that restores (or only reads) existing changelogs and reports what it timed
 * itself: restoration happens inside the process, before it starts consuming, so the driver
 * cannot see its end from outside.
 */
export async function measureRestore(target: PipeTarget, o: RestoreOptions): Promise<DrainResult> {
  try {
    const measured = await target.pipe.start(
      target.module,
      run(target, o.broker, [o.input], o.output, o.runId, o.stateDir),
    );
    if (!measured || measured.ms <= 0) throw new Error(`${o.runId}: the pipe reported no restoration`);
    const seconds = measured.ms / 1000;
    return { seconds, recordsPerSec: measured.records / seconds, records: measured.records };
  } finally {
    await target.pipe.stop().catch(() => {});
  }
}

function run(
  target: PipeTarget,
  broker: Broker,
  inputs: readonly string[],
  output: string,
  groupId: string,
  stateDir: string,
): PipeRun {
  return {
    bootstrapServers: broker.servers,
    input: inputs[0]!,
    inputs,
    output,
    groupId,
    guarantee: target.guarantee,
    commitIntervalMs: target.commitIntervalMs,
    stateDir,
    params: target.params,
  };
}
