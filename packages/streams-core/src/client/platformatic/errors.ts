/**
 * Maps @platformatic/kafka errors (nested MultipleErrors / ResponseError trees carrying protocol
 * error ids and socket error codes) onto the port's error classes.
 */
import {
  BrokerUnreachableError,
  CoordinatorUnavailableError,
  KafkaClientError,
  OffsetOutOfRangeError,
  ProducerFencedError,
  RebalanceError,
  TopicNotFoundError,
  TransientBrokerError,
} from '../errors.ts';

interface ErrorFacts {
  apiIds: Set<string>;
  socketCodes: Set<string>;
  network: boolean;
  unknownTopics: Set<string>;
}

const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  'EAI_AGAIN',
]);

export function errorFacts(error: unknown): ErrorFacts {
  const facts: ErrorFacts = {
    apiIds: new Set(),
    socketCodes: new Set(),
    network: false,
    unknownTopics: new Set(),
  };
  const seen = new Set<unknown>();
  const visit = (e: unknown): void => {
    if (e === null || typeof e !== 'object' || seen.has(e)) return;
    seen.add(e);
    const err = e as {
      apiId?: unknown;
      code?: unknown;
      message?: unknown;
      errors?: unknown;
      cause?: unknown;
    };
    if (typeof err.apiId === 'string') facts.apiIds.add(err.apiId);
    if (typeof err.code === 'string') {
      if (err.code === 'PLT_KFK_NETWORK' || err.code === 'PLT_KFK_TIMEOUT') facts.network = true;
      if (SOCKET_CODES.has(err.code)) facts.socketCodes.add(err.code);
    }
    if (typeof err.message === 'string') {
      const m = /^Unknown topic (.+)\.$/.exec(err.message);
      if (m?.[1]) facts.unknownTopics.add(m[1]);
      if (/Cannot connect to any broker|Connection to .* timed out/.test(err.message)) facts.network = true;
    }
    if (Array.isArray(err.errors)) for (const inner of err.errors) visit(inner);
    visit(err.cause);
  };
  visit(error);
  return facts;
}

export function hasApiError(error: unknown, ...apiIds: string[]): boolean {
  const facts = errorFacts(error);
  return apiIds.some((id) => facts.apiIds.has(id));
}

export interface MapContext {
  bootstrapServers: string[];
  topics?: string[];
  transactionalId?: string;
}

const REBALANCE_IDS = [
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'REBALANCE_IN_PROGRESS',
  'FENCED_INSTANCE_ID',
];
const FENCED_IDS = [
  'PRODUCER_FENCED',
  'INVALID_PRODUCER_EPOCH',
  'TRANSACTIONAL_ID_NOT_FOUND',
  'INVALID_TXN_STATE',
];
const COORDINATOR_IDS = ['COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR', 'COORDINATOR_LOAD_IN_PROGRESS'];
/** Broker answers that pass by themselves (Kafka's RetriableException family). */
const TRANSIENT_IDS = [
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'REQUEST_TIMED_OUT',
  'NETWORK_EXCEPTION',
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'CONCURRENT_TRANSACTIONS',
  'KAFKA_STORAGE_ERROR',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'OFFSET_NOT_AVAILABLE',
  'UNSTABLE_OFFSET_COMMIT',
  'THROTTLING_QUOTA_EXCEEDED',
];

/** The port error for `error`, or `error` itself when it has no better name. */
export function toPortError(error: unknown, context: MapContext): Error {
  if (error instanceof KafkaClientError) return error;
  const facts = errorFacts(error);
  const cause = { cause: error };
  if (facts.unknownTopics.size > 0) return new TopicNotFoundError([...facts.unknownTopics], cause);
  if (facts.apiIds.has('UNKNOWN_TOPIC_OR_PARTITION') || facts.apiIds.has('UNKNOWN_TOPIC_ID')) {
    return new TopicNotFoundError(context.topics ?? ['(unknown)'], cause);
  }
  if (context.transactionalId && FENCED_IDS.some((id) => facts.apiIds.has(id))) {
    return new ProducerFencedError(context.transactionalId, cause);
  }
  const rebalance = REBALANCE_IDS.find((id) => facts.apiIds.has(id));
  if (rebalance) {
    return new RebalanceError(
      `The consumer group rebalanced (${rebalance}): this member no longer owns the work it was doing; abort it, the partitions' owner reprocesses from the committed offsets`,
      [],
      cause,
    );
  }
  if (facts.apiIds.has('OFFSET_OUT_OF_RANGE')) return new OffsetOutOfRangeError([], cause);
  const coordinator = COORDINATOR_IDS.find((id) => facts.apiIds.has(id));
  if (coordinator) {
    return new CoordinatorUnavailableError(
      `The coordinator at ${context.bootstrapServers.join(',')} is not available (${coordinator}): the broker may still be starting; retry, and check the broker log if it persists`,
      cause,
    );
  }
  if (facts.network || facts.socketCodes.size > 0) {
    const reason = facts.socketCodes.size > 0 ? [...facts.socketCodes].join(', ') : 'no connection';
    return new BrokerUnreachableError(context.bootstrapServers, reason, cause);
  }
  const transient = TRANSIENT_IDS.find((id) => facts.apiIds.has(id));
  if (transient) return new TransientBrokerError(transient, cause);
  return error instanceof Error ? error : new KafkaClientError(String(error));
}

/** Awaits `promise`, rethrowing its failure as a port error. */
export async function mapped<T>(promise: Promise<T>, context: MapContext): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    throw toPortError(error, context);
  }
}
