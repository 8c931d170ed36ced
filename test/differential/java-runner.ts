/**
 * The Kafka Streams side of the differential tests: builds the Maven project in java/ when its
 * sources changed, then runs every case in one JVM. A missing Java or Maven is a failure with a
 * message that says what to install, never a skip: without the reference there is no test.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectDir = fileURLToPath(new URL('./java/', import.meta.url));
const targetDir = join(projectDir, 'target');
const jar = join(targetDir, 'differential-runner.jar');
const hashFile = join(targetDir, 'source.sha256');

export interface JavaStep {
  readonly topic?: string;
  readonly key?: string | null;
  readonly value?: string | null;
  readonly timestamp?: number;
  readonly advanceWallClockMs?: number;
}

export interface JavaCase {
  readonly id: string;
  readonly topology: string;
  readonly params: Readonly<Record<string, number>>;
  /** Kafka Streams configs for this case, over the runner's defaults. */
  readonly config?: Readonly<Record<string, string>>;
  readonly steps: readonly JavaStep[];
  readonly outputs: readonly string[];
  readonly stores: readonly { name: string; value: string }[];
}

export interface OutputRecord {
  readonly key: string | null;
  readonly value: string | null;
  readonly timestamp: number;
}

export interface CaseResult {
  readonly id: string;
  readonly outputs: Record<string, OutputRecord[]>;
  readonly stores: Record<string, [string, string | number][]>;
  readonly error?: string;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

function sourceHash(): string {
  const hash = createHash('sha256');
  for (const f of [join(projectDir, 'pom.xml'), ...files(join(projectDir, 'src')).sort()]) {
    hash.update(f.slice(projectDir.length));
    hash.update(readFileSync(f));
  }
  return hash.digest('hex');
}

function requireTool(command: string, args: string[], what: string): void {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(
      `The differential tests need ${what} ("${command} ${args.join(' ')}" failed: ${r.error?.message ?? r.stderr.trim()}). ` +
        'Install Java 17 and Maven 3.8+ and put them on PATH: Kafka Streams itself is the reference these tests compare with.',
    );
  }
}

/** The Kafka Streams version java/ builds against: the kafka.version property of its pom.xml. */
export function kafkaStreamsVersion(): string {
  const pom = readFileSync(join(projectDir, 'pom.xml'), 'utf8');
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1]?.trim();
  if (!version) throw new Error(`No <kafka.version> property in ${join(projectDir, 'pom.xml')}`);
  return version;
}

/** Builds java/ into java/target/ unless the jar there was built from the current sources. */
export function ensureJavaRunner(): void {
  requireTool('java', ['-version'], 'Java 17');
  const hash = sourceHash();
  if (existsSync(jar) && existsSync(hashFile) && readFileSync(hashFile, 'utf8') === hash) return;
  requireTool('mvn', ['-v'], 'Maven');
  // clean: copy-dependencies adds to target/lib and never removes, so the jars of an earlier
  // Kafka Streams version would stay on the class path next to the new ones.
  const r = spawnSync('mvn', ['-q', '-B', '-f', join(projectDir, 'pom.xml'), 'clean', 'package'], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0)
    throw new Error(
      `Building the Kafka Streams runner failed (mvn package in ${projectDir}):\n${r.stdout}\n${r.stderr}`,
    );
  writeFileSync(hashFile, hash);
}

/** Runs all cases through Kafka Streams' TopologyTestDriver; results come back in case order. */
export function runJava(cases: readonly JavaCase[]): CaseResult[] {
  ensureJavaRunner();
  const dir = mkdtempSync(join(tmpdir(), 'differential-'));
  try {
    const input = join(dir, 'cases.json');
    const output = join(dir, 'results.json');
    writeFileSync(input, JSON.stringify({ cases }));
    const classpath = [jar, join(targetDir, 'lib', '*')].join(':');
    // Two cores: a small heap and one compiler thread keep the JVM from starving the test.
    execFileSync(
      'java',
      [
        '-Xmx512m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-cp',
        classpath,
        'differential.DifferentialRunner',
        input,
        output,
      ],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    const { results } = JSON.parse(readFileSync(output, 'utf8')) as { results: CaseResult[] };
    if (results.length !== cases.length)
      throw new Error(
        `The Kafka Streams runner returned ${results.length} results for ${cases.length} cases`,
      );
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
