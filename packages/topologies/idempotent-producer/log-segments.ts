/**
 * The broker's own account of what was written: Kafka's DumpLogSegments tool run on a
 * partition's segment files, and its output parsed into batches and records.
 *
 * Every record batch on disk carries the producer id, producer epoch and base sequence the
 * producer stamped on it; the broker checks them on append and keeps them. Reading them from the
 * segment files, rather than from a consumer, shows what the broker accepted, retries included,
 * with nothing in between that could hide or merge anything.
 *
 * The tool is `org.apache.kafka.tools.DumpLogSegments` (the kafka-tools jar) since Kafka 4.x,
 * `kafka.tools.DumpLogSegments` (the broker's core jar) before: the first one found in the jars
 * runs. `--deep-iteration` lists the records of each batch; `--print-data-log` their payloads.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const TOOL_CLASSES = ['org.apache.kafka.tools.DumpLogSegments', 'kafka.tools.DumpLogSegments'];

/** One record batch as the segment file holds it. */
export interface LogBatch {
  baseOffset: number;
  lastOffset: number;
  count: number;
  /** -1: written without a producer id (not idempotent); the broker keeps no state for it. */
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  lastSequence: number;
  isTransactional: boolean;
  isControl: boolean;
  records: LogRecord[];
}

export interface LogRecord {
  offset: number;
  sequence: number;
  /** The value as the tool prints it (UTF-8); null for a record without a value. */
  payload: string | null;
}

export interface DumpOptions {
  /** The broker's jars (the tool runs from the same ones). */
  libsDir: string;
  /** Default: KP_JAVA, else JAVA_HOME/bin/java, else `java` on PATH (as scripts/stack.sh). */
  java?: string;
}

/** The batches of one partition, from its segment files in offset order. */
export async function readPartitionLog(partitionDir: string, options: DumpOptions): Promise<LogBatch[]> {
  if (!existsSync(partitionDir)) {
    throw new Error(
      `No partition directory ${partitionDir}: the topic does not exist on this broker, or its data was deleted`,
    );
  }
  const segments = readdirSync(partitionDir)
    .filter((f) => f.endsWith('.log'))
    .sort()
    .map((f) => join(partitionDir, f));
  if (segments.length === 0) throw new Error(`No segment files (*.log) in ${partitionDir}`);
  return parseDumpLogSegments(await dumpLogSegments(segments, options));
}

/** Runs DumpLogSegments with --deep-iteration --print-data-log on the files; returns its output. */
export async function dumpLogSegments(files: string[], options: DumpOptions): Promise<string> {
  const java = options.java ?? javaCommand();
  let lastOutput = '';
  for (const toolClass of TOOL_CLASSES) {
    const args = [
      '-Xmx256m',
      '-cp',
      `${options.libsDir}/*`,
      toolClass,
      '--deep-iteration',
      '--print-data-log',
      '--files',
      files.join(','),
    ];
    const { code, stdout, stderr, error } = await runJava(java, args);
    if (error?.code === 'ENOENT') {
      throw new Error(
        `Reading the broker's segment files needs Java 17+ ("${java}" was not found): ` +
          'install it (apt-get install openjdk-17-jre-headless), or set KP_JAVA or JAVA_HOME',
      );
    }
    if (code === 0) return stdout;
    lastOutput = `${stdout}${stderr}`.trim();
    // Another Kafka version keeps the tool in another class: try the next name.
    if (!/Could not find or load main class|ClassNotFoundException/.test(lastOutput)) break;
  }
  throw new Error(
    `DumpLogSegments failed on ${files.join(', ')} (jars in ${options.libsDir}):\n${lastOutput.split('\n').slice(-10).join('\n')}`,
  );
}

/** Parses DumpLogSegments output (with --deep-iteration and --print-data-log). */
export function parseDumpLogSegments(output: string): LogBatch[] {
  const batches: LogBatch[] = [];
  for (const line of output.split('\n')) {
    if (line.startsWith('baseOffset:')) {
      batches.push({
        baseOffset: field(line, 'baseOffset'),
        lastOffset: field(line, 'lastOffset'),
        count: field(line, 'count'),
        producerId: field(line, 'producerId'),
        producerEpoch: field(line, 'producerEpoch'),
        baseSequence: field(line, 'baseSequence'),
        lastSequence: field(line, 'lastSequence'),
        isTransactional: /\bisTransactional: true\b/.test(line),
        isControl: /\bisControl: true\b/.test(line),
        records: [],
      });
    } else if (line.startsWith('| offset:')) {
      const batch = batches.at(-1);
      if (!batch) throw new Error(`DumpLogSegments printed a record before any batch: ${line}`);
      // The payload is last on the line and may hold anything, spaces included.
      const at = line.indexOf(' payload: ');
      batch.records.push({
        offset: field(line, 'offset'),
        sequence: field(line, 'sequence'),
        payload: at < 0 ? null : line.slice(at + ' payload: '.length),
      });
    }
  }
  return batches;
}

function field(line: string, name: string): number {
  const m = new RegExp(`(?:^|[\\s|])${name}: (-?\\d+)`).exec(line);
  if (!m) throw new Error(`DumpLogSegments output has no "${name}" where expected: ${line}`);
  return Number(m[1]);
}

function javaCommand(): string {
  if (process.env.KP_JAVA) return process.env.KP_JAVA;
  const home = process.env.JAVA_HOME;
  if (home && existsSync(join(home, 'bin', 'java'))) return join(home, 'bin', 'java');
  return 'java';
}

function runJava(
  java: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string; error?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    execFile(java, args, { maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) {
        resolve({ code: 0, stdout, stderr });
        return;
      }
      const code = typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr, error: error as NodeJS.ErrnoException });
    });
  });
}
