/**
 * The idempotent consumer on the real broker, PostgreSQL and Redis: a ledger that must end with
 * exactly one row per distinct payment and the exact balance per account, whatever is delivered
 * twice — duplicates in the input, redeliveries after Redis was flushed, went away, or forgot an
 * event at its TTL, and work abandoned in a rebalance and redone by the new owner. The failures of
 * PostgreSQL itself and SIGKILLs between the steps are in test/faults/idempotent-consumer-*.
 */
import { dedupCacheKey } from '@kafka-pattern/topologies/idempotent-consumer';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  deliveriesArbitrary,
  distinctPayments,
  exact,
  type LedgerCaseOptions,
  ledgerCase as newCase,
  REDIS_DB,
  sampleDeliveries,
  tally,
} from '../support/idempotent-ledger.ts';
import { eventually } from '../support/kafka.ts';
import { hostPort, redisUrl } from '../support/services.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { teardownAfterEach } from '../support/teardown.ts';

const cleanups = teardownAfterEach();
const ledgerCase = (name: string, o?: LedgerCaseOptions) => newCase(cleanups, name, o);

describe('idempotent consumer: a ledger on the broker, PostgreSQL and Redis', () => {
  it('applies each payment once however often the input repeats it (generated with fast-check)', async () => {
    const c = await ledgerCase('dups');
    await c.start();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(deliveriesArbitrary('p'), async (generated) => {
        run++;
        const deliveries = generated.map((d) => ({
          ...d,
          payment: { ...d.payment, id: `r${run}-${d.payment.id}` },
        }));
        const expected = distinctPayments(deliveries);
        const from = c.outcomes.length;
        await c.deliver(deliveries);
        await c.settled();
        const first = tally(c.outcomes.slice(from));
        expect(await c.check(expected)).toEqual(exact(expected));
        expect(first.applied).toBe(expected.size);
        expect(first['duplicate-cache'] + first['duplicate-db']).toBe(deliveries.length - expected.size);
        // The whole input once more, as after a consumer group reset: all of it is known in Redis.
        const again = c.outcomes.length;
        await c.deliver(deliveries);
        await c.settled();
        expect(tally(c.outcomes.slice(again))).toEqual({
          applied: 0,
          'duplicate-cache': deliveries.length,
          'duplicate-db': 0,
        });
        expect(await c.check(expected)).toEqual(exact(expected));
      }),
      { numRuns: 8 },
    );
    expect(c.deadLettered()).toBe(0);
  });

  it('Redis flushed mid-run: PostgreSQL catches every redelivery', async () => {
    const c = await ledgerCase('flush');
    await c.start();
    const a = sampleDeliveries('a', 1);
    const b = sampleDeliveries('b', 2);
    await c.deliver(a);
    await c.settled();
    await c.redis.flushdb();
    // And again and again while the redeliveries and new payments flow.
    let flushes = 1;
    let flushing = true;
    const flusher = (async () => {
      while (flushing) {
        await c.redis.flushdb();
        flushes++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const from = c.outcomes.length;
    await c.deliver([...a, ...b]);
    await c.settled();
    flushing = false;
    await flusher;
    const expected = distinctPayments([...a, ...b]);
    expect(await c.check(expected)).toEqual(exact(expected));
    const t = tally(c.outcomes.slice(from));
    // Every payment of `a` was forgotten by Redis before its redelivery: PostgreSQL caught it.
    expect(t['duplicate-db']).toBeGreaterThanOrEqual(distinctPayments(a).size);
    expect(t.applied).toBe(distinctPayments(b).size);
    expect(flushes).toBeGreaterThan(1);
    expect(c.deadLettered()).toBe(0);
  });

  it('Redis unreachable from the start: every duplicate is caught by PostgreSQL', async () => {
    const closed = new TcpProxy(hostPort(redisUrl()));
    await closed.up();
    const port = closed.port;
    await closed.down();
    const redis = new Redis({ host: '127.0.0.1', port });
    redis.on('error', () => {});
    const c = await ledgerCase('noredis', { redis });
    await c.start();
    const deliveries = sampleDeliveries('n', 3);
    const expected = distinctPayments(deliveries);
    await c.deliver(deliveries);
    await c.settled();
    expect(c.redis.status).not.toBe('ready');
    expect(await c.check(expected)).toEqual(exact(expected));
    expect(tally(c.outcomes)).toEqual({
      applied: expected.size,
      'duplicate-cache': 0,
      'duplicate-db': deliveries.length - expected.size,
    });
    expect(c.deadLettered()).toBe(0);
  });

  it('Redis goes away mid-run and comes back: nothing applied twice, and the fast path returns', async () => {
    const proxy = new TcpProxy(hostPort(redisUrl()));
    await proxy.up();
    cleanups.push(() => proxy.down());
    const redis = new Redis({ host: '127.0.0.1', port: proxy.port, db: REDIS_DB });
    const c = await ledgerCase('redisdown', { redis });
    await c.start();
    const a = sampleDeliveries('a', 4);
    const b = sampleDeliveries('b', 5);
    await c.deliver(a);
    await c.settled();
    await proxy.down();
    await eventually(
      () => (redis.status !== 'ready' ? true : undefined),
      10_000,
      'the Redis client to notice',
    );
    const during = c.outcomes.length;
    await c.deliver([...a, ...b]);
    await c.settled();
    const t = tally(c.outcomes.slice(during));
    expect(t['duplicate-cache']).toBe(0);
    expect(t['duplicate-db']).toBe(a.length + b.length - distinctPayments(b).size);
    await proxy.up();
    await eventually(
      () => (redis.status === 'ready' ? true : undefined),
      20_000,
      'the Redis client to reconnect',
    );
    const after = c.outcomes.length;
    await c.deliver(a);
    await c.settled();
    // Redis kept what it knew from before the outage.
    expect(tally(c.outcomes.slice(after))['duplicate-cache']).toBeGreaterThan(0);
    const expected = distinctPayments([...a, ...b]);
    expect(await c.check(expected)).toEqual(exact(expected));
    expect(c.deadLettered()).toBe(0);
  });

  it('TTL expired: a redelivery after Redis forgot the event is caught by PostgreSQL', async () => {
    const c = await ledgerCase('ttl', { ttlMs: 1_000 });
    await c.start();
    const deliveries = sampleDeliveries('t', 6);
    const expected = distinctPayments(deliveries);
    await c.deliver(deliveries);
    await c.settled();
    const keys = [...expected.keys()].map((id) => dedupCacheKey(c.consumerId, id));
    expect(await c.redis.exists(...keys)).toBeGreaterThan(0);
    await eventually(
      async () => ((await c.redis.exists(...keys)) === 0 ? true : undefined),
      10_000,
      'every cached event to expire',
    );
    const from = c.outcomes.length;
    await c.deliver(deliveries);
    await c.settled();
    const t = tally(c.outcomes.slice(from));
    expect(t.applied).toBe(0);
    expect(t['duplicate-db']).toBeGreaterThanOrEqual(expected.size);
    expect(await c.check(expected)).toEqual(exact(expected));
    expect(c.deadLettered()).toBe(0);
  });

  it('a rebalance mid-run: work abandoned by one instance and redone by the other has one effect', async () => {
    // Transactions held open 40 ms each and a backlog of several seconds per key, so that both
    // rebalances (an instance joins, then the first one leaves) land on work in flight.
    const c = await ledgerCase('rebalance', { holdMs: 40 });
    const first = await c.start();
    const deliveries = sampleDeliveries('x', 7, { min: 150, max: 150 });
    const expected = distinctPayments(deliveries);
    await c.deliver(deliveries);
    await eventually(() => (c.outcomes.length >= 20 ? true : undefined), 30_000, 'the first outcomes');
    const second = await c.start();
    const atJoin = c.outcomes.length;
    await eventually(
      () => (c.outcomes.length >= atJoin + 20 ? true : undefined),
      30_000,
      'progress after the join',
    );
    const atLeave = c.outcomes.length;
    await first.close();
    await eventually(
      async () => ((await c.check(expected)).missing.length === 0 ? true : undefined),
      60_000,
      'every payment applied',
    );
    await c.settled();
    await second.close();
    // Deliveries settled more than once: finished by one owner, not yet committed, redone by the next.
    const redone = c.outcomes.length - deliveries.length;
    console.log(
      `[idempotent-consumer] rebalance: ${deliveries.length} deliveries of ${expected.size} payments, ` +
        `second instance joined after ${atJoin} and the first left after ${atLeave} settled, ${redone} redone, ${JSON.stringify(tally(c.outcomes))}`,
    );
    expect(atLeave).toBeLessThan(deliveries.length);
    expect(redone).toBeGreaterThan(0);
    expect(await c.check(expected)).toEqual(exact(expected));
    expect(tally(c.outcomes).applied).toBe(expected.size);
    expect(c.deadLettered()).toBe(0);
  });
});
