/**
 * Kafka Streams (Java) as a subject of every scenario: the topologies of bench/java, run by one
 * long-lived JVM per subject process, which this module starts on the first run and drives over
 * its stdin and stdout, one JSON command a line ("run" → "owned {…}" once the instance is
 * RUNNING, "stop" → "stopped" once it is closed). So the harness times it exactly as it times a
 * Node pipe: from the moment it owns its partitions until its work is visible.
 *
 * Each run is a new KafkaStreams instance: one stream thread, RocksDB stores, the record cache
 * off (`statestore.cache.max.bytes=0`), the producer's defaults, the run's guarantee and commit
 * interval. Params: `topology` (stateless, count, windowed, join), and for a restoration
 * `applicationId`, whose changelog the new instance restores from an empty state directory.
 *
 * The JVM's CPU time and peak resident set size are read from /proc and added to this process's
 * own, so records per CPU-second count its compiler and collector threads as well as the stream
 * thread.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { mavenProject } from '@kafka-pattern/test/support/maven-project.ts';
import { cpuSeconds, peakRssBytes } from '../harness/cpu.ts';
import type { Measured, PipeRun, StartPipe } from '../harness/pipe.ts';

export const javaProject = mavenProject({
  dir: fileURLToPath(new URL('../../java/', import.meta.url)),
  jarName: 'bench-kafka-streams.jar',
  needs: "The bench's Kafka Streams (Java) subject needs",
  reference: 'Kafka Streams itself',
  versionProperty: 'kafka.version',
  what: "the bench's Kafka Streams application",
});

/** Builds bench/java unless its jar is as of its current sources; throws what to install otherwise. */
export function ensureJavaBuilt(): void {
  javaProject.ensureBuilt();
}

interface Jvm {
  readonly process: ChildProcess;
  /** Sends one command and resolves with the line that answers it. */
  request(command: Record<string, unknown>): Promise<string>;
}

let jvm: Jvm | undefined;

function fail(message: string): void {
  // Out of any request: the child's uncaughtException handler reports it to the driver.
  setImmediate(() => {
    throw new Error(`Kafka Streams (Java): ${message}`);
  });
}

/**
 * Where the JVM writes a Java Flight Recorder profile of its whole life (the bench's `--profile`
 * sets it): sampled stacks of every Java thread, summarized by `harness/jfr-profile.ts`.
 */
export const JFR_ENV = 'KP_BENCH_JFR';
const RECORDING = 'bench';

function startJvm(): Jvm {
  ensureJavaBuilt();
  const classpath = [javaProject.jar, join(javaProject.dir, 'target', 'lib', '*')].join(':');
  const jfr = process.env[JFR_ENV];
  // stdout carries the protocol: Flight Recorder's start-up lines stay off it.
  const recording =
    jfr === undefined
      ? []
      : ['-Xlog:jfr+startup=off', `-XX:StartFlightRecording=name=${RECORDING},settings=profile`];
  const child = spawn('java', [...recording, '-cp', classpath, 'bench.BenchPeer'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let pending: { resolve: (line: string) => void; reject: (error: Error) => void } | undefined;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const p = pending;
    pending = undefined;
    if (p === undefined) {
      if (line.startsWith('error ')) fail(line.slice('error '.length));
    } else if (line.startsWith('error ')) p.reject(new Error(`Kafka Streams (Java): ${line.slice(6)}`));
    else p.resolve(line);
  });
  child.on('exit', (code, signal) => {
    jvm = undefined;
    const error = new Error(`Kafka Streams (Java): the JVM exited (${signal ?? code})`);
    if (pending) pending.reject(error);
    else fail(error.message);
  });
  // The JVM goes with this process, its recording written first.
  process.on('exit', () => {
    if (jfr !== undefined && child.exitCode === null && child.pid !== undefined)
      spawnSync('jcmd', [String(child.pid), 'JFR.dump', `name=${RECORDING}`, `filename=${jfr}`], {
        stdio: 'ignore',
        timeout: 60_000,
      });
    child.kill('SIGKILL');
  });
  return {
    process: child,
    request(command) {
      return new Promise((resolve, reject) => {
        pending = { resolve, reject };
        child.stdin!.write(`${JSON.stringify(command)}\n`);
      });
    },
  };
}

function command(run: PipeRun): Record<string, unknown> {
  const restoring = run.params.applicationId !== undefined;
  return {
    command: 'run',
    scenario: String(run.params.topology),
    inputs: run.inputs,
    output: run.output,
    applicationId: restoring ? String(run.params.applicationId) : run.groupId,
    guarantee: run.guarantee,
    commitIntervalMs: run.commitIntervalMs,
    stateDir: run.stateDir,
    bootstrapServers: run.bootstrapServers.join(','),
  };
}

export const start: StartPipe = async (run) => {
  jvm ??= startJvm();
  const j = jvm;
  const owned = await j.request(command(run));
  const measured = JSON.parse(owned.slice('owned '.length) || '{}') as Partial<Measured>;
  const pid = j.process.pid!;
  return {
    ...(measured.records !== undefined && measured.ms !== undefined
      ? { measured: { records: measured.records, ms: measured.ms } }
      : {}),
    cpuSeconds: () => cpuSeconds(pid),
    peakRssBytes: () => peakRssBytes(pid),
    async close() {
      await j.request({ command: 'stop' });
    },
  };
};
