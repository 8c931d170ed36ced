/**
 * The Spring side of the retry-topics interoperation test: builds the Maven project in spring/
 * when its sources changed, and runs its @RetryableTopic application as a child process whose
 * JSON lines on stdout the test reads. A missing Java or Maven is a failure with a message that
 * says what to install, never a skip: without Spring there is nothing to interoperate with.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const projectDir = fileURLToPath(new URL('./spring/', import.meta.url));
const targetDir = join(projectDir, 'target');
const jar = join(targetDir, 'retry-topics-spring.jar');
const hashFile = join(targetDir, 'source.sha256');

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
      `The Spring interoperation test needs ${what} ("${command} ${args.join(' ')}" failed: ${r.error?.message ?? r.stderr.trim()}). ` +
        'Install Java 17 and Maven 3.8+ and put them on PATH: Spring Kafka itself is what this test compares with.',
    );
  }
}

/** The spring-kafka version spring/ builds against. */
export function springKafkaVersion(): string {
  const pom = readFileSync(join(projectDir, 'pom.xml'), 'utf8');
  const version = /<spring-kafka\.version>([^<]+)<\/spring-kafka\.version>/.exec(pom)?.[1]?.trim();
  if (!version) throw new Error(`No <spring-kafka.version> property in ${join(projectDir, 'pom.xml')}`);
  return version;
}

/** Builds spring/ into spring/target/ unless the jar there was built from the current sources. */
export function ensureSpringApp(): void {
  requireTool('java', ['-version'], 'Java 17');
  const hash = sourceHash();
  if (existsSync(jar) && existsSync(hashFile) && readFileSync(hashFile, 'utf8') === hash) return;
  requireTool('mvn', ['-v'], 'Maven');
  const r = spawnSync('mvn', ['-q', '-B', '-f', join(projectDir, 'pom.xml'), 'clean', 'package'], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0)
    throw new Error(
      `Building the Spring application failed (mvn package in ${projectDir}):\n${r.stdout}\n${r.stderr}`,
    );
  writeFileSync(hashFile, hash);
}

export interface SpringEvent {
  event: string;
  // biome-ignore lint/suspicious/noExplicitAny: events are JSON from the child, read by field
  [field: string]: any;
}

/** A header as the Spring listener saw it: name and bytes as hex. */
export type SpringHeader = [string, string];

export interface SpringSettings {
  bootstrap: string;
  topic: string;
  group: string;
  attempts: number;
  delay: number;
  multiplier?: number;
  maxDelay?: number;
  suffixing?: 'delay' | 'index';
  /** Which listener containers run: the main topic's, the retry topics' and the DLT's, all, none. */
  role: 'main' | 'retry' | 'all' | 'none';
  /** The listener fails while the attempt is below this (99: always). */
  failUntil: number;
  /** Partitions of the topics Spring creates (its default is 1). */
  partitions?: number;
}

export class SpringApp {
  readonly events: SpringEvent[] = [];
  readonly stderr: string[] = [];
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;

  constructor(settings: SpringSettings) {
    ensureSpringApp();
    const props: Record<string, string | number | undefined> = {
      'rt.bootstrap': settings.bootstrap,
      'rt.topic': settings.topic,
      'rt.group': settings.group,
      'rt.attempts': settings.attempts,
      'rt.delay': settings.delay,
      'rt.multiplier': settings.multiplier,
      'rt.maxDelay': settings.maxDelay,
      'rt.suffixing': settings.suffixing ?? 'delay',
      'rt.role': settings.role,
      'rt.failUntil': settings.failUntil,
      'rt.partitions': settings.partitions,
    };
    const args = [
      // Two cores: a small heap and the quick compiler keep the JVM from starving the test.
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      ...Object.entries(props)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `-D${k}=${v}`),
      '-cp',
      [jar, join(targetDir, 'lib', '*')].join(':'),
      'retrytopics.RetryTopicsApp',
    ];
    this.#child = spawn('java', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      if (line.startsWith('{')) this.events.push(JSON.parse(line) as SpringEvent);
    });
    createInterface({ input: this.#child.stderr! }).on('line', (line) => this.stderr.push(line));
    this.#exited = new Promise((resolve) => this.#child.on('exit', (code) => resolve(code)));
  }

  /** The first event that matches, waiting up to `timeoutMs`; the error shows Spring's last words. */
  async waitFor(match: (e: SpringEvent) => boolean, what: string, timeoutMs = 30_000): Promise<SpringEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(match);
      if (found) return found;
      if (Date.now() > deadline || this.#child.exitCode !== null)
        throw new Error(
          `Spring: no ${what} within ${timeoutMs} ms (exit code ${this.#child.exitCode}); stderr:\n${this.stderr.slice(-30).join('\n')}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  send(line: string): void {
    this.#child.stdin!.write(`${line}\n`);
  }

  /** Closes the Spring context (stdin closes), then kills it if it has not gone after 15 s. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    this.#child.stdin!.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 15_000);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** Decodes a Spring event's headers. */
export function springHeaders(e: SpringEvent): Array<[string, Buffer]> {
  return (e.headers as SpringHeader[]).map(([name, hex]) => [name, Buffer.from(hex, 'hex')]);
}
