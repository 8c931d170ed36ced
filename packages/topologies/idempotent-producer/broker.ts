/**
 * A broker of its own for the idempotent-producer demo and tests: a single KRaft node started
 * from the Apache Kafka jars by `scripts/stack.sh` (the same start, storage format and readiness
 * check as the local stack), on free ports, with its own data directory, whose advertised
 * listener is another address: the fault proxy's. Clients bootstrap through the proxy and the
 * metadata keeps them there, so every produce response crosses it.
 *
 * Why not the stack's broker: its advertised listener is its own port, so a client that asked
 * for metadata would reconnect around the proxy; and its log holds everyone's topics, while the
 * evidence here is read from the segment files themselves (DumpLogSegments), which needs the
 * broker's data directory on this machine.
 *
 * Everything lives under one stack directory (default `.stack/idempotent-producer/` in the
 * repository): the jars (fetched once from Maven Central, kept), the data (deleted by `stop()`)
 * and the logs. One run uses it at a time; a run that was killed leaves its broker behind,
 * and the next start stops it first.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const STACK_SCRIPT = join(REPO_ROOT, 'scripts', 'stack.sh');
const DEFAULT_STACK_DIR = join(REPO_ROOT, '.stack', 'idempotent-producer');
const MAIN_STACK_PORTS = new Set([9092, 9093, 19092, 19093]);

export interface DedicatedBrokerOptions {
  /** The port clients are told to connect to: where the fault proxy listens. */
  advertisedPort: number;
  /** The broker's own listener and its controller's; default free ports (see `freePorts`). */
  port?: number;
  controllerPort?: number;
  /** Jars, data and logs; default `.stack/idempotent-producer` in the repository. */
  stackDir?: string;
  /**
   * Default KP_KAFKA_VERSION (so `scripts/test-on-kafka.sh <version>` runs this broker on the
   * version under test too), else 4.4.0, the stack's.
   */
  kafkaVersion?: string;
  /** JVM heap flags; default a small heap, since the demo's topics are small. */
  heap?: string;
}

export class DedicatedBroker {
  readonly host = '127.0.0.1';
  readonly port: number;
  readonly controllerPort: number;
  readonly kafkaVersion: string;
  /** The broker's jars: the tools that read its segments run from the same ones. */
  readonly libsDir: string;
  readonly dataDir: string;
  readonly logsDir: string;
  readonly #stackDir: string;
  readonly #env: NodeJS.ProcessEnv;
  #stopped = false;

  private constructor(
    stackDir: string,
    kafkaVersion: string,
    port: number,
    controllerPort: number,
    env: NodeJS.ProcessEnv,
  ) {
    this.#stackDir = stackDir;
    this.kafkaVersion = kafkaVersion;
    this.port = port;
    this.controllerPort = controllerPort;
    this.#env = env;
    const versionDir = join(stackDir, 'kafka', kafkaVersion);
    this.libsDir = join(versionDir, 'libs');
    this.dataDir = join(versionDir, 'data');
    this.logsDir = join(versionDir, 'logs');
  }

  /** Starts the broker and resolves once it accepts connections on its own port. */
  static async start(options: DedicatedBrokerOptions): Promise<DedicatedBroker> {
    const stackDir = options.stackDir ?? DEFAULT_STACK_DIR;
    const kafkaVersion = options.kafkaVersion ?? process.env.KP_KAFKA_VERSION ?? '4.4.0';
    const [port, controllerPort] =
      options.port !== undefined && options.controllerPort !== undefined
        ? [options.port, options.controllerPort]
        : await freePorts(2);
    for (const p of [port!, controllerPort!, options.advertisedPort]) {
      if (MAIN_STACK_PORTS.has(p)) {
        throw new Error(
          `Port ${p} belongs to the local stack or the version tests (9092, 9093, 19092, 19093): the dedicated broker needs others`,
        );
      }
    }
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KP_STACK_DIR: stackDir,
      KP_KAFKA_MODE: 'jars',
      KP_KAFKA_VERSION: kafkaVersion,
      KP_KAFKA_PORT: String(port),
      KP_KAFKA_CONTROLLER_PORT: String(controllerPort),
      KP_KAFKA_ADVERTISED_PORT: String(options.advertisedPort),
      KP_KAFKA_HEAP: options.heap ?? '-Xmx384m -Xms128m',
    };
    // This broker, never a cluster named by the caller's environment.
    delete env.KAFKA_BOOTSTRAP_SERVERS;
    const broker = new DedicatedBroker(stackDir, kafkaVersion, port!, controllerPort!, env);
    broker.#claim();
    try {
      await broker.#stack('up', 'kafka');
    } catch (error) {
      await broker.stop().catch(() => {});
      throw error;
    }
    return broker;
  }

  /** The broker's own address, past the proxy. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** The directory holding a partition's segment files. */
  partitionDir(topic: string, partition: number): string {
    return join(this.dataDir, `${topic}-${partition}`);
  }

  /** Stops the broker and deletes its data (the jars and logs stay). Safe to call twice. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    try {
      await this.#stack('down', '--wipe', 'kafka');
    } finally {
      rmSync(this.#ownerFile(), { force: true });
    }
  }

  #ownerFile(): string {
    return join(this.#stackDir, 'owner.pid');
  }

  /**
   * Marks the stack directory as this process's. A live owner is another run: refuse. A dead
   * one may have left its broker running (it was killed), which `up` would find and keep, with
   * its old ports: `up` is always preceded by `down --wipe`.
   */
  #claim(): void {
    mkdirSync(this.#stackDir, { recursive: true });
    const file = this.#ownerFile();
    if (existsSync(file)) {
      const owner = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new Error(
          `The dedicated broker in ${this.#stackDir} is in use by process ${owner} (another idempotent-producer demo or test run): ` +
            'wait for it to finish, or stop that process',
        );
      }
    }
    writeFileSync(file, `${process.pid}\n`);
  }

  async #stack(...args: string[]): Promise<void> {
    if (args[0] === 'up') await run(STACK_SCRIPT, ['down', '--wipe', 'kafka'], this.#env);
    await run(STACK_SCRIPT, args, this.#env);
  }
}

function run(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [script, ...args], { env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) {
        resolve(stdout);
        return;
      }
      const said = `${stdout}${stderr}`.trim().split('\n').slice(-15).join('\n');
      // stack.sh's own advice names Docker and KAFKA_BOOTSTRAP_SERVERS, which cannot stand in here.
      const note =
        args[0] === 'up'
          ? '\nThis broker always runs from the Kafka jars (Java 17+, and Maven once to fetch them): the fault proxy must be ' +
            'its advertised listener and DumpLogSegments reads its data directory, so Docker or an existing cluster cannot replace it.'
          : '';
      reject(
        new Error(
          `scripts/stack.sh ${args.join(' ')} failed for the idempotent-producer broker (exit ${error.code ?? error.signal}):\n${said}${note}`,
          { cause: error },
        ),
      );
    });
  });
}

/** Ports nobody listens on now, never the local stack's or the version tests'. */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const p = address !== null && typeof address !== 'string' ? address.port : 0;
        server.close(() => resolve(p));
      });
    });
    if (port > 0 && !MAIN_STACK_PORTS.has(port) && !ports.includes(port)) ports.push(port);
  }
  return ports;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
