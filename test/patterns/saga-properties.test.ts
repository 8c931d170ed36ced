/**
 * The saga's guarantee as properties, on generated customers, SKUs and orders: the three
 * services each in a TopologyTestDriver, wired together by an in-memory bus that delivers their
 * events in an order fast-check chooses (across and within topics), with duplicates, and with
 * one service silent for some orders until after their timeout. At the end: every order is
 * terminal; no order that is not APPROVED cost its customer anything; every balance and stock
 * level is what it was set to, less exactly the approved orders; no level went below zero.
 */

import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import {
  type InventoryEvent,
  type OrderPlaced,
  type OrderStatus,
  orderSaga,
  type PaymentEvent,
  SagaSerdes,
  STOCK_STORE,
  WALLETS_STORE,
} from '@kafka-pattern/topologies/saga';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const TIMEOUT_MS = 10_000;
const saga = orderSaga({ prefix: 'prop.', timeoutMs: TIMEOUT_MS, punctuateIntervalMs: 1_000 });
const { topics } = saga;

interface Scenario {
  balances: Record<string, number>;
  stock: Record<string, number>;
  orders: OrderPlaced[];
  /** Indexes of orders whose events the silent service holds back until after the timeout. */
  silent: { service: 'payment' | 'inventory'; orders: number[] };
  /** Picks: which pending delivery goes next, and whether it is delivered twice. */
  picks: Array<{ at: number; twice: boolean }>;
}

const customers = ['alice', 'bob', 'carol'];
const skus = ['book', 'lamp'];
const scenario: fc.Arbitrary<Scenario> = fc.record({
  balances: fc.record(Object.fromEntries(customers.map((c) => [c, fc.integer({ min: 0, max: 100 })]))),
  stock: fc.record(Object.fromEntries(skus.map((s) => [s, fc.integer({ min: 0, max: 4 })]))),
  orders: fc
    .array(
      fc.record({
        customerId: fc.constantFrom(...customers),
        sku: fc.constantFrom(...skus),
        quantity: fc.integer({ min: 1, max: 3 }),
        amount: fc.integer({ min: 0, max: 60 }),
      }),
      { minLength: 1, maxLength: 12 },
    )
    .map((os) => os.map((o, i): OrderPlaced => ({ type: 'OrderPlaced', orderId: `o${i}`, ...o }))),
  silent: fc.record({
    service: fc.constantFrom('payment' as const, 'inventory' as const),
    orders: fc.array(fc.nat({ max: 11 }), { maxLength: 3 }),
  }),
  picks: fc.array(fc.record({ at: fc.nat(), twice: fc.boolean() }), {
    maxLength: 300,
  }),
});

type Service = 'order' | 'payment' | 'inventory';
interface Delivery {
  to: Service;
  topic: string;
  key: string;
  value: unknown;
}

function runSaga(s: Scenario) {
  const t0 = 1_000_000;
  const drivers = {
    order: new TopologyTestDriver(saga.orderService, { initialWallClockTime: t0 }),
    payment: new TopologyTestDriver(saga.paymentService, { initialWallClockTime: t0 }),
    inventory: new TopologyTestDriver(saga.inventoryService, { initialWallClockTime: t0 }),
  };
  try {
    const serdeOf: Record<string, typeof SagaSerdes.order> = {
      [topics.orders]: SagaSerdes.order,
      [topics.payments]: SagaSerdes.payment as never,
      [topics.inventory]: SagaSerdes.inventory as never,
      [topics.orderStatus]: SagaSerdes.status as never,
      [topics.wallets]: SagaSerdes.wallet as never,
      [topics.stock]: SagaSerdes.stock as never,
    };
    const inputs = new Map<string, ReturnType<TopologyTestDriver['createInputTopic']>>();
    const input = (to: Service, topic: string) => {
      const k = `${to}:${topic}`;
      if (!inputs.has(k)) inputs.set(k, drivers[to].createInputTopic(topic, SagaSerdes.key, serdeOf[topic]!));
      return inputs.get(k)!;
    };
    const outputs = {
      order: drivers.order.createOutputTopic(topics.orderStatus, SagaSerdes.key, SagaSerdes.status),
      payment: drivers.payment.createOutputTopic(topics.payments, SagaSerdes.key, SagaSerdes.payment),
      inventory: drivers.inventory.createOutputTopic(topics.inventory, SagaSerdes.key, SagaSerdes.inventory),
    };
    const readers: Record<Service, Service[]> = {
      order: ['payment'],
      payment: ['order', 'inventory'],
      inventory: ['order', 'payment'],
    };
    const log = {
      status: [] as OrderStatus[],
      payments: [] as PaymentEvent[],
      inventory: [] as InventoryEvent[],
    };
    const pending: Delivery[] = [];
    const held: Delivery[] = [];
    const silentIds = new Set(s.silent.orders.filter((i) => i < s.orders.length).map((i) => `o${i}`));
    const enqueue = (d: Delivery) =>
      (d.to === s.silent.service && silentIds.has(d.key) ? held : pending).push(d);
    const collectOutputs = () => {
      for (const from of ['order', 'payment', 'inventory'] as const) {
        for (const { key, value } of outputs[from].readKeyValuesToList()) {
          const topic =
            from === 'order' ? topics.orderStatus : from === 'payment' ? topics.payments : topics.inventory;
          if (from === 'order') log.status.push(value as OrderStatus);
          else if (from === 'payment') log.payments.push(value as PaymentEvent);
          else log.inventory.push(value as InventoryEvent);
          for (const to of readers[from]) enqueue({ to, topic, key, value });
        }
      }
    };
    const deliver = (d: Delivery) => {
      input(d.to, d.topic).pipeInput(d.key, d.value as OrderPlaced);
      collectOutputs();
    };
    // Settings first: a wallet or stock setting racing with orders is a different question.
    for (const [c, balance] of Object.entries(s.balances))
      deliver({ to: 'payment', topic: topics.wallets, key: c, value: { balance } });
    for (const [sku, available] of Object.entries(s.stock))
      deliver({ to: 'inventory', topic: topics.stock, key: sku, value: { available } });
    for (const o of s.orders)
      for (const to of ['order', 'payment', 'inventory'] as const)
        enqueue({ to, topic: topics.orders, key: o.orderId, value: o });
    // In the order the picks say, any pending delivery may go next, some of them twice.
    for (const pick of s.picks) {
      if (pending.length === 0) break;
      const [d] = pending.splice(pick.at % pending.length, 1);
      deliver(d!);
      if (pick.twice) deliver(d!);
    }
    while (pending.length > 0) deliver(pending.shift()!);
    // The silent service stays silent past the timeout; the order service cancels what waits on it.
    drivers.order.advanceWallClockTime(TIMEOUT_MS + 1_000);
    collectOutputs();
    while (pending.length > 0) deliver(pending.shift()!);
    // Then it wakes up and catches up on everything it missed, late.
    silentIds.clear();
    for (const d of held.splice(0)) pending.push(d);
    while (pending.length > 0) deliver(pending.shift()!);
    const wallets = drivers.payment.getKeyValueStore(WALLETS_STORE);
    const levels = drivers.inventory.getKeyValueStore(STOCK_STORE);
    return {
      log,
      balances: Object.fromEntries(customers.map((c) => [c, wallets.get(c)?.balance as number])),
      levels: Object.fromEntries(skus.map((k) => [k, levels.get(k)?.available as number])),
    };
  } finally {
    for (const d of Object.values(drivers)) d.close();
  }
}

describe('saga properties', () => {
  it('every order ends terminal; nothing is paid net or reserved for an order that is not approved', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { log, balances, levels } = runSaga(s);
        const final = new Map<string, OrderStatus>();
        for (const st of log.status) {
          const before = final.get(st.orderId);
          // A terminal status is never followed by another.
          if (before) expect(before.status).toBe('PENDING');
          final.set(st.orderId, st);
        }
        const approved = s.orders.filter((o) => final.get(o.orderId)?.status === 'APPROVED');
        for (const o of s.orders) {
          const status = final.get(o.orderId)?.status;
          expect(['APPROVED', 'REJECTED', 'CANCELLED']).toContain(status);
          const events = log.payments.filter((p) => p.orderId === o.orderId);
          const count = (type: string) => events.filter((p) => p.type === type).length;
          // Charged at most once, refunded at most once and only after the charge.
          expect(count('PaymentCharged')).toBeLessThanOrEqual(1);
          expect(count('PaymentRefunded')).toBeLessThanOrEqual(count('PaymentCharged'));
          const net = events.reduce(
            (n, p) =>
              n + (p.type === 'PaymentCharged' ? p.amount : p.type === 'PaymentRefunded' ? -p.amount : 0),
            0,
          );
          expect(net).toBe(status === 'APPROVED' ? o.amount : 0);
          const stock = log.inventory.filter((e) => e.orderId === o.orderId);
          expect(stock.length).toBeLessThanOrEqual(1);
          if (status === 'APPROVED') expect(stock[0]?.type).toBe('StockReserved');
          if (status === 'REJECTED') expect(stock).toEqual([]);
        }
        // Conservation: what is left is what was set, less exactly the approved orders.
        for (const c of customers) {
          const spent = approved.filter((o) => o.customerId === c).reduce((n, o) => n + o.amount, 0);
          expect(balances[c]).toBe(s.balances[c]! - spent);
        }
        for (const sku of skus) {
          const taken = approved.filter((o) => o.sku === sku).reduce((n, o) => n + o.quantity, 0);
          expect(levels[sku]).toBe(s.stock[sku]! - taken);
          expect(levels[sku]).toBeGreaterThanOrEqual(0);
        }
        // Without a silent service, every order is decided by the events alone, before any timeout.
        if (s.silent.orders.length === 0)
          expect(log.status.filter((st) => st.reason?.startsWith('timeout'))).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  it('two orders racing for the last unit: exactly one is approved', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ at: fc.nat(), twice: fc.boolean() }), { maxLength: 60 }), (picks) => {
        const orders: OrderPlaced[] = ['alice', 'bob'].map((customerId, i) => ({
          type: 'OrderPlaced',
          orderId: `race-${i}`,
          customerId,
          sku: 'book',
          quantity: 1,
          amount: 10,
        }));
        const { log, levels } = runSaga({
          balances: { alice: 10, bob: 10, carol: 0 },
          stock: { book: 1, lamp: 0 },
          orders,
          silent: { service: 'payment', orders: [] },
          picks,
        });
        const last = new Map(log.status.map((st) => [st.orderId, st.status]));
        expect([...last.values()].sort()).toEqual(['APPROVED', 'CANCELLED']);
        expect(levels.book).toBe(0);
      }),
      { numRuns: 100 },
    );
  });
});
