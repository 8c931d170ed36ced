/**
 * The Spring side of the retry-topics interoperation test: builds the Maven project in spring/
 * when its sources changed, and runs its @RetryableTopic application as a child process whose
 * JSON lines on stdout the test reads. A missing Java or Maven is a failure with a message that
 * says what to install, never a skip: without Spring there is nothing to interoperate with.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { mavenProject } from '../support/maven-project.ts';

const project = mavenProject({
  dir: fileURLToPath(new URL('./spring/', import.meta.url)),
  jarName: 'retry-topics-spring.jar',
  needs: 'The Spring interoperation test needs',
  reference: 'Spring Kafka itself',
  versionProperty: 'spring-kafka.version',
  what: 'the Spring application',
});
const targetDir = join(project.dir, 'target');
const jar = project.jar;

/** The spring-kafka version spring/ builds against. */
export function springKafkaVersion(): string {
  return project.version();
}

/** Builds spring/ into spring/target/ unless the jar there was built from the current sources. */
export function ensureSpringApp(): void {
  project.ensureBuilt();
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
