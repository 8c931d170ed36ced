/**
 * The saga on the real broker under exactly_once_v2, the three services as three KafkaStreams
 * applications: every order ends APPROVED, REJECTED or CANCELLED, nobody pays net for an order
 * that is not approved, no SKU gives more units than it has (two orders race for the last one),
 * and duplicated OrderPlaced events change nothing. Then the timeout: with the inventory service
 * down, charged orders are cancelled and refunded by the order service's punctuator.
 */
import { KafkaStreams, type Topology } from '@kafka-pattern/streams-core';
import { orderSaga, type SagaTopics } from '@kafka-pattern/topologies/saga';
import { describe, expect, it } from 'vitest';
import { bootstrapServers, eventually, produce, uniqueName } from '../support/kafka.ts';
import {
  checkSaga,
  createSagaTopics,
  finalStatuses,
  orderRecords,
  readSagaLogs,
  sagaWorkload,
  settingRecords,
  unfinished,
} from '../support/saga.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';

const cleanups = teardownAfterEach();

async function startService(topology: Topology, applicationId: string): Promise<KafkaStreams> {
  const app = new KafkaStreams(topology, {
    applicationId,
    bootstrapServers: bootstrapServers(),
    processingGuarantee: 'exactly_once_v2',
    stateDir: tempStateDir(cleanups, 'kp-saga-'),
    commitIntervalMs: 100,
  });
  cleanups.push(() => app.close());
  await app.start();
  return app;
}

async function waitForTerminal(topics: SagaTopics, orderIds: string[], timeoutMs: number) {
  return eventually(
    async () => {
      const logs = await readSagaLogs(topics);
      return unfinished(
        { balances: {}, stock: {}, orders: orderIds.map((orderId) => ({ orderId }) as never) },
        logs,
      ).length === 0
        ? logs
        : undefined;
    },
    timeoutMs,
    'every order in a terminal state',
  );
}

describe('saga pattern on the broker (exactly_once_v2)', () => {
  it('ends every order terminal with the guarantee, duplicates and the race for the last unit included', async () => {
    const saga = orderSaga({ prefix: `${uniqueName('shop')}.` });
    await createSagaTopics(saga.topics, 3);
    const run = uniqueName('saga');
    const apps = await Promise.all([
      startService(saga.orderService, `${run}-orders`),
      startService(saga.paymentService, `${run}-payments`),
      startService(saga.inventoryService, `${run}-inventory`),
    ]);
    await Promise.all(apps.map((a) => a.waitForRunning(60_000)));
    const w = sagaWorkload(60, 8, 4, 7);
    await produce(settingRecords(saga.topics, w));
    await produce(orderRecords(saga.topics, w.orders, 4));
    const logs = await waitForTerminal(
      saga.topics,
      w.orders.map((o) => o.orderId),
      90_000,
    );
    const check = checkSaga(w, logs);
    console.log(`[saga] ${JSON.stringify(check.counts)}`);
    expect(check.violations).toEqual([]);
    for (const s of ['APPROVED', 'REJECTED', 'CANCELLED']) expect(check.counts[s]).toBeGreaterThan(0);
    const last = finalStatuses(logs.status);
    const race = w.orders.slice(0, 2).map((o) => last.get(o.orderId)?.status);
    expect(race.sort()).toEqual(['APPROVED', 'CANCELLED']);
    // A duplicated OrderPlaced was charged once: one payment answer per order, at most one refund.
    expect(
      new Set(logs.payments.filter((p) => p.type !== 'PaymentRefunded').map((p) => p.orderId)).size,
    ).toBe(logs.payments.filter((p) => p.type !== 'PaymentRefunded').length);
    for (const a of apps) expect(a.state).toBe('RUNNING');
  });

  it('cancels and refunds charged orders whose inventory step never answers, after timeoutMs', async () => {
    const saga = orderSaga({ prefix: `${uniqueName('shop')}.`, timeoutMs: 3_000, punctuateIntervalMs: 250 });
    await createSagaTopics(saga.topics, 2);
    const run = uniqueName('saga-timeout');
    const apps = await Promise.all([
      startService(saga.orderService, `${run}-orders`),
      startService(saga.paymentService, `${run}-payments`),
    ]);
    await Promise.all(apps.map((a) => a.waitForRunning(60_000)));
    const w = sagaWorkload(6, 3, 2, 11);
    w.balances = Object.fromEntries(Object.keys(w.balances).map((c) => [c, 1_000]));
    await produce(settingRecords(saga.topics, w));
    await produce(orderRecords(saga.topics, w.orders, 100));
    const logs = await waitForTerminal(
      saga.topics,
      w.orders.map((o) => o.orderId),
      60_000,
    );
    const last = finalStatuses(logs.status);
    for (const o of w.orders) {
      expect(last.get(o.orderId)).toEqual({
        orderId: o.orderId,
        status: 'CANCELLED',
        reason: 'timeout: no inventory answer within 3000 ms',
      });
    }
    const refunds = await eventually(
      async () => {
        const l = await readSagaLogs(saga.topics);
        const n = l.payments.filter((p) => p.type === 'PaymentRefunded').length;
        return n >= w.orders.length ? l : undefined;
      },
      30_000,
      'a refund per cancelled order',
    );
    expect(checkSaga(w, refunds).violations).toEqual([]);
    // The inventory service comes back late: it reserves nothing that stays held.
    const inventory = await startService(saga.inventoryService, `${run}-inventory`);
    await inventory.waitForRunning(60_000);
    await eventually(
      () => (inventory.metrics().totals.processedRecords >= w.orders.length * 3 ? true : undefined),
      30_000,
      'the inventory service catching up',
    );
    const after = await readSagaLogs(saga.topics);
    expect(checkSaga(w, after).violations).toEqual([]);
    expect(finalStatuses(after.status).size).toBe(w.orders.length);
    expect([...finalStatuses(after.status).values()].every((s) => s.status === 'CANCELLED')).toBe(true);
  });
});
