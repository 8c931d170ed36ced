/**
 * Idempotent consumer: every event of a topic has its business effect once, however often Kafka
 * delivers it (a producer's retry, a rebalance, a crash before the offset commit). The effect
 * runs inside a PostgreSQL transaction that also inserts the event's row in `processed_events`,
 * the source of truth; Redis answers "already done" for recent events without a transaction.
 */
import {
  type Headers,
  type Serde,
  StreamsBuilder,
  type Topology,
  TopologyException,
} from '@kafka-pattern/streams-core';
import type { Redis } from 'ioredis';
import type { Pool, PoolClient } from 'pg';
import { DedupCache } from './dedup-cache.ts';
import { type EventOutcome, IdempotentHandler } from './idempotent-handler.ts';

export { dedupCacheKey } from './dedup-cache.ts';
export {
  type EventOutcome,
  InvalidEventIdError,
  PostgresUnavailableError,
  TransactionNotCommittedError,
} from './idempotent-handler.ts';
export { createProcessedEventsTable, PROCESSED_EVENTS_TABLE } from './processed-events.ts';
export { isTransientPostgresError } from './transient-errors.ts';

export interface IdempotentConsumerOptions<K, V> {
  topic: string;
  key: Serde<K>;
  value: Serde<V>;
  /** Names this consumer in `processed_events` and in the Redis keys: two consumers of one event each apply it once. */
  consumerId: string;
  /** The event's id, the same on every delivery (set by its producer, never derived from the offset). */
  eventId: (value: V, key: K, headers: Headers) => string;
  /** The fast path: `SET NX` with a TTL. Down, slow or flushed, it costs speed, never correctness. */
  redis: Redis;
  /** Holds `processed_events(consumer_id, event_id)`, created when absent, and the business tables. */
  postgres: Pool;
  /**
   * The business effect, inside the transaction that records the event as processed: use `db`
   * for every write that must happen once, and neither commit nor roll back; reject to fail the
   * event (the transaction is rolled back, the record goes to the processing exception handler).
   */
  handle: (value: V, db: PoolClient, key: K) => Promise<void>;
  /** How long Redis remembers a processed event; default one day. PostgreSQL remembers it for good. */
  ttlMs?: number;
  /** Events in flight at once per task (different keys; one key's events go one at a time). Default 16. */
  concurrency?: number;
  /**
   * Longest one event may take, waiting for PostgreSQL included; default 8000 ms. Under
   * exactly_once_v2 it must stay below `client.transactionTimeoutMs` (10 s by default).
   */
  timeoutMs?: number;
  /** Told what became of each delivery, after it is settled (metrics, logs, demos). */
  onOutcome?: (outcome: EventOutcome<K>) => void;
}

const DAY_MS = 86_400_000;
const DEFAULT_TIMEOUT_MS = 8_000;
/** A Redis answer slower than this is no answer: the event takes the PostgreSQL path. */
const REDIS_CALL_TIMEOUT_MS = 500;

export function idempotentConsumer<K, V>(options: IdempotentConsumerOptions<K, V>): Topology {
  validate(options);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // The handler gives up a little before the step's own timeout, so its last attempt has
  // settled (and said why) by the time the engine would time the event out.
  const budgetMs = timeoutMs - Math.min(1_000, Math.floor(timeoutMs / 4));
  const cache = new DedupCache({
    redis: options.redis,
    consumerId: options.consumerId,
    ttlMs: options.ttlMs ?? DAY_MS,
    claimMs: timeoutMs,
    callTimeoutMs: REDIS_CALL_TIMEOUT_MS,
  });
  const handler = new IdempotentHandler<K, V>({
    consumerId: options.consumerId,
    eventId: options.eventId,
    postgres: options.postgres,
    handle: options.handle,
    cache,
    budgetMs,
  });
  // An idle pooled connection that PostgreSQL drops is reported on the pool; with no listener
  // that would end the process, although the pool simply opens a new connection next time.
  if (options.postgres.listenerCount('error') === 0) options.postgres.on('error', () => {});
  const onOutcome = options.onOutcome;

  const builder = new StreamsBuilder();
  builder.stream(options.topic, { key: options.key, value: options.value }).foreachAsync(
    async (key, value, headers) => {
      const outcome = await handler.process(key, value, headers);
      onOutcome?.(outcome);
    },
    {
      timeoutMs,
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      name: `idempotent-consumer-${options.consumerId}`,
    },
  );
  return builder.build();
}

function validate<K, V>(o: IdempotentConsumerOptions<K, V>): void {
  const fail = (message: string): never => {
    throw new TopologyException(`idempotentConsumer: ${message}`);
  };
  if (typeof o.topic !== 'string' || o.topic === '') fail('topic must be a non-empty topic name');
  if (typeof o.consumerId !== 'string' || o.consumerId === '')
    fail(
      'consumerId must be a non-empty string naming this consumer (its processed events are kept under it)',
    );
  if (typeof o.eventId !== 'function') fail('eventId must be a function returning the event id');
  if (typeof o.handle !== 'function') fail('handle must be a function applying the event in the transaction');
  if (typeof o.postgres?.connect !== 'function') fail('postgres must be a pg.Pool');
  if (typeof o.redis?.set !== 'function') fail('redis must be an ioredis client');
  for (const name of ['ttlMs', 'timeoutMs'] as const) {
    const ms = o[name];
    if (ms !== undefined && !(Number.isInteger(ms) && ms > 0))
      fail(`${name} must be a positive whole number of milliseconds, got ${ms}`);
  }
  if (o.timeoutMs !== undefined && o.timeoutMs < 1_000)
    fail(
      `timeoutMs must be at least 1000 ms (got ${o.timeoutMs}): an event needs time for a PostgreSQL transaction and a retry`,
    );
}
