/**
 * Shared machinery of the fault tests: the application as a child process (fixtures/fault-app.ts)
 * that can be killed, frozen and resumed; condition waits with bounded timeouts; reading counts
 * back under read_committed and checking them; stopping and starting the broker; and printing
 * each case's figures.
 *
 * Every file here uses the one shared broker and some stop it: run them one file at a time, as
 * the `integration` project does, holding the broker lock when the machine is shared.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProcessingGuarantee } from '@kafka-pattern/streams-core';
import type { ConsumedRecord, IsolationLevel, ProducedRecord } from '@kafka-pattern/streams-core/client';
import { bootstrapServers, clientFactory, collect, produce, record } from '../support/kafka.ts';

const APP = fileURLToPath(new URL('./fixtures/fault-app.ts', import.meta.url));

export interface AppSpec {
  topology: 'count' | 'slow' | 'window-join' | 'async-count';
  topics: {
    input?: string;
    output?: string;
    windowInput?: string;
    windowOutput?: string;
    left?: string;
    right?: string;
    joinOutput?: string;
  };
  applicationId: string;
  stateDir: string;
  guarantee: ProcessingGuarantee;
  /** StreamsConfig fields on top of the ones above (commitIntervalMs, client, numStandbyReplicas, ...). */
  config?: Record<string, unknown>;
  busyWaitMicros?: number;
  windowSizeMs?: number;
  graceMs?: number;
  joinDiffMs?: number;
  statsIntervalMs?: number;
}

export interface AppEvent {
  event: string;
  at: number;
  // biome-ignore lint/suspicious/noExplicitAny: events are JSON from the child, read by field
  [field: string]: any;
}

export interface Stats extends AppEvent {
  state: string;
  commits: number;
  processed: number;
  produced: number;
  restoredRecords: number;
  standbyRecords: number;
  maxRssMiB: number;
  active: string[];
  standby: string[];
}

// ---------------------------------------------------------------------------------------------
// The application as a child process
// ---------------------------------------------------------------------------------------------

/** Every child started by this module, so a failing test still kills what it started. */
const running = new Set<AppProcess>();

export class AppProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly events: AppEvent[] = [];
  readonly log: string[] = [];
  readonly startedAt = Date.now();
  #listeners = new Set<() => void>();
  #partial = '';
  exited: Promise<void>;

  /** `script`: another fixture than fault-app.ts, given `spec` as its JSON argument the same way. */
  constructor(spec: AppSpec | object, name: string, script = APP) {
    this.name = name;
    this.child = spawn(process.execPath, [script, JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(this);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        running.delete(this);
        this.log.push(`exit ${code ?? signal}`);
        this.#notify();
        resolve();
      }),
    );
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (this.#partial + chunk).split('\n');
      this.#partial = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('@kp ')) {
          this.events.push(JSON.parse(line.slice(4)) as AppEvent);
        } else if (line.trim()) this.log.push(line);
      }
      this.#notify();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim()) this.log.push(`stderr: ${line}`);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  #notify(): void {
    for (const l of [...this.#listeners]) l();
  }

  states(): string[] {
    return this.events.filter((e) => e.event === 'state').map((e) => e.state as string);
  }

  get state(): string | undefined {
    return this.states().at(-1);
  }

  lastStats(): Stats | undefined {
    for (let i = this.events.length - 1; i >= 0; i--)
      if (this.events[i]!.event === 'stats') return this.events[i] as Stats;
    return undefined;
  }

  restored(): AppEvent[] {
    return this.events.filter((e) => e.event === 'restored');
  }

  /** Resolves with the first event (from index `from` on) that satisfies `match`. */
  waitForEvent(
    match: (e: AppEvent) => boolean,
    timeoutMs: number,
    what: string,
    from = 0,
  ): Promise<AppEvent> {
    return new Promise((resolve, reject) => {
      let seen = from;
      const check = () => {
        for (; seen < this.events.length; seen++) {
          const e = this.events[seen]!;
          if (match(e)) {
            done();
            resolve(e);
            return;
          }
        }
        if (!this.alive) {
          done();
          reject(new Error(`${this.name} exited while waiting for ${what}\n${this.tail()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}\n${this.tail()}`),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      this.#listeners.add(check);
      check();
    });
  }

  /** Waits for state RUNNING reached after event index `from`. */
  waitForRunning(timeoutMs = 60_000, from = 0): Promise<AppEvent> {
    return this.waitForEvent((e) => e.event === 'state' && e.state === 'RUNNING', timeoutMs, 'RUNNING', from);
  }

  /** Waits for a stats report that satisfies `match` (reports come every statsIntervalMs). */
  waitForStats(match: (s: Stats) => boolean, timeoutMs: number, what: string): Promise<Stats> {
    return this.waitForEvent(
      (e) => e.event === 'stats' && match(e as Stats),
      timeoutMs,
      what,
      0,
    ) as Promise<Stats>;
  }

  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }

  freeze(): void {
    this.child.kill('SIGSTOP');
  }

  resume(): void {
    this.child.kill('SIGCONT');
  }

  /** A clean close (SIGTERM); SIGKILL when it takes longer than `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<boolean> {
    if (!this.alive) return false;
    this.child.kill('SIGCONT');
    this.child.kill('SIGTERM');
    const closed = await Promise.race([this.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
    if (!closed) await this.kill();
    return closed;
  }

  tail(lines = 25): string {
    const events = this.events
      .filter((e) => e.event !== 'stats')
      .slice(-lines)
      .map((e) => JSON.stringify(e));
    const last = this.lastStats();
    return [
      `---- ${this.name} (pid ${this.child.pid}) events ----`,
      ...events,
      ...(last ? [`last stats: ${JSON.stringify(last)}`] : []),
      `---- ${this.name} log ----`,
      ...this.log.slice(-lines),
    ].join('\n');
  }
}

/** Kills every child process still running (for afterEach/afterAll). */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill()));
}

// ---------------------------------------------------------------------------------------------
// Waiting, timing, figures
// ---------------------------------------------------------------------------------------------

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` every `intervalMs` until it returns a value other than undefined; throws after `timeoutMs`. */
export async function waitUntil<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
  intervalMs = 200,
  diagnostics?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${diagnostics ? `\n${diagnostics()}` : ''}`,
      );
    await sleep(intervalMs);
  }
}

/** Prints one case's figures on one line, so CI output shows them case by case. */
export function figures(caseName: string, values: Record<string, unknown>): void {
  const text = Object.entries(values)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  console.log(`[faults] ${caseName}: ${text}`);
}

export function seconds(sinceMs: number): number {
  return Math.round((Date.now() - sinceMs) / 100) / 10;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The task directories (`<sub>_<partition>`) under a state directory, by task id. */
export function taskDirs(stateDir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const app of readdirSync(stateDir, { withFileTypes: true })) {
    if (!app.isDirectory()) continue;
    for (const task of readdirSync(join(stateDir, app.name))) {
      if (/^\d+_\d+$/.test(task)) out.set(task, join(stateDir, app.name, task));
    }
  }
  return out;
}

/** Bytes a process has read (every read(2): sockets included), from /proc; undefined where there is no /proc. */
export function bytesRead(pid: number): number | undefined {
  try {
    const m = /^rchar:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Input and offsets
// ---------------------------------------------------------------------------------------------

const factory = clientFactory('faults');

/** Produces with the idempotent producer helper, in chunks so a large input never sits in one request. */
export async function produceAll(records: ProducedRecord[], chunk = 10_000): Promise<void> {
  for (let i = 0; i < records.length; i += chunk) await produce(records.slice(i, i + chunk), factory);
}

/**
 * The input of a per-key count: records `key-<i mod keys>` with value `<i>`, produced with the
 * idempotent producer, and the count each key must end with. `feed` keeps the stream flowing
 * in the background (a chunk every interval) until `stopFeeding`.
 */
export class KeyedInput {
  readonly topic: string;
  readonly keys: number;
  readonly expected = new Map<string, number>();
  produced = 0;
  #feeding: Promise<void> | undefined;
  #stop = false;

  constructor(topic: string, keys: number) {
    this.topic = topic;
    this.keys = keys;
  }

  /** Produces the next `n` records (acknowledged when this resolves). */
  async produce(n: number, timestamp?: (i: number) => number): Promise<void> {
    const from = this.produced;
    this.produced += n;
    await produceAll(
      Array.from({ length: n }, (_, i) => {
        const key = `key-${(from + i) % this.keys}`;
        this.expected.set(key, (this.expected.get(key) ?? 0) + 1);
        return {
          ...record(this.topic, key, String(from + i)),
          ...(timestamp ? { timestamp: timestamp(from + i) } : {}),
        };
      }),
    );
  }

  feed(chunk: number, intervalMs: number): void {
    if (this.#feeding) throw new Error('already feeding');
    this.#stop = false;
    this.#feeding = (async () => {
      while (!this.#stop) {
        await this.produce(chunk);
        await sleep(intervalMs);
      }
    })();
  }

  async stopFeeding(): Promise<void> {
    this.#stop = true;
    const f = this.#feeding;
    this.#feeding = undefined;
    await f;
  }
}

async function withAdmin<T>(fn: (admin: ReturnType<typeof factory.admin>) => Promise<T>): Promise<T> {
  const admin = factory.admin();
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

async function partitionsOf(topic: string): Promise<Array<{ topic: string; partition: number }>> {
  return withAdmin(async (admin) => {
    const d = (await admin.describeTopics([topic])).get(topic);
    if (!d) throw new Error(`topic ${topic} does not exist`);
    return Array.from({ length: d.partitions }, (_, partition) => ({ topic, partition }));
  });
}

/** End offsets by partition ('latest'; under read_committed the last stable offsets). */
export async function endOffsets(
  topic: string,
  isolation: IsolationLevel = 'read_uncommitted',
): Promise<bigint[]> {
  const partitions = await partitionsOf(topic);
  const ends = await withAdmin((admin) => admin.listOffsets(partitions, 'latest', isolation));
  return partitions.map((tp) => ends.get(`${tp.topic}:${tp.partition}`) ?? 0n);
}

export async function endOffsetSum(
  topic: string,
  isolation: IsolationLevel = 'read_uncommitted',
): Promise<number> {
  return Number((await endOffsets(topic, isolation)).reduce((a, b) => a + b, 0n));
}

/** The group's committed offsets on `topic`, by partition (0 where none). */
export async function committedOffsets(groupId: string, topic: string): Promise<bigint[]> {
  const partitions = await partitionsOf(topic);
  const committed = await withAdmin((admin) => admin.groupOffsets(groupId, partitions));
  return partitions.map((tp) => committed.get(`${tp.topic}:${tp.partition}`) ?? 0n);
}

export async function committedSum(groupId: string, topic: string): Promise<number> {
  return (await committedOffsets(groupId, topic)).reduce((n, o) => n + Number(o), 0);
}

/** Input records the group has not committed yet: end offsets minus committed offsets. */
export async function uncommittedInput(groupId: string, topic: string): Promise<number> {
  const [ends, committed] = await Promise.all([endOffsets(topic), committedOffsets(groupId, topic)]);
  return ends.reduce((n, end, p) => n + Number(end - (committed[p] ?? 0n)), 0);
}

/** Waits until the group has committed all of its input on `topics` (cheap: offsets only). */
export async function waitForInputCommitted(
  groupId: string,
  topics: string[],
  timeoutMs: number,
  diagnostics?: () => string,
): Promise<void> {
  await waitUntil(
    async () => {
      for (const t of topics) if ((await uncommittedInput(groupId, t)) > 0) return undefined;
      return true;
    },
    timeoutMs,
    `group ${groupId} committing all of ${topics.join(', ')}`,
    500,
    diagnostics,
  );
}

/**
 * Waits until no transaction is pending on `topics`: a committed transaction's offsets can be
 * visible before its markers reach the output partitions, and until then a read_committed reader
 * stops short of its records.
 */
export async function waitForSettledOutput(topics: string[], timeoutMs: number): Promise<void> {
  await waitUntil(
    async () => {
      for (const t of topics) {
        const [stable, high] = await Promise.all([
          endOffsetSum(t, 'read_committed'),
          endOffsetSum(t, 'read_uncommitted'),
        ]);
        if (stable < high) return undefined;
      }
      return true;
    },
    timeoutMs,
    `no pending transaction on ${topics.join(', ')}`,
    100,
  );
}

// ---------------------------------------------------------------------------------------------
// Reading counts back and checking them
// ---------------------------------------------------------------------------------------------

export interface CountCheck {
  /** Output records read (read_committed). */
  records: number;
  latest: Map<string, number>;
  /** Updates of a key that did not increase its count: an update applied twice (or replayed). */
  duplicates: string[];
  /** Keys whose last count is below the expected one, and by how much in all. */
  short: string[];
  lost: number;
  /** Keys whose last count is above the expected one (at-least-once may do this), and by how much. */
  over: string[];
  excess: number;
  /** Expected keys that never appeared in the output. */
  missing: string[];
  /** Keys in the output that were not expected. */
  unexpected: string[];
  /** Keys whose updates went to more than one output partition (the sink's partitioning is not stable). */
  splitKeys: string[];
  /** The output records, in partition and offset order. */
  rows: ConsumedRecord[];
}

export function checkCounts(
  records: ConsumedRecord[],
  expected: ReadonlyMap<string, number>,
  decode: (r: ConsumedRecord) => { key: string; count: number } = longCount,
): CountCheck {
  // Updates of one key are ordered within its partition only: check them in offset order.
  const sorted = [...records].sort((x, y) =>
    x.partition !== y.partition
      ? x.partition - y.partition
      : x.offset < y.offset
        ? -1
        : x.offset > y.offset
          ? 1
          : 0,
  );
  const latest = new Map<string, number>();
  const partitionOf = new Map<string, number>();
  const split = new Set<string>();
  const duplicates: string[] = [];
  for (const r of sorted) {
    const { key, count } = decode(r);
    const p = partitionOf.get(key);
    if (p === undefined) partitionOf.set(key, r.partition);
    else if (p !== r.partition) split.add(key);
    const before = latest.get(key) ?? 0;
    if (count <= before) duplicates.push(`${key}: ${count} after ${before} (p${r.partition}@${r.offset})`);
    latest.set(key, count);
  }
  const short: string[] = [];
  const over: string[] = [];
  const missing: string[] = [];
  let lost = 0;
  let excess = 0;
  for (const [k, n] of expected) {
    const got = latest.get(k);
    if (got === undefined) missing.push(k);
    if ((got ?? 0) < n) {
      short.push(`${k}: ${got ?? 0} < ${n}`);
      lost += n - (got ?? 0);
    } else if (got! > n) {
      over.push(`${k}: ${got} > ${n}`);
      excess += got! - n;
    }
  }
  const unexpected = [...latest.keys()].filter((k) => !expected.has(k));
  return {
    records: records.length,
    latest,
    duplicates,
    short,
    lost,
    over,
    excess,
    missing,
    unexpected,
    splitKeys: [...split],
    rows: sorted,
  };
}

/** Every update of `key` in the output, in partition and offset order: for failure messages. */
export function historyOf(
  records: ConsumedRecord[],
  key: string,
  decode: (r: ConsumedRecord) => { key: string; count: number } = longCount,
): string {
  return records
    .filter((r) => decode(r).key === key)
    .sort((x, y) => x.partition - y.partition || Number(x.offset - y.offset))
    .map((r) => `p${r.partition}@${r.offset}=${decode(r).count}`)
    .join(' ');
}

/** The first duplicate's key and its whole history, for a failure message ('' when there is none). */
export function firstDuplicateHistory(
  c: CountCheck,
  decode: (r: ConsumedRecord) => { key: string; count: number } = longCount,
): string {
  const key = c.duplicates[0]?.split(': ')[0];
  return key === undefined ? '' : `${key}: ${historyOf(c.rows, key, decode)}`;
}

/** A string key and a Long (8-byte big-endian) count. */
export function longCount(r: ConsumedRecord): { key: string; count: number } {
  return { key: r.key!.toString(), count: Number(r.value!.readBigInt64BE(0)) };
}

export function readCommitted(topic: string, timeoutMs = 20_000): Promise<ConsumedRecord[]> {
  return collect(topic, { isolationLevel: 'read_committed', timeoutMs }, factory);
}

/**
 * Waits until the output's latest counts reach `expected` for every key (or the timeout), and
 * returns the check of the output as then read.
 */
export async function waitForCounts(
  output: string,
  expected: ReadonlyMap<string, number>,
  timeoutMs: number,
  decode: (r: ConsumedRecord) => { key: string; count: number } = longCount,
  diagnostics?: () => string,
): Promise<CountCheck> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const check = checkCounts(await readCommitted(output), expected, decode);
    if (check.short.length === 0 || Date.now() > deadline) {
      if (check.short.length > 0 && diagnostics) console.log(diagnostics());
      return check;
    }
    await sleep(1_000);
  }
}

/** The figures of a count check worth printing. */
export function countFigures(c: CountCheck): Record<string, unknown> {
  return {
    outputRecords: c.records,
    keys: c.latest.size,
    duplicates: c.duplicates.length,
    lost: c.lost,
    shortKeys: c.short.length,
    missingKeys: c.missing.length,
    excess: c.excess,
    splitKeys: c.splitKeys.length,
  };
}

// ---------------------------------------------------------------------------------------------
// The broker
// ---------------------------------------------------------------------------------------------

/** How to run `scripts/stack.sh` for the broker a test uses. */
export interface StackLocation {
  script: string;
  /** Environment for the script: which stack directory, Kafka version and ports the broker has. */
  env: Record<string, string>;
  /** The broker process found, when it runs from Maven Central jars. */
  pid?: number;
}

/**
 * Finds the stack that runs the broker listening on `port`: the `kafka.Kafka` process whose
 * server.properties has that listener. Its configuration path says the stack directory
 * (`<root>/.stack...`) and, in the per-version layout (`kafka/<version>/server.properties`), the
 * version, so `<root>/scripts/stack.sh` can stop and start exactly that broker. KP_STACK_SCRIPT
 * overrides the script. Without such a process (Docker), this repository's script is used.
 */
export function locateStack(port: number): StackLocation {
  const own = fileURLToPath(new URL('../../scripts/stack.sh', import.meta.url));
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    // no /proc
  }
  for (const pid of pids) {
    let args: string[];
    let props: string;
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const at = args.indexOf('kafka.Kafka');
      if (at < 0 || !args[at + 1]) continue;
      props = args[at + 1]!;
    } catch {
      continue;
    }
    let config: string;
    try {
      config = readFileSync(props, 'utf8');
    } catch {
      continue;
    }
    const listeners = /^listeners=(.*)$/m.exec(config)?.[1] ?? '';
    const ports = new Map(
      [...listeners.matchAll(/(\w+):\/\/[^:,]*:(\d+)/g)].map((m) => [m[1]!, Number(m[2])]),
    );
    if (![...ports.values()].includes(port)) continue;
    const layout = /^(.*)\/kafka(?:\/([^/]+))?\/server\.properties$/.exec(props);
    if (!layout) continue;
    const stackDir = layout[1]!;
    const root = stackDir.includes('/.stack') ? stackDir.slice(0, stackDir.indexOf('/.stack')) : undefined;
    const script = process.env.KP_STACK_SCRIPT ?? (root ? join(root, 'scripts', 'stack.sh') : own);
    const controller = ports.get('CONTROLLER');
    return {
      script,
      pid: Number(pid),
      env: {
        KP_STACK_DIR: stackDir,
        KP_KAFKA_MODE: 'jars',
        KP_KAFKA_PORT: String(port),
        ...(controller ? { KP_KAFKA_CONTROLLER_PORT: String(controller) } : {}),
        ...(layout[2] ? { KP_KAFKA_VERSION: layout[2] } : {}),
      },
    };
  }
  return { script: process.env.KP_STACK_SCRIPT ?? own, env: {} };
}

/**
 * Runs `stack.sh <command> kafka` (the broker only). Descriptors of the caller's lock file are
 * closed first, so a broker started from here never holds the lock the test run was started
 * under. KAFKA_BOOTSTRAP_SERVERS is not passed on: with it the script manages no broker.
 */
function stack(
  where: StackLocation,
  command: 'up' | 'down' | 'status',
  timeoutMs = 120_000,
): Promise<string> {
  const wrapper = `for f in /proc/$$/fd/*; do n=\${f##*/}; [ "$n" -gt 2 ] 2>/dev/null && case "$(readlink "$f")" in *.lock) eval "exec $n<&-";; esac; done; exec bash "$0" "$@"`;
  const { KAFKA_BOOTSTRAP_SERVERS: _external, ...env } = process.env;
  const args = command === 'status' ? [command] : [command, 'kafka'];
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      ['-c', wrapper, where.script, ...args],
      { timeout: timeoutMs, env: { ...env, ...where.env } },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`stack.sh ${command} failed: ${error.message}\n${stdout}\n${stderr}`));
        else resolve(`${stdout}${stderr}`.trim());
      },
    );
  });
}

/** True when something accepts TCP connections at host:port. */
export function portOpen(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * The broker the tests use (the first bootstrap server), stopped and started with the stack
 * script that runs it. Where that is is found while the broker runs and kept: once it is
 * stopped, no process tells where it came from.
 */
export class Broker {
  readonly host: string;
  readonly port: number;
  #where: StackLocation | undefined;
  #stopped = false;

  constructor() {
    const [host, port] = bootstrapServers()[0]!.split(':');
    this.host = host!;
    this.port = Number(port);
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Where it runs from: the stack script and its environment. */
  location(): StackLocation {
    this.#where ??= locateStack(this.port);
    return this.#where;
  }

  /** Stops the broker (controlled shutdown, as `stack.sh down kafka`) and checks that it is gone. */
  async stop(): Promise<string> {
    const where = this.location();
    this.#stopped = true;
    const out = await stack(where, 'down');
    if (await portOpen(this.host, this.port)) {
      // Nothing was stopped: this test must not start a broker of its own next to the running one.
      this.#stopped = false;
      throw new Error(
        `${this.host}:${this.port} still answers after ${where.script} down (${JSON.stringify(where.env)}): set KP_STACK_SCRIPT to the script that runs this broker\n${out}`,
      );
    }
    return out;
  }

  /** Starts it again (`stack.sh up kafka`) and checks that it answers. */
  async start(): Promise<string> {
    const out = await stack(this.location(), 'up');
    if (!(await portOpen(this.host, this.port)))
      throw new Error(`the broker does not answer after up\n${out}`);
    this.#stopped = false;
    return out;
  }

  /** For afterAll/finally: starts the broker if this test stopped it and did not restart it. */
  async ensureStarted(): Promise<void> {
    if (this.#stopped) await this.start();
  }

  status(): Promise<string> {
    return stack(this.location(), 'status');
  }
}
