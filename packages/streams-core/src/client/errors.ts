/**
 * The errors the client port raises. Each says what went wrong and what to do about it; the
 * adapter maps client and broker errors onto these so the runtime can branch on the class.
 */
import type { TopicPartition } from './port.ts';

export class KafkaClientError extends Error {
  override name = 'KafkaClientError';
}

/** No broker answered within the bounded connection time. */
export class BrokerUnreachableError extends KafkaClientError {
  override name = 'BrokerUnreachableError';
  readonly bootstrapServers: string[];
  constructor(bootstrapServers: string[], reason: string, options?: ErrorOptions) {
    super(
      `Kafka at ${bootstrapServers.join(',')} is unreachable (${reason}): start it with "pnpm stack:up" or set bootstrapServers`,
      options,
    );
    this.bootstrapServers = bootstrapServers;
  }
}

export class TopicNotFoundError extends KafkaClientError {
  override name = 'TopicNotFoundError';
  readonly topics: string[];
  constructor(topics: string[], options?: ErrorOptions) {
    const list = topics.map((t) => `"${t}"`).join(', ');
    super(
      `${topics.length === 1 ? 'Topic' : 'Topics'} ${list} ${topics.length === 1 ? 'does' : 'do'} not exist: create ${topics.length === 1 ? 'it' : 'them'} (kafka-topics.sh --create, or AdminPort.createTopics) or fix the topic name`,
      options,
    );
    this.topics = topics;
  }
}

export class TopicPartitionsMismatchError extends KafkaClientError {
  override name = 'TopicPartitionsMismatchError';
  readonly topic: string;
  readonly expected: number;
  readonly actual: number;
  constructor(topic: string, expected: number, actual: number) {
    super(
      `Topic "${topic}" already exists with ${actual} partitions, not ${expected}: delete it (kafka-topics.sh --delete) or ask for ${actual} partitions`,
    );
    this.topic = topic;
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * The broker refused to create topics. `errorCode` is the broker's error name (e.g.
 * INVALID_REPLICATION_FACTOR); the message names the topics, the broker's reason and the fix.
 */
export class TopicCreationError extends KafkaClientError {
  override name = 'TopicCreationError';
  readonly topics: string[];
  readonly errorCode: string;
  /** What the broker said, as it said it. */
  readonly brokerMessage: string | undefined;
  constructor(
    topics: string[],
    errorCode: string,
    brokerMessage: string | undefined,
    problem: string,
    fix: string,
    options?: ErrorOptions,
  ) {
    const reason = brokerMessage ? `${errorCode}: ${brokerMessage.replace(/\.$/, '')}` : errorCode;
    super(
      `Cannot create ${topics.length === 1 ? 'topic' : 'topics'} ${quotedList(topics)}: ${problem} (${reason}): ${fix}`,
      options,
    );
    this.topics = topics;
    this.errorCode = errorCode;
    this.brokerMessage = brokerMessage;
  }
}

/** `"a", "b", "c"`, and past five names `and N more`. */
function quotedList(names: readonly string[], max = 5): string {
  const shown = names.slice(0, max).map((n) => `"${n}"`);
  if (names.length > max) shown.push(`and ${names.length - max} more`);
  return shown.join(', ');
}

/**
 * The group moved on (new generation) since the records were polled: their offsets can no longer
 * be committed by this member. Abort the transaction / drop the work; the partitions' new owner
 * reprocesses from the last committed offset.
 */
export class RebalanceError extends KafkaClientError {
  override name = 'RebalanceError';
  readonly partitions: TopicPartition[];
  constructor(message: string, partitions: TopicPartition[] = [], options?: ErrorOptions) {
    super(message, options);
    this.partitions = partitions;
  }
}

/** Another producer with the same transactional id took over, or the broker aborted the transaction. */
export class ProducerFencedError extends KafkaClientError {
  override name = 'ProducerFencedError';
  readonly transactionalId: string;
  constructor(transactionalId: string, options?: ErrorOptions) {
    super(
      `Producer with transactional id "${transactionalId}" was fenced (another instance took over, or the transaction outlived transactionTimeoutMs and the broker aborted it): close this producer and create a new one; the open transaction's work is lost and will be reprocessed`,
      options,
    );
    this.transactionalId = transactionalId;
  }
}

/** The group or transaction coordinator did not become available within the retries. */
export class CoordinatorUnavailableError extends KafkaClientError {
  override name = 'CoordinatorUnavailableError';
}

/** A read position is outside the partition's log (deleted by retention or compaction). */
export class OffsetOutOfRangeError extends KafkaClientError {
  override name = 'OffsetOutOfRangeError';
  readonly partitions: TopicPartition[];
  constructor(partitions: TopicPartition[], options?: ErrorOptions) {
    super(
      `Offsets out of range for ${partitions.map((p) => `${p.topic}:${p.partition}`).join(', ')}: the log no longer holds them; restart from the earliest offset (restore the state from scratch)`,
      options,
    );
    this.partitions = partitions;
  }
}

/**
 * A broker-side condition that passes by itself: a partition leader being elected, a request
 * that timed out, a transaction still completing, too few in-sync replicas for a moment.
 */
export class TransientBrokerError extends KafkaClientError {
  override name = 'TransientBrokerError';
  /** The broker's error code, e.g. NOT_LEADER_OR_FOLLOWER. */
  readonly reason: string;
  constructor(reason: string, options?: ErrorOptions) {
    super(`The broker answered ${reason}, which passes by itself: retry`, options);
    this.reason = reason;
  }
}

/**
 * The cluster refused the client's SASL login: wrong username or password, an expired token, a
 * user without credentials for the mechanism, or a mechanism the listener does not offer.
 * Retrying does not help: the settings must change.
 */
export class AuthenticationFailedError extends KafkaClientError {
  override name = 'AuthenticationFailedError';
  readonly mechanism: string | undefined;
  readonly username: string | undefined;
  /** The broker it failed at, "host:port". */
  readonly broker: string;
  constructor(
    message: string,
    details: { mechanism?: string | undefined; username?: string | undefined; broker: string },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.mechanism = details.mechanism;
    this.username = details.username;
    this.broker = details.broker;
  }
}

/**
 * No TLS connection could be set up with the broker: its certificate is not trusted, expired or
 * does not name the host, or only one side speaks TLS. Retrying does not help: the settings
 * (client.tls, the port) must change.
 */
export class TlsConnectionError extends KafkaClientError {
  override name = 'TlsConnectionError';
  /** What failed: Node's certificate error code (e.g. SELF_SIGNED_CERT_IN_CHAIN), TLS_NOT_OFFERED or TLS_REQUIRED. */
  readonly code: string;
  /** The broker it failed at, "host:port". */
  readonly broker: string;
  constructor(message: string, code: string, broker: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.broker = broker;
  }
}

/**
 * Whether `error`, or an error it was caused by, is one that waiting out fixes: the broker was
 * unreachable, a coordinator was moving, or the broker answered with a transient error.
 */
export function isRetriable(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (
      e instanceof BrokerUnreachableError ||
      e instanceof CoordinatorUnavailableError ||
      e instanceof TransientBrokerError
    )
      return true;
  }
  return false;
}

/**
 * Whether `error`, or an error it was caused by, is a refused login or a failed TLS connection:
 * nothing was decided about the records in hand, and nothing goes on until the settings change.
 */
export function isSecurityError(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof AuthenticationFailedError || e instanceof TlsConnectionError) return true;
  }
  return false;
}
