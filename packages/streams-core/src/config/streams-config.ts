/**
 * Application configuration: the options of KafkaStreams and of the TopologyTestDriver, their
 * defaults, and validation with messages that say what to change.
 */

import { type SaslSettings, securityProblem, type TlsSettings } from '../client/security.ts';
import { type DeadLetterConfig, defaultDeadLetterConfig } from '../errors/dead-letter.ts';
import { DeadLetterLog } from '../errors/dead-letter-log.ts';
import {
  deadLetterHandler,
  type ExceptionHandler,
  logAndContinueHandler,
  logAndFailHandler,
} from '../errors/exception-handlers.ts';
import { consoleLogger, type Logger } from '../observability/logger.ts';
import type { Serde } from '../serdes/serde.ts';
import type { TimestampExtractor } from '../topology/extractors.ts';

export type ProcessingGuarantee = 'at_least_once' | 'exactly_once_v2';
export type HandlerChoice = 'dead-letter' | 'log-and-continue' | 'log-and-fail' | ExceptionHandler;

export interface StreamsConfig {
  /** Names the consumer group, the transactional ids and every internal topic. */
  applicationId: string;
  bootstrapServers: string | readonly string[];
  processingGuarantee?: ProcessingGuarantee;
  /** Where task state lives: `<stateDir>/<applicationId>/<taskId>/`. Default: the OS temp dir. */
  stateDir?: string;
  /** How often processed offsets (and, under exactly-once, transactions) are committed. Default 30 s, or 100 ms under exactly_once_v2, as in Kafka Streams. */
  commitIntervalMs?: number;
  defaultKeySerde?: Serde<any>;
  defaultValueSerde?: Serde<any>;
  defaultTimestampExtractor?: TimestampExtractor;
  /** A record whose bytes cannot be read. Default: dead-letter it and go on. */
  deserializationExceptionHandler?: HandlerChoice;
  /** A record whose processing throws. Default: dead-letter it and go on. */
  processingExceptionHandler?: HandlerChoice;
  deadLetter?: Partial<DeadLetterConfig>;
  /**
   * A batch of outputs the broker refused (record too large, authorization, a topic deleted
   * under us). 'fail' (default) stops the stream thread and hands the error to the uncaught
   * exception handler; 'continue' drops the batch, counts it and goes on (at_least_once only:
   * under exactly_once_v2 the transaction is always aborted and the work retried).
   */
  productionExceptionHandler?:
    | 'fail'
    | 'continue'
    | ((error: unknown, records: number) => 'fail' | 'continue');
  /**
   * Closes windows on quiet partitions: a task that received no record for this long has its
   * stream time moved to the wall clock minus this delay, so suppressed window results and
   * unmatched outer-join results are emitted without waiting for the next record. The trade-off:
   * a record that arrives later with an event time before the advanced stream time is late and
   * dropped. Off by default (stream time moves with records only, as in Kafka Streams).
   */
  advanceIdleStreamTimeAfterMs?: number;
  /**
   * Replication factor of the topics the application creates (changelogs, repartition topics,
   * dead-letter topics, declared topics). Default -1: the broker's `default.replication.factor`,
   * as Kafka Streams' `replication.factor` -1.
   */
  replicationFactor?: number;
  numStandbyReplicas?: number;
  /**
   * Stream threads of this instance (Kafka Streams' num.stream.threads), each with its own
   * consumer and producer in the group; the group's assignment spreads the tasks across them.
   * Thread 1 runs on the main event loop and threads 2..N in worker threads, which build the
   * topology from `KafkaStreamsOptions.topologyModule`. Default 1.
   */
  numStreamThreads?: number;
  /** `host:port` where this instance serves interactive queries. */
  applicationServer?: string;
  /**
   * Record cache per key-value store with caching on (tables and aggregations by default):
   * updates of a key between commits are folded into one. Default 1 MiB; 0 turns caching off,
   * so every update is emitted (as the TopologyTestDriver does).
   */
  cacheMaxBytes?: number;
  clientId?: string;
  /** Settings of the Kafka clients the application opens. */
  client?: ClientSettings;
  /**
   * How long the stream thread keeps retrying a broker it cannot reach, a coordinator that moved
   * or another transient broker error (Kafka Streams' task.timeout.ms): it backs off, reopens its
   * clients and resumes from what was committed. Only when an outage lasts longer does the
   * application go to ERROR. Default 5 minutes.
   */
  taskTimeoutMs?: number;
  /** Where warnings and errors go: any logger with pino's `(obj, msg)` methods. Default: the console. */
  logger?: Logger;
}

/** Kafka client settings, in Kafka's own terms; each has the default Kafka Streams users know. */
export interface ClientSettings {
  /** The group drops a member it has not heard from for this long. Default 10 s. */
  sessionTimeoutMs?: number;
  /** How often the member tells the group it is alive. Default 1 s. */
  heartbeatIntervalMs?: number;
  /** How long the group waits for members to rejoin during a rebalance. Default 30 s. */
  rebalanceTimeoutMs?: number;
  /** Longest a poll waits for records before returning none (Kafka's fetch.max.wait.ms). Default 200 ms. */
  maxWaitMs?: number;
  /** exactly_once_v2: the broker aborts a transaction left open this long. Default 10 s. */
  transactionTimeoutMs?: number;
  /**
   * Most records one poll hands to the tasks (Kafka's max.poll.records). Between polls the thread
   * sends, commits when due and lets heartbeats and timers run, so a slow step facing a backlog
   * slows the application down instead of stalling the group. Default 1000.
   */
  maxPollRecords?: number;
  /**
   * Connect with TLS (Kafka's security.protocol SSL, or SASL_SSL with `sasl`): `true` trusts
   * Node's bundled CAs (a cluster with a public certificate, as managed ones have); `{ ca }`
   * trusts a private CA; `{ cert, key }` adds a client certificate (mTLS). Default: plaintext.
   */
  tls?: TlsSettings;
  /**
   * Log in with SASL (Kafka's sasl.mechanism and sasl.jaas.config): PLAIN or SCRAM-SHA-256/512
   * with a username and password, or OAUTHBEARER with a token (or a function returning a fresh
   * one). Every client of the application uses it. Default: no login.
   */
  sasl?: SaslSettings;
}

const CLIENT_SETTINGS: ReadonlyArray<keyof ClientSettings> = [
  'sessionTimeoutMs',
  'heartbeatIntervalMs',
  'rebalanceTimeoutMs',
  'maxWaitMs',
  'transactionTimeoutMs',
  'maxPollRecords',
  'tls',
  'sasl',
];

export interface ResolvedErrorHandling {
  readonly onDeserializationError: ExceptionHandler;
  readonly onProcessingError: ExceptionHandler;
  readonly deadLetter: DeadLetterConfig;
  /** One per application: the rate limit is per source topic, whichever task the dead letter came from. */
  readonly deadLetterLog: DeadLetterLog;
}

const HANDLER_CHOICES = "'dead-letter', 'log-and-continue', 'log-and-fail' or a function";

export function resolveHandler(choice: HandlerChoice | undefined): ExceptionHandler {
  if (choice === undefined || choice === 'dead-letter') return deadLetterHandler;
  if (choice === 'log-and-continue') return logAndContinueHandler;
  if (choice === 'log-and-fail') return logAndFailHandler;
  if (typeof choice === 'function') return choice;
  throw new ConfigException(`Unknown exception handler ${JSON.stringify(choice)}: use ${HANDLER_CHOICES}`);
}

/** Whether either exception handler may send records to a dead-letter topic (so it must exist). */
export function usesDeadLetters(config: Partial<StreamsConfig>): boolean {
  const viaDlt = (h: HandlerChoice | undefined) =>
    h === undefined || h === 'dead-letter' || typeof h === 'function';
  return viaDlt(config.processingExceptionHandler) || viaDlt(config.deserializationExceptionHandler);
}

export function resolveErrorHandling(config: Partial<StreamsConfig>): ResolvedErrorHandling {
  return {
    onDeserializationError: resolveHandler(config.deserializationExceptionHandler),
    onProcessingError: resolveHandler(config.processingExceptionHandler),
    deadLetter: {
      topic: config.deadLetter?.topic ?? defaultDeadLetterConfig.topic,
      headers: config.deadLetter?.headers ?? defaultDeadLetterConfig.headers,
    },
    deadLetterLog: new DeadLetterLog({ logger: config.logger ?? consoleLogger }),
  };
}

export class ConfigException extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigException';
  }
}

const APPLICATION_ID = /^[A-Za-z0-9._-]+$/;

/** Every option of StreamsConfig: the compiler keeps this in step with the interface. */
const OPTIONS = {
  applicationId: true,
  bootstrapServers: true,
  processingGuarantee: true,
  stateDir: true,
  commitIntervalMs: true,
  defaultKeySerde: true,
  defaultValueSerde: true,
  defaultTimestampExtractor: true,
  deserializationExceptionHandler: true,
  processingExceptionHandler: true,
  deadLetter: true,
  productionExceptionHandler: true,
  advanceIdleStreamTimeAfterMs: true,
  replicationFactor: true,
  numStandbyReplicas: true,
  numStreamThreads: true,
  applicationServer: true,
  cacheMaxBytes: true,
  clientId: true,
  client: true,
  logger: true,
  taskTimeoutMs: true,
} satisfies Record<keyof StreamsConfig, true>;
const OPTION_NAMES = Object.keys(OPTIONS);
const DEAD_LETTER_OPTIONS = ['topic', 'headers'] satisfies Array<keyof DeadLetterConfig>;
/** Kafka sends timeouts as 32-bit integers. */
const MAX_INT32 = 2_147_483_647;

/** Checks what can be checked before connecting; throws a ConfigException naming the fix. */
export function validateConfig(config: StreamsConfig): void {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new ConfigException(
      `The configuration must be an object, got ${shown(config)}: give at least { applicationId, bootstrapServers }`,
    );
  }
  for (const name of Object.keys(config)) {
    if (!Object.hasOwn(OPTIONS, name)) throw new ConfigException(unknownName('option', name, OPTION_NAMES));
  }
  if (typeof config.applicationId !== 'string' || !APPLICATION_ID.test(config.applicationId)) {
    throw new ConfigException(
      `applicationId ${JSON.stringify(config.applicationId)} is invalid: use letters, digits, '.', '_' or '-' (it names the consumer group and internal topics)`,
    );
  }
  const servers =
    typeof config.bootstrapServers === 'string'
      ? config.bootstrapServers.split(',')
      : config.bootstrapServers;
  if (
    !Array.isArray(servers) ||
    servers.length === 0 ||
    servers.some((s) => typeof s !== 'string' || !/^[^:\s]+:\d+$/.test(s.trim()))
  ) {
    throw new ConfigException(
      `bootstrapServers ${JSON.stringify(config.bootstrapServers)} is invalid: give host:port pairs, e.g. ['127.0.0.1:9092']`,
    );
  }
  const g = config.processingGuarantee;
  if (g !== undefined && g !== 'at_least_once' && g !== 'exactly_once_v2') {
    throw new ConfigException(
      `processingGuarantee ${JSON.stringify(g)} is invalid: use 'at_least_once' or 'exactly_once_v2'`,
    );
  }
  checkString('stateDir', config.stateDir, 'a directory path');
  checkString('clientId', config.clientId, 'a name');
  checkString('applicationServer', config.applicationServer, '"host:port"');
  checkNumber('commitIntervalMs', config.commitIntervalMs, { min: 0, unit: 'milliseconds' });
  checkNumber('advanceIdleStreamTimeAfterMs', config.advanceIdleStreamTimeAfterMs, {
    min: 0,
    unit: 'milliseconds',
  });
  checkNumber('numStandbyReplicas', config.numStandbyReplicas, { min: 0, integer: true });
  checkNumber('numStreamThreads', config.numStreamThreads, { min: 1, integer: true });
  if (config.replicationFactor !== -1) {
    checkNumber('replicationFactor', config.replicationFactor, {
      min: 1,
      integer: true,
      alternative: "or -1 for the broker's default.replication.factor",
    });
  }
  checkNumber('cacheMaxBytes', config.cacheMaxBytes, { min: 0, integer: true, unit: 'bytes' });
  checkSerde('defaultKeySerde', config.defaultKeySerde);
  checkSerde('defaultValueSerde', config.defaultValueSerde);
  if (
    config.defaultTimestampExtractor !== undefined &&
    typeof config.defaultTimestampExtractor !== 'function'
  ) {
    throw new ConfigException(
      `defaultTimestampExtractor must be a function (record, partitionTime) => timestamp, got ${shown(config.defaultTimestampExtractor)}`,
    );
  }
  if (
    config.taskTimeoutMs !== undefined &&
    (typeof config.taskTimeoutMs !== 'number' ||
      !(config.taskTimeoutMs >= 0) ||
      !Number.isFinite(config.taskTimeoutMs))
  ) {
    throw new ConfigException(
      `taskTimeoutMs must be a finite number of milliseconds >= 0, got ${describe(config.taskTimeoutMs)}`,
    );
  }
  for (const name of ['deserializationExceptionHandler', 'processingExceptionHandler'] as const) {
    const h: unknown = config[name];
    if (
      h !== undefined &&
      typeof h !== 'function' &&
      !['dead-letter', 'log-and-continue', 'log-and-fail'].includes(h as string)
    ) {
      throw new ConfigException(`${name} ${describe(h)} is invalid: use ${HANDLER_CHOICES}`);
    }
  }
  const p: unknown = config.productionExceptionHandler;
  if (p !== undefined && p !== 'fail' && p !== 'continue' && typeof p !== 'function') {
    throw new ConfigException(
      `productionExceptionHandler ${describe(p)} is invalid: use 'fail', 'continue' or a function (error, records) => 'fail' | 'continue'`,
    );
  }
  checkDeadLetter(config.deadLetter);
  checkLogger(config.logger);
  checkClient(config.client);
}

function checkClient(client: unknown): void {
  if (client === undefined) return;
  if (typeof client !== 'object' || client === null || Array.isArray(client)) {
    throw new ConfigException(
      `client must be an object of client settings (${CLIENT_SETTINGS.join(', ')}), got ${shown(client)}`,
    );
  }
  for (const [name, value] of Object.entries(client)) {
    if (!CLIENT_SETTINGS.includes(name as keyof ClientSettings)) {
      throw new ConfigException(
        `client.${name} is not a known client setting: ${suggestion(name, CLIENT_SETTINGS) ?? ''}use ${CLIENT_SETTINGS.join(', ')}`,
      );
    }
    if (value === undefined || name === 'tls' || name === 'sasl') continue;
    if (name === 'maxPollRecords') {
      if (!Number.isInteger(value) || (value as number) < 1)
        throw new ConfigException(
          `client.maxPollRecords must be a whole number >= 1, got ${JSON.stringify(value)}`,
        );
    } else if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new ConfigException(
        `client.${name} must be a positive number of milliseconds, got ${JSON.stringify(value)}`,
      );
    }
    if (value > MAX_INT32) {
      throw new ConfigException(
        `client.${name} must be at most ${MAX_INT32} milliseconds (Kafka sends it as a 32-bit integer), got ${value}`,
      );
    }
  }
  const problem = securityProblem(client as ClientSettings, 'client.');
  if (problem !== undefined) throw new ConfigException(problem);
}

function checkDeadLetter(deadLetter: unknown): void {
  if (deadLetter === undefined) return;
  if (typeof deadLetter !== 'object' || deadLetter === null || Array.isArray(deadLetter)) {
    throw new ConfigException(`deadLetter must be an object { topic?, headers? }, got ${shown(deadLetter)}`);
  }
  const d = deadLetter as Record<string, unknown>;
  for (const name of Object.keys(d)) {
    if (!(DEAD_LETTER_OPTIONS as string[]).includes(name)) {
      throw new ConfigException(
        unknownName(
          'option',
          `deadLetter.${name}`,
          DEAD_LETTER_OPTIONS.map((o) => `deadLetter.${o}`),
        ),
      );
    }
  }
  if (d.topic !== undefined && typeof d.topic !== 'function') {
    throw new ConfigException(
      `deadLetter.topic must be a function (sourceTopic) => topic name, got ${shown(d.topic)}: e.g. (t) => \`\${t}-dlt\``,
    );
  }
  if (d.headers !== undefined && d.headers !== 'spring' && d.headers !== 'kip1034') {
    throw new ConfigException(
      `deadLetter.headers ${describe(d.headers)} is invalid: use 'spring' or 'kip1034'`,
    );
  }
}

function checkLogger(logger: unknown): void {
  if (logger === undefined) return;
  const methods = ['debug', 'info', 'warn', 'error'] as const;
  const missing =
    typeof logger === 'object' && logger !== null
      ? methods.filter((m) => typeof (logger as Record<string, unknown>)[m] !== 'function')
      : [...methods];
  if (missing.length > 0) {
    throw new ConfigException(
      `logger must have debug, info, warn and error methods taking (obj, msg), as pino's do; ${typeof logger === 'object' && logger !== null ? `it has no ${missing.join(', ')}` : `got ${shown(logger)}`}`,
    );
  }
}

function checkSerde(name: string, serde: unknown): void {
  if (serde === undefined) return;
  const s = serde as Partial<Serde<unknown>> | null;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.serialize !== 'function' ||
    typeof s.deserialize !== 'function'
  ) {
    throw new ConfigException(
      `${name} must be a Serde (an object with serialize and deserialize), got ${shown(serde)}: use one of Serdes, e.g. Serdes.String()`,
    );
  }
}

function checkString(name: string, value: unknown, what: string): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigException(`${name} must be ${what} (a non-empty string), got ${shown(value)}`);
  }
}

function checkNumber(
  name: string,
  value: unknown,
  rule: { min: number; integer?: boolean; unit?: string; alternative?: string },
): void {
  if (value === undefined) return;
  if (
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= rule.min &&
    (!rule.integer || Number.isInteger(value))
  ) {
    return;
  }
  const kind = rule.integer ? 'a whole number' : 'a finite number';
  const unit = rule.unit ? ` of ${rule.unit}` : '';
  const asNumber = typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  const hint = Number.isFinite(asNumber) ? `: write ${asNumber} without quotes` : '';
  const alternative = rule.alternative ? ` ${rule.alternative}` : '';
  throw new ConfigException(
    `${name} must be ${kind}${unit} >= ${rule.min}${alternative}, got ${shown(value)}${hint}`,
  );
}

/** A value as a message shows it: numbers as written, strings quoted and said to be strings. */
function shown(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value)} (a string)`;
  if (typeof value === 'bigint') return `${value}n (a bigint)`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

/** A handler choice as the existing messages show it: strings quoted, anything else by its kind. */
function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : shown(value);
}

function unknownName(what: string, name: string, known: readonly string[]): string {
  const close = suggestion(name, known);
  return close
    ? `Unknown ${what} "${name}": ${close.replace(/ $/, '')}`
    : `Unknown ${what} "${name}": the ${what}s are ${known.join(', ')}`;
}

/** "did you mean X? " for the known name nearest to `name`, when one is close enough to be a typo. */
function suggestion(name: string, known: readonly string[]): string | undefined {
  // Java-style names (commit.interval.ms) and case slips count as close.
  const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const target = norm(name);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = editDistance(target, norm(k));
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(target.length / 4))
    ? `did you mean ${best}? `
    : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

export function bootstrapList(servers: string | readonly string[]): string[] {
  return (typeof servers === 'string' ? servers.split(',') : [...servers])
    .map((s) => s.trim())
    .filter(Boolean);
}
