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
