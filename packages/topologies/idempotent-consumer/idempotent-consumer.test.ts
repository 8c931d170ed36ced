import { Serdes } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import type { Redis } from 'ioredis';
import type { Pool, PoolClient } from 'pg';
import { describe, expect, it } from 'vitest';
import {
  dedupCacheKey,
  type EventOutcome,
  type IdempotentConsumerOptions,
  idempotentConsumer,
  isTransientPostgresError,
} from './topology.ts';
import { backoffMs } from './transient-errors.ts';

interface Payment {
  id: string;
  amount: number;
}

/** Redis as the fast path uses it: SET with PX, NX and GET, and a connection status. */
class FakeRedis {
  status = 'ready';
  readonly values = new Map<string, string>();
  async set(key: string, value: string, _px: 'PX', _ms: number, nx?: 'NX', get?: 'GET'): Promise<unknown> {
    const previous = this.values.get(key) ?? null;
    if (nx && previous !== null) return get ? previous : null;
    this.values.set(key, value);
    return get ? previous : 'OK';
  }
}

/**
 * PostgreSQL as the handler uses it: each statement answered by `answer`, which may throw; the
 * processed_events insert reports a row when the event id was not inserted by a commit before.
 */
class FakePostgres {
  readonly statements: string[] = [];
  readonly committed = new Set<string>();
  released = 0;
  destroyed = 0;
  answer: (sql: string) => { command?: string } | undefined = () => undefined;
  #pending: string | undefined;

  pool(): Pool {
    const client = {
      query: async (sql: string, params?: unknown[]) => {
        this.statements.push(sql.split(/\s+/).slice(0, 2).join(' '));
        const scripted = this.answer(sql);
        if (sql.startsWith('INSERT INTO processed_events')) {
          const id = String(params?.[1]);
          this.#pending = id;
          return { rowCount: this.committed.has(id) ? 0 : 1 };
        }
        if (sql === 'COMMIT') {
          const command = scripted?.command ?? 'COMMIT';
          if (command === 'COMMIT' && this.#pending) this.committed.add(this.#pending);
          return { command };
        }
        return { command: sql.split(' ')[0], rowCount: 0 };
      },
      on: () => client,
      off: () => client,
      release: (error?: unknown) => {
        this.released++;
        if (error) this.destroyed++;
      },
    };
    return {
      connect: async () => client as unknown as PoolClient,
      query: async () => ({ rowCount: 0 }),
      listenerCount: () => 1,
      on: () => {},
    } as unknown as Pool;
  }
}

function setup(overrides: Partial<IdempotentConsumerOptions<string, Payment>> = {}) {
  const redis = new FakeRedis();
  const postgres = new FakePostgres();
  const outcomes: EventOutcome<string>[] = [];
  const effects: string[] = [];
  const topology = idempotentConsumer<string, Payment>({
    topic: 'payments',
    key: Serdes.String(),
    value: Serdes.JSON<Payment>(),
    consumerId: 'ledger',
    eventId: (p) => p.id,
    redis: redis as unknown as Redis,
    postgres: postgres.pool(),
    handle: async (p) => {
      effects.push(p.id);
    },
    onOutcome: (o) => outcomes.push(o),
    timeoutMs: 2_000,
    ...overrides,
  });
  const driver = new TopologyTestDriver(topology);
  const input = driver.createInputTopic('payments', Serdes.String(), Serdes.JSON<Payment>());
  const dlt = driver.createOutputTopic('payments-dlt', Serdes.String(), Serdes.String());
  const pipe = async (...ids: string[]) => {
    for (const id of ids) input.pipeInput('acc-1', { id, amount: 1 });
    await driver.settle();
  };
  return { driver, redis, postgres, outcomes, effects, pipe, dlt };
}

const results = (outcomes: EventOutcome<string>[]) => outcomes.map((o) => `${o.eventId}:${o.result}`);

describe('idempotentConsumer', () => {
  it('applies an event once; Redis skips a redelivery once the event is done', async () => {
    const { driver, redis, postgres, outcomes, effects, pipe } = setup();
    await pipe('e1', 'e1', 'e2');
    expect(effects).toEqual(['e1', 'e2']);
    expect(results(outcomes)).toEqual(['e1:applied', 'e1:duplicate-cache', 'e2:applied']);
    expect(redis.values.get(dedupCacheKey('ledger', 'e1'))).toBe('done');
    // The duplicate took no PostgreSQL connection.
    expect(postgres.released).toBe(2);
    driver.close();
  });

  it('a "pending" claim left by an attempt that never committed does not skip the event', async () => {
    const { driver, redis, effects, outcomes, pipe } = setup();
    redis.values.set(dedupCacheKey('ledger', 'e1'), 'pending');
    await pipe('e1');
    expect(effects).toEqual(['e1']);
    expect(results(outcomes)).toEqual(['e1:applied']);
    driver.close();
  });

  it('with Redis not connected, PostgreSQL catches the duplicate and the handler does not run', async () => {
    const { driver, redis, postgres, effects, outcomes, pipe } = setup();
    redis.status = 'reconnecting';
    await pipe('e1', 'e1');
    expect(effects).toEqual(['e1']);
    expect(results(outcomes)).toEqual(['e1:applied', 'e1:duplicate-db']);
    expect(postgres.statements.filter((s) => s === 'ROLLBACK')).toHaveLength(1);
    expect(redis.values.size).toBe(0);
    driver.close();
  });

  it('retries a transient PostgreSQL failure and applies the event once', async () => {
    const { driver, postgres, effects, outcomes, pipe } = setup();
    let failures = 1;
    postgres.answer = (sql) => {
      if (sql.startsWith('INSERT INTO processed_events') && failures-- > 0)
        throw Object.assign(new Error('terminating connection due to administrator command'), {
          code: '57P01',
        });
      return undefined;
    };
    await pipe('e1');
    expect(effects).toEqual(['e1']);
    expect(outcomes.map((o) => [o.result, o.attempts])).toEqual([['applied', 2]]);
    driver.close();
  });

  it('a handler failure rolls back and dead-letters the event, which stays unprocessed', async () => {
    const { driver, redis, postgres, outcomes, pipe, dlt } = setup({
      handle: async () => {
        throw new Error('account frozen');
      },
    });
    await pipe('e1');
    expect(outcomes).toEqual([]);
    expect(dlt.readKeyValuesToList()).toHaveLength(1);
    expect(postgres.statements).toContain('ROLLBACK');
    expect(postgres.committed.size).toBe(0);
    expect(redis.values.get(dedupCacheKey('ledger', 'e1'))).toBe('pending');
    driver.close();
  });

  it('a COMMIT that PostgreSQL answers with ROLLBACK is a failure, never "done"', async () => {
    const { driver, redis, postgres, outcomes, pipe, dlt } = setup();
    postgres.answer = (sql) => (sql === 'COMMIT' ? { command: 'ROLLBACK' } : undefined);
    await pipe('e1');
    expect(outcomes).toEqual([]);
    const [dead] = dlt.readRecordsToList();
    expect(dead?.headers.lastValue('kafka_dlt-exception-fqcn')?.toString()).toBe(
      'TransactionNotCommittedError',
    );
    expect(redis.values.get(dedupCacheKey('ledger', 'e1'))).toBe('pending');
    driver.close();
  });

  it('gives up on PostgreSQL before the step times out, saying the event had no effect', async () => {
    const { driver, postgres, pipe, dlt } = setup({ timeoutMs: 1_000 });
    postgres.answer = (sql) => {
      if (sql.startsWith('BEGIN'))
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      return undefined;
    };
    await pipe('e1');
    const [dead] = dlt.readRecordsToList();
    expect(dead?.headers.lastValue('kafka_dlt-exception-fqcn')?.toString()).toBe('PostgresUnavailableError');
    expect(dead?.headers.lastValue('kafka_dlt-exception-message')?.toString()).toMatch(
      /PostgreSQL was unavailable for event "e1" of consumer "ledger" .* the event had no effect/,
    );
    driver.close();
  });

  it('an event id that is not a non-empty string goes to the dead-letter topic with the reason', async () => {
    const { driver, effects, pipe, dlt } = setup({ eventId: () => '' });
    await pipe('e1');
    expect(effects).toEqual([]);
    const [dead] = dlt.readRecordsToList();
    expect(dead?.headers.lastValue('kafka_dlt-exception-message')?.toString()).toMatch(
      /eventId\(\) returned an empty string for the record with key "acc-1"/,
    );
    driver.close();
  });

  it('refuses options it cannot work with, naming the option', () => {
    expect(() => setup({ consumerId: '' })).toThrow(/consumerId must be a non-empty string/);
    expect(() => setup({ timeoutMs: 500 })).toThrow(/timeoutMs must be at least 1000 ms/);
    expect(() => setup({ ttlMs: 1.5 })).toThrow(/ttlMs must be a positive whole number/);
    expect(() => setup({ postgres: {} as Pool })).toThrow(/postgres must be a pg.Pool/);
  });
});

describe('isTransientPostgresError', () => {
  it('retries lost connections, restarts and lost races; not the data or the handler', () => {
    const coded = (code: string) => Object.assign(new Error(code), { code });
    for (const e of [
      coded('57P01'),
      coded('08006'),
      coded('40001'),
      coded('ECONNREFUSED'),
      new Error('Connection terminated unexpectedly'),
      new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')]),
    ])
      expect(isTransientPostgresError(e), String(e)).toBe(true);
    for (const e of [coded('23505'), coded('42P01'), new TypeError('x is undefined'), 'boom', undefined])
      expect(isTransientPostgresError(e), String(e)).toBe(false);
  });

  it('backs off exponentially up to a second', () => {
    expect(backoffMs(1, () => 1)).toBe(50);
    expect(backoffMs(3, () => 1)).toBe(200);
    expect(backoffMs(20, () => 1)).toBe(1_000);
    expect(backoffMs(20, () => 0)).toBe(500);
  });
});
