/**
 * The idempotent consumer while PostgreSQL fails under it: its connections killed mid-transaction
 * (pg_terminate_backend), the server unreachable for a few seconds with Redis up, and an outage
 * longer than an event may wait, whose events are dead-lettered without effect and applied once
 * when re-driven. Each case ends with one ledger row per distinct payment and exact balances.
 */

import { describe, expect, it } from 'vitest';
import {
  distinctPayments,
  exact,
  type LedgerCaseOptions,
  ledgerCase as newCase,
  sampleDeliveries,
  tally,
} from '../support/idempotent-ledger.ts';
import { collect, eventually, produce } from '../support/kafka.ts';
import { databaseUrl, hostPort } from '../support/services.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { teardownAfterEach } from '../support/teardown.ts';
import { figures } from './support.ts';

const cleanups = teardownAfterEach();
const ledgerCase = (name: string, o?: LedgerCaseOptions) => newCase(cleanups, name, o);

/** DATABASE_URL with its host and port replaced by the proxy's. */
function throughProxy(proxy: TcpProxy): string {
  const url = new URL(databaseUrl());
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  return url.toString();
}

async function postgresProxy(): Promise<TcpProxy> {
  const proxy = new TcpProxy(hostPort(databaseUrl()));
  await proxy.up();
  cleanups.push(() => proxy.down());
  return proxy;
}

describe('idempotent consumer: PostgreSQL failing under it', () => {
  it('connections killed mid-transaction (pg_terminate_backend): nothing lost, nothing applied twice', async () => {
    // Each transaction stays open 20 ms after its ledger insert, so the kills land inside them.
    const c = await ledgerCase('pgkill', { holdMs: 20 });
    await c.start();
    const deliveries = sampleDeliveries('k', 21, { min: 120, max: 120 });
    const expected = distinctPayments(deliveries);
    await c.deliver(deliveries);
    let terminated = 0;
    let rounds = 0;
    while (c.outcomes.length < c.delivered) {
      const r = await c.admin.query(
        'SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = $1',
        [c.consumerId],
      );
      terminated += Number(r.rows[0].n);
      rounds++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await c.settled();
    const retried = c.outcomes.filter((o) => o.attempts > 1).length;
    figures('idempotent-consumer pg_terminate_backend', {
      deliveries: deliveries.length,
      payments: expected.size,
      rounds,
      terminated,
      retried,
      ...tally(c.outcomes),
    });
    expect(terminated).toBeGreaterThan(0);
    expect(retried).toBeGreaterThan(0);
    expect(await c.check(expected)).toEqual(exact(expected));
    expect(tally(c.outcomes).applied).toBe(expected.size);
    expect(c.deadLettered()).toBe(0);
  });

  it('PostgreSQL unreachable for 2.5 s with Redis up: known duplicates skipped meanwhile, new events wait, none dead-lettered', async () => {
    const proxy = await postgresProxy();
    const c = await ledgerCase('pgdown', { postgresUrl: throughProxy(proxy) });
    await c.start();
    const a = sampleDeliveries('a', 22);
    const b = sampleDeliveries('b', 23);
    await c.deliver(a);
    await c.settled();
    await proxy.down();
    // Redeliveries of what PostgreSQL committed before: Redis knows them, no transaction needed.
    const redelivered = c.outcomes.length;
    await c.deliver(a);
    await c.settled();
    expect(tally(c.outcomes.slice(redelivered))['duplicate-cache']).toBe(a.length);
    const during = c.outcomes.length;
    await c.deliver(b);
    const outageMs = 2_500;
    await new Promise((resolve) => setTimeout(resolve, outageMs));
    const settledDuringOutage = c.outcomes.length - during;
    await proxy.up();
    await c.settled();
    const waited = c.outcomes.slice(during).filter((o) => o.attempts > 1).length;
    figures('idempotent-consumer PostgreSQL down', {
      outageMs,
      newDeliveries: b.length,
      settledDuringOutage,
      waited,
      ...tally(c.outcomes.slice(during)),
    });
    expect(settledDuringOutage).toBe(0);
    expect(waited).toBeGreaterThan(0);
    const expected = distinctPayments([...a, ...b]);
    expect(await c.check(expected)).toEqual(exact(expected));
    expect(c.deadLettered()).toBe(0);
  });

  it('an outage longer than an event may wait: its events are dead-lettered without effect, and applied once when re-driven', async () => {
    const proxy = await postgresProxy();
    const c = await ledgerCase('pglong', { postgresUrl: throughProxy(proxy), timeoutMs: 2_000 });
    await c.start();
    await proxy.down();
    const deliveries = sampleDeliveries('l', 24, { min: 10, max: 10 });
    const expected = distinctPayments(deliveries);
    await c.deliver(deliveries);
    await eventually(
      () => (c.deadLettered() >= deliveries.length ? true : undefined),
      30_000,
      `${deliveries.length} dead letters`,
    );
    await proxy.up();
    const before = await c.check(expected);
    expect(before.rows).toBe(0);
    expect(before.processed).toBe(0);
    const deadLetters = await collect(`${c.topic}-dlt`, { count: deliveries.length, timeoutMs: 10_000 });
    expect(deadLetters).toHaveLength(deliveries.length);
    expect(
      deadLetters.every(
        (r) => r.headers.lastValue('kafka_dlt-exception-fqcn')?.toString() === 'PostgresUnavailableError',
      ),
    ).toBe(true);
    // Re-driven twice over, as a re-drive tool run by mistake a second time would.
    const redrive = deadLetters.map((r) => ({
      topic: c.topic,
      key: r.key,
      value: r.value,
      headers: [...r.headers].filter(([k]) => !k.startsWith('kafka_dlt-')),
    }));
    const from = c.outcomes.length;
    await produce([...redrive, ...redrive]);
    await eventually(
      () => (c.outcomes.length - from >= 2 * redrive.length ? true : undefined),
      30_000,
      'the re-driven events settled',
    );
    expect(tally(c.outcomes.slice(from)).applied).toBe(expected.size);
    expect(await c.check(expected)).toEqual(exact(expected));
  });
});
