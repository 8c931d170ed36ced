/**
 * Application configuration: the options of KafkaStreams and of the TopologyTestDriver, their
 * defaults, and validation with messages that say what to change.
 */

import { type DeadLetterConfig, defaultDeadLetterConfig } from '../errors/dead-letter.ts';
import {
  deadLetterHandler,
  type ExceptionHandler,
  logAndContinueHandler,
  logAndFailHandler,
} from '../errors/exception-handlers.ts';
import type { Logger } from '../observability/logger.ts';
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
  /** Replication factor of internal topics. Default 1 (a development cluster); raise it in production. */
  replicationFactor?: number;
  numStandbyReplicas?: number;
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
}

const CLIENT_SETTINGS: ReadonlyArray<keyof ClientSettings> = [
  'sessionTimeoutMs',
  'heartbeatIntervalMs',
  'rebalanceTimeoutMs',
  'maxWaitMs',
  'transactionTimeoutMs',
  'maxPollRecords',
];

export interface ResolvedErrorHandling {
  readonly onDeserializationError: ExceptionHandler;
  readonly onProcessingError: ExceptionHandler;
  readonly deadLetter: DeadLetterConfig;
}

export function resolveHandler(choice: HandlerChoice | undefined): ExceptionHandler {
  if (choice === undefined || choice === 'dead-letter') return deadLetterHandler;
  if (choice === 'log-and-continue') return logAndContinueHandler;
  if (choice === 'log-and-fail') return logAndFailHandler;
  if (typeof choice === 'function') return choice;
  throw new ConfigException(
    `Unknown exception handler ${JSON.stringify(choice)}: use 'dead-letter', 'log-and-continue', 'log-and-fail' or a function`,
  );
}

export function resolveErrorHandling(config: Partial<StreamsConfig>): ResolvedErrorHandling {
  return {
    onDeserializationError: resolveHandler(config.deserializationExceptionHandler),
    onProcessingError: resolveHandler(config.processingExceptionHandler),
    deadLetter: { ...defaultDeadLetterConfig, ...config.deadLetter },
  };
}

export class ConfigException extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigException';
  }
}

const APPLICATION_ID = /^[A-Za-z0-9._-]+$/;

/** Checks what can be checked before connecting; throws a ConfigException naming the fix. */
export function validateConfig(config: StreamsConfig): void {
  if (typeof config.applicationId !== 'string' || !APPLICATION_ID.test(config.applicationId)) {
    throw new ConfigException(
      `applicationId ${JSON.stringify(config.applicationId)} is invalid: use letters, digits, '.', '_' or '-' (it names the consumer group and internal topics)`,
    );
  }
  const servers =
    typeof config.bootstrapServers === 'string'
      ? config.bootstrapServers.split(',')
      : config.bootstrapServers;
  if (!servers || servers.length === 0 || servers.some((s) => !/^[^:\s]+:\d+$/.test(s.trim()))) {
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
  if (config.commitIntervalMs !== undefined && !(config.commitIntervalMs >= 0)) {
    throw new ConfigException(`commitIntervalMs must be a number >= 0, got ${config.commitIntervalMs}`);
  }
  if (
    config.numStandbyReplicas !== undefined &&
    !(Number.isInteger(config.numStandbyReplicas) && config.numStandbyReplicas >= 0)
  ) {
    throw new ConfigException(
      `numStandbyReplicas must be a whole number >= 0, got ${config.numStandbyReplicas}`,
    );
  }
  if (
    config.taskTimeoutMs !== undefined &&
    (typeof config.taskTimeoutMs !== 'number' ||
      !(config.taskTimeoutMs >= 0) ||
      !Number.isFinite(config.taskTimeoutMs))
  ) {
    throw new ConfigException(
      `taskTimeoutMs must be a number of milliseconds >= 0, got ${JSON.stringify(config.taskTimeoutMs)}`,
    );
  }
  for (const [name, value] of Object.entries(config.client ?? {})) {
    if (!CLIENT_SETTINGS.includes(name as keyof ClientSettings)) {
      throw new ConfigException(
        `client.${name} is not a known client setting: use ${CLIENT_SETTINGS.join(', ')}`,
      );
    }
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
  }
}

export function bootstrapList(servers: string | readonly string[]): string[] {
  return (typeof servers === 'string' ? servers.split(',') : [...servers])
    .map((s) => s.trim())
    .filter(Boolean);
}
