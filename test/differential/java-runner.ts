/**
 * The Kafka Streams side of the differential tests: builds the Maven project in java/ when its
 * sources changed, then runs every case in one JVM. A missing Java or Maven is a failure with a
 * message that says what to install, never a skip: without the reference there is no test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mavenProject } from '../support/maven-project.ts';

const project = mavenProject({
  dir: fileURLToPath(new URL('./java/', import.meta.url)),
  jarName: 'differential-runner.jar',
  needs: 'The differential tests need',
  reference: 'Kafka Streams itself',
  versionProperty: 'kafka.version',
  what: 'the Kafka Streams runner',
});
const targetDir = join(project.dir, 'target');
const jar = project.jar;

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

/** The Kafka Streams version java/ builds against: the kafka.version property of its pom.xml. */
export function kafkaStreamsVersion(): string {
  return project.version();
}

/** Builds java/ into java/target/ unless the jar there was built from the current sources. */
export function ensureJavaRunner(): void {
  project.ensureBuilt();
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
