/**
 * The idempotent consumer SIGKILLed between the steps of an event, as a child process: inside the
 * PostgreSQL transaction (after the Redis claim, before the commit), after the commit and before
 * Redis and the offset commit are told, and at arbitrary points under a stream of duplicates.
 * After each restart the killed event is redelivered: it has exactly one effect, and every
 * payment has exactly one ledger row.
 */
import { fileURLToPath } from 'node:url';
import { dedupCacheKey, type EventOutcome } from '@kafka-pattern/topologies/idempotent-consumer';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Delivery,
  distinctPayments,
  exact,
  type LedgerCase,
  ledgerCase,
  REDIS_DB,
  sampleDeliveries,
  tally,
} from '../support/idempotent-ledger.ts';
import { databaseUrl, redisUrl } from '../support/services.ts';
import { teardownAfterEach } from '../support/teardown.ts';
import type { IdempotentAppSpec } from './fixtures/idempotent-consumer-app.ts';
import {
  type AppEvent,
  AppProcess,
  figures,
  killAll,
  removeDir,
  tempDir,
  uncommittedInput,
  waitForInputCommitted,
} from './support.ts';

const APP = fileURLToPath(new URL('./fixtures/idempotent-consumer-app.ts', import.meta.url));
const cleanups = teardownAfterEach();
const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0)) removeDir(d);
});

function spawnApp(c: LedgerCase, name: string, extra: Partial<IdempotentAppSpec> = {}): AppProcess {
  const stateDir = tempDir('kp-idem-kill-');
  dirs.push(stateDir);
  const spec: IdempotentAppSpec = {
    topic: c.topic,
    table: c.table,
    consumerId: c.consumerId,
    applicationId: c.applicationId,
    stateDir,
    databaseUrl: databaseUrl(),
    redisUrl: redisUrl(REDIS_DB),
    // No offset is committed on a timer while the test runs: a killed incarnation's work is redelivered.
    commitIntervalMs: 60_000,
    ...extra,
  };
  return new AppProcess(spec, name, APP);
}

type OutcomeEvent = AppEvent & Pick<EventOutcome<string>, 'eventId' | 'result' | 'attempts'>;
const outcomesOf = (p: AppProcess) => p.events.filter((e): e is OutcomeEvent => e.event === 'outcome');

async function settledIn(p: AppProcess, n: number, what: string): Promise<void> {
  await p.waitForEvent(() => outcomesOf(p).length >= n, 60_000, what);
}

/** The ledger rows and processed_events row of one payment, as PostgreSQL has them committed. */
async function committedRows(c: LedgerCase, eventId: string): Promise<{ ledger: number; processed: number }> {
  const ledger = await c.admin.query(`SELECT count(*) AS n FROM ${c.table} WHERE event_id = $1`, [eventId]);
  const processed = await c.admin.query(
    'SELECT count(*) AS n FROM processed_events WHERE consumer_id = $1 AND event_id = $2',
    [c.consumerId, eventId],
  );
  return { ledger: Number(ledger.rows[0].n), processed: Number(processed.rows[0].n) };
}

/** A payment delivered once, in the middle of the input: the one an incarnation stalls on. */
function middleSingle(deliveries: Delivery[]): string {
  const copies = new Map<string, number>();
  for (const d of deliveries) copies.set(d.payment.id, (copies.get(d.payment.id) ?? 0) + 1);
  const singles = deliveries.filter((d) => copies.get(d.payment.id) === 1);
  return singles[Math.floor(singles.length / 2)]!.payment.id;
}

describe('idempotent consumer: SIGKILL between the steps of an event', () => {
  for (const at of ['in-transaction', 'after-commit'] as const) {
    it(`SIGKILL ${at === 'in-transaction' ? 'inside the transaction, before the PostgreSQL commit' : 'after the PostgreSQL commit, before Redis and the offset commit'}: the redelivered event has one effect`, async () => {
      const c = await ledgerCase(cleanups, `kill-${at}`);
      const deliveries = sampleDeliveries(at, at === 'in-transaction' ? 31 : 32);
      const expected = distinctPayments(deliveries);
      const target = middleSingle(deliveries);
      const first = spawnApp(c, `${at}-1`, { stall: { at, eventId: target } });
      await first.waitForRunning();
      await c.deliver(deliveries);
      await first.waitForEvent((e) => e.event === 'stalled', 30_000, `the stall ${at} of ${target}`);
      const atKill = await committedRows(c, target);
      const cached = await c.redis.get(dedupCacheKey(c.consumerId, target));
      const appliedBefore = tally(outcomesOf(first)).applied;
      await first.kill();
      // In the transaction nothing is committed yet; after the commit both rows are, and Redis
      // still says "pending", which never lets an event be skipped.
      expect(atKill).toEqual(
        at === 'in-transaction' ? { ledger: 0, processed: 0 } : { ledger: 1, processed: 1 },
      );
      expect(cached).toBe('pending');

      const second = spawnApp(c, `${at}-2`, { commitIntervalMs: 300 });
      await second.waitForRunning();
      await settledIn(second, 1, 'the first outcome after the restart');
      await second.waitForEvent(
        (e) => e.event === 'outcome' && e.eventId === target,
        60_000,
        `the redelivery of ${target}`,
      );
      await waitForInputCommitted(c.applicationId, [c.topic], 90_000);
      expect(await second.stop()).toBe(true);
      const redelivery = outcomesOf(second).filter((e) => e.eventId === target);
      figures(`idempotent-consumer SIGKILL ${at}`, {
        deliveries: deliveries.length,
        payments: expected.size,
        target,
        appliedBeforeKill: appliedBefore,
        afterRestart: tally(outcomesOf(second)),
        targetAfterRestart: redelivery.map((e) => e.result),
      });
      expect(redelivery.map((e) => e.result)).toEqual([at === 'in-transaction' ? 'applied' : 'duplicate-db']);
      // No offset was committed before the kill: what the first incarnation applied comes back, known in Redis.
      expect(tally(outcomesOf(second))['duplicate-cache']).toBeGreaterThanOrEqual(appliedBefore);
      expect(await c.check(expected)).toEqual(exact(expected));
      expect(await committedRows(c, target)).toEqual({ ledger: 1, processed: 1 });
    });
  }

  it('SIGKILL three times at arbitrary points under a stream of duplicates: one effect per payment', async () => {
    const c = await ledgerCase(cleanups, 'kill-stream');
    const batches = [41, 42, 43, 44, 45, 46, 47].map((seed) =>
      sampleDeliveries(`s${seed}`, seed, { min: 40, max: 60 }),
    );
    const all = batches.flat();
    const expected = distinctPayments(all);
    const kills: Array<Record<string, unknown>> = [];
    let next = 0;
    for (let k = 1; k <= 3; k++) {
      // A backlog waits for each incarnation, and more arrives while it works; it is killed once
      // it has applied payments of its own, wherever each event then is.
      await c.deliver(batches[next++]!);
      const p = spawnApp(c, `stream-${k}`, { commitIntervalMs: 300, holdMs: 5 });
      await p.waitForRunning();
      const delivering = c.deliver(batches[next++] ?? []);
      await p.waitForEvent(
        () => outcomesOf(p).filter((o) => o.result === 'applied').length >= 15,
        60_000,
        `incarnation ${k} applying payments`,
      );
      await p.kill();
      await delivering;
      const check = await c.check(expected);
      kills.push({
        k,
        settled: outcomesOf(p).length,
        ...tally(outcomesOf(p)),
        ledgerRows: check.rows,
        duplicated: check.duplicated.length,
        uncommitted: await uncommittedInput(c.applicationId, c.topic),
      });
    }
    while (next < batches.length) await c.deliver(batches[next++]!);
    const last = spawnApp(c, 'stream-last', { commitIntervalMs: 300 });
    await last.waitForRunning();
    await waitForInputCommitted(c.applicationId, [c.topic], 90_000, () => last.tail());
    expect(await last.stop()).toBe(true);
    figures('idempotent-consumer SIGKILL x3 under duplicates', {
      deliveries: all.length,
      payments: expected.size,
      kills,
      lastIncarnation: tally(outcomesOf(last)),
    });
    expect(kills.every((k) => Number(k.uncommitted) > 0)).toBe(true);
    expect(await c.check(expected)).toEqual(exact(expected));
  });
});
