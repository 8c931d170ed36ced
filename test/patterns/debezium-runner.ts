/**
 * The Debezium side of the CDC and outbox compatibility tests: builds the Maven project in
 * debezium/ when its sources changed, and runs Debezium's embedded PostgreSQL connector as a child
 * process whose JSON lines on stdout are the records a Kafka Connect worker would have produced. A
 * missing Java or Maven is a failure with a message that says what to install, never a skip:
 * without Debezium there is nothing to be compatible with.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { mavenProject } from '../support/maven-project.ts';

const project = mavenProject({
  dir: fileURLToPath(new URL('./debezium/', import.meta.url)),
  jarName: 'debezium-capture.jar',
  needs: 'The Debezium compatibility test needs',
  reference: 'Debezium itself',
  versionProperty: 'debezium.version',
  what: 'the Debezium application',
});
const targetDir = join(project.dir, 'target');
const jar = project.jar;

/** The Debezium version debezium/ builds against. */
export function debeziumVersion(): string {
  return project.version();
}

/** The major version `java -version` reports, or undefined when it does not run. */
function javaMajor(java: string): number | undefined {
  const r = spawnSync(java, ['-version'], { encoding: 'utf8' });
  const m = /version "(\d+)(?:\.(\d+))?/.exec(`${r.stderr ?? ''}${r.stdout ?? ''}`);
  if (r.status !== 0 || !m) return undefined;
  return m[1] === '1' ? Number(m[2]) : Number(m[1]);
}

let chosenJava: { java: string; major: number } | undefined;

/**
 * The JVM that runs Debezium: DEBEZIUM_JAVA_HOME's when set; else the first of JAVA_HOME, `java`
 * on PATH and the JDKs in /usr/lib/jvm that is Java 21 or later, as in Debezium's own container images (Fedora's
 * java-21-openjdk); else `java` on PATH. It matters for the numbers: Java before 19 prints some
 * floats and doubles with more digits than needed (JDK-4511638: 4.11811763E9 for 4.1181176E9).
 */
export function debeziumJava(): { java: string; major: number } {
  if (chosenJava) return chosenJava;
  const forced = process.env.DEBEZIUM_JAVA_HOME;
  if (forced) {
    const java = join(forced, 'bin', 'java');
    chosenJava = { java, major: javaMajor(java) ?? 0 };
    return chosenJava;
  }
  const homes = [process.env.JAVA_HOME].filter((h): h is string => !!h);
  const jvmDir = '/usr/lib/jvm';
  const installed = existsSync(jvmDir)
    ? readdirSync(jvmDir)
        .map((d) => join(jvmDir, d))
        .sort()
        .reverse()
    : [];
  const candidates = [
    ...homes.map((h) => join(h, 'bin', 'java')),
    'java',
    ...installed.map((h) => join(h, 'bin', 'java')),
  ];
  let fallback: { java: string; major: number } | undefined;
  for (const java of candidates) {
    if (java !== 'java' && !existsSync(java)) continue;
    const major = javaMajor(java);
    if (major === undefined) continue;
    if (major >= 21) {
      chosenJava = { java, major };
      return chosenJava;
    }
    if (java === 'java') fallback = { java, major };
  }
  chosenJava = fallback ?? { java: 'java', major: 0 };
  return chosenJava;
}

/** Builds debezium/ into debezium/target/ unless the jar there was built from the current sources. */
export function ensureDebeziumApp(): void {
  project.ensureBuilt();
}

/** A header as Kafka Connect's SimpleHeaderConverter would have written it: name and bytes as hex. */
export type DebeziumHeader = [string, string | null];

/**
 * One record as a Kafka Connect worker with JsonConverter (schemas.enable=false) would produce it.
 * Integers beyond 2^53 (bigint columns, `source.lsn`, `ts_ns`, infinities) are bigints, every other
 * number a number; `line` is the child's line as printed, for comparing the exact number text
 * (`0.0` against `0`), which a parsed number no longer tells.
 */
export interface DebeziumRecord {
  topic: string;
  key: unknown;
  /** null: the tombstone that follows a delete. */
  value: unknown;
  headers: DebeziumHeader[];
  /** The JSON line the child printed: `{"event":"record","topic":…,"key":…,"value":…,"headers":…}`. */
  line: string;
}

/** What JSON.parse hands a reviver (Node 22+): the source text of a primitive. */
interface ReviverContext {
  source?: string;
}

/** JSON.parse that keeps every digit of an integer a double cannot hold, as a bigint. */
export function parseExactJson(text: string): unknown {
  return JSON.parse(text, ((_key: string, value: unknown, context?: ReviverContext) =>
    typeof value === 'number' &&
    !Number.isSafeInteger(value) &&
    context?.source !== undefined &&
    /^-?\d+$/.test(context.source)
      ? BigInt(context.source)
      : value) as (key: string, value: unknown) => unknown);
}

interface DebeziumLine {
  event: 'started' | 'record' | 'completed' | 'stopped';
  // biome-ignore lint/suspicious/noExplicitAny: lines are JSON from the child, read by field
  [field: string]: any;
}

export interface DebeziumSettings {
  /** PostgreSQL connection string; host, port, user, password and database are passed on. */
  databaseUrl: string;
  /** The connector's logical name, also topic.prefix unless `topicPrefix` says otherwise. */
  name: string;
  topicPrefix?: string;
  /** Unique per run, so that parallel runs neither share nor drop each other's slots. */
  slot: string;
  publication: string;
  /** table.include.list entries, schema-qualified: `public.orders`. */
  tables: string[];
  /** Applies io.debezium.transforms.outbox.EventRouter, with the event type as a `type` header. */
  outbox?: boolean;
  /**
   * Bootstrap servers to produce the records to, as a Kafka Connect worker would (acks=all,
   * idempotent), instead of printing them: `records` stays empty. For the benchmark.
   */
  kafka?: string;
  /**
   * JVM options in place of the defaults, which keep the JVM small and quick to start for the
   * tests (256 MiB heap, serial GC, the C1 compiler only); a benchmark wants the JVM's own.
   */
  jvmOptions?: string[];
  /** Further connector properties, which win over the defaults (snapshot.mode=initial, …). */
  properties?: Record<string, string>;
}

export class DebeziumApp {
  readonly records: DebeziumRecord[] = [];
  readonly stderr: string[] = [];
  readonly #lines: DebeziumLine[] = [];
  readonly #settings: DebeziumSettings;
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;

  constructor(settings: DebeziumSettings) {
    ensureDebeziumApp();
    this.#settings = settings;
    const url = new URL(settings.databaseUrl);
    const opts: Record<string, string | undefined> = {
      name: settings.name,
      'topic-prefix': settings.topicPrefix,
      slot: settings.slot,
      publication: settings.publication,
      tables: settings.tables.join(','),
      host: url.hostname,
      port: url.port || '5432',
      user: decodeURIComponent(url.username) || 'postgres',
      password: decodeURIComponent(url.password),
      dbname: url.pathname.slice(1) || 'postgres',
    };
    const args = [
      // Two cores: a small heap and the quick compiler keep the JVM from starving the test.
      ...(settings.jvmOptions ?? ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1']),
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-cp',
      [jar, join(targetDir, 'lib', '*')].join(':'),
      'cdc.DebeziumCapture',
      ...Object.entries(opts)
        .filter(([, v]) => v !== undefined && v !== '')
        .flatMap(([k, v]) => [`--${k}`, v as string]),
      ...(settings.outbox ? ['--outbox'] : []),
      ...(settings.kafka ? ['--kafka', settings.kafka] : []),
      ...Object.entries(settings.properties ?? {}).flatMap(([k, v]) => ['--prop', `${k}=${v}`]),
    ];
    this.#child = spawn(debeziumJava().java, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const parsed = parseExactJson(line) as DebeziumLine;
      this.#lines.push(parsed);
      if (parsed.event === 'record')
        this.records.push({
          topic: parsed.topic,
          key: parsed.key,
          value: parsed.value,
          headers: parsed.headers,
          line,
        });
    });
    createInterface({ input: this.#child.stderr! }).on('line', (line) => this.stderr.push(line));
    this.#exited = new Promise((resolve) => this.#child.on('exit', (code) => resolve(code)));
  }

  /** The JVM's process id (its CPU time is the benchmark's), undefined if it failed to spawn. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  async #waitLine(
    match: (l: DebeziumLine) => boolean,
    what: string,
    timeoutMs: number,
  ): Promise<DebeziumLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.#lines.find(match);
      if (found) return found;
      const failed = this.#lines.find((l) => l.event === 'completed' && !l.success);
      if (failed || Date.now() > deadline || this.#child.exitCode !== null)
        throw new Error(
          `Debezium: no ${what} within ${timeoutMs} ms (exit code ${this.#child.exitCode}${failed ? `, ${failed.message} ${failed.error ?? ''}` : ''}); stderr:\n${this.stderr.slice(-30).join('\n')}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Resolves once the connector task has started and its replication slot exists, so that every
   * change committed afterwards is captured.
   */
  async started(timeoutMs = 60_000): Promise<void> {
    await this.#waitLine((l) => l.event === 'started', 'task start', timeoutMs);
  }

  /**
   * Resolves once the initial snapshot's last record (`source.snapshot` "last") was emitted, and
   * returns it. `started()` comes before the snapshot: a change of a table's columns before this
   * can fail the snapshot, which Debezium then retries from a new slot. A snapshot of tables that
   * are all empty has no such record: do not wait for it then.
   */
  async snapshotCompleted(timeoutMs = 90_000): Promise<DebeziumRecord> {
    const [last] = await this.waitForRecords(
      1,
      (r) => (r.value as { source?: { snapshot?: unknown } } | null)?.source?.snapshot === 'last',
      timeoutMs,
    );
    return last!;
  }

  /** The records so far once there are at least `count` matching ones, waiting up to `timeoutMs`. */
  async waitForRecords(
    count: number,
    match: (r: DebeziumRecord) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<DebeziumRecord[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.records.filter(match);
      if (found.length >= count) return found;
      if (
        Date.now() > deadline ||
        this.#child.exitCode !== null ||
        this.#lines.some((l) => l.event === 'completed')
      )
        throw new Error(
          `Debezium: ${found.length} of ${count} records within ${timeoutMs} ms (exit code ${this.#child.exitCode}); stderr:\n${this.stderr.slice(-30).join('\n')}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Stops the engine (stdin closes; it is killed if it has not gone after 20 s), then drops its
   * replication slot and publication: a slot left behind would hold back WAL for good.
   */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null) {
      this.#child.stdin!.end();
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 20_000);
      await this.#exited;
      clearTimeout(timer);
    }
    const client = new pg.Client({ connectionString: this.#settings.databaseUrl });
    await client.connect();
    try {
      // A killed engine may leave its walsender behind for a moment, and an active slot cannot be dropped.
      for (let attempt = 0; ; attempt++) {
        try {
          await client.query(
            'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
            [this.#settings.slot],
          );
          break;
        } catch (e) {
          if (attempt >= 50) throw e;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      await client.query(`DROP PUBLICATION IF EXISTS "${this.#settings.publication.replaceAll('"', '""')}"`);
    } finally {
      await client.end();
    }
  }
}

/** Decodes a record's headers. */
export function debeziumHeaders(r: DebeziumRecord): Array<[string, Buffer | null]> {
  return r.headers.map(([name, hex]) => [name, hex === null ? null : Buffer.from(hex, 'hex')]);
}
