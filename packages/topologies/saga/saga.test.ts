/**
 * Each service of the saga on its own, through the TopologyTestDriver: what it writes for each
 * event it reads, duplicates and reorders included, and what its stores hold after.
 */
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type InventoryEvent,
  type OrderPlaced,
  type OrderStatus,
  orderSaga,
  type PaymentEvent,
  SagaSerdes,
  STOCK_STORE,
  WALLETS_STORE,
} from './topology.ts';

const saga = orderSaga({ prefix: 'shop.', timeoutMs: 5_000, punctuateIntervalMs: 500 });
const { topics } = saga;
const drivers: TopologyTestDriver[] = [];
afterEach(() => {
  for (const d of drivers.splice(0)) d.close();
});

const order = (orderId: string, over: Partial<OrderPlaced> = {}): OrderPlaced => ({
  type: 'OrderPlaced',
  orderId,
  customerId: 'alice',
  sku: 'book',
  quantity: 1,
  amount: 30,
  ...over,
});
const charged = (o: OrderPlaced, type: PaymentEvent['type'] = 'PaymentCharged'): PaymentEvent => ({
  type,
  orderId: o.orderId,
  customerId: o.customerId,
  amount: o.amount,
});
const stockEvent = (o: OrderPlaced, type: InventoryEvent['type']): InventoryEvent => ({
  type,
  orderId: o.orderId,
  sku: o.sku,
  quantity: o.quantity,
});

function driverOf(topology: typeof saga.orderService, wallClock = 1_000_000) {
  const driver = new TopologyTestDriver(topology, { initialWallClockTime: wallClock });
  drivers.push(driver);
  return {
    driver,
    orders: driver.createInputTopic(topics.orders, SagaSerdes.key, SagaSerdes.order),
    wallets: () => driver.createInputTopic(topics.wallets, SagaSerdes.key, SagaSerdes.wallet),
    stock: () => driver.createInputTopic(topics.stock, SagaSerdes.key, SagaSerdes.stock),
    paymentsIn: () => driver.createInputTopic(topics.payments, SagaSerdes.key, SagaSerdes.payment),
    inventoryIn: () => driver.createInputTopic(topics.inventory, SagaSerdes.key, SagaSerdes.inventory),
    statusIn: () => driver.createInputTopic(topics.orderStatus, SagaSerdes.key, SagaSerdes.status),
    statusOut: () => driver.createOutputTopic(topics.orderStatus, SagaSerdes.key, SagaSerdes.status),
    paymentsOut: () => driver.createOutputTopic(topics.payments, SagaSerdes.key, SagaSerdes.payment),
    inventoryOut: () => driver.createOutputTopic(topics.inventory, SagaSerdes.key, SagaSerdes.inventory),
  };
}

describe('orderSaga', () => {
  it('names the six topics after the prefix and validates its options', () => {
    expect(topics).toEqual({
      orders: 'shop.orders',
      payments: 'shop.payments',
      inventory: 'shop.inventory',
      wallets: 'shop.wallets',
      stock: 'shop.stock',
      orderStatus: 'shop.orderStatus',
    });
    expect(orderSaga().timeoutMs).toBe(30_000);
    expect(() => orderSaga({ timeoutMs: 0 })).toThrow(/timeoutMs must be a whole number/);
    expect(() => orderSaga({ topics: { stock: 'orders' } })).toThrow(/six different names/);
    const described = saga.paymentService.describe().toString();
    expect(described).toContain('Sub-topology: 1');
    expect(described).toContain('payment-requests-repartition');
  });
});

describe('order service', () => {
  it('goes PENDING, then APPROVED once charged and reserved; duplicates write nothing', () => {
    const t = driverOf(saga.orderService);
    const out = t.statusOut();
    const o = order('o1');
    t.orders.pipeInput(o.orderId, o);
    t.paymentsIn().pipeInput(o.orderId, charged(o));
    t.orders.pipeInput(o.orderId, o);
    t.paymentsIn().pipeInput(o.orderId, charged(o));
    t.inventoryIn().pipeInput(o.orderId, stockEvent(o, 'StockReserved'));
    t.inventoryIn().pipeInput(o.orderId, stockEvent(o, 'StockReserved'));
    expect(out.readKeyValuesToList()).toEqual([
      { key: 'o1', value: { orderId: 'o1', status: 'PENDING' } },
      { key: 'o1', value: { orderId: 'o1', status: 'APPROVED' } },
    ]);
    expect(t.driver.getKeyValueStore('order-sagas').get('o1')).toMatchObject({
      status: 'APPROVED',
      payment: 'CHARGED',
      stock: 'RESERVED',
    });
  });

  it('REJECTED on a declined payment, and on an order that cannot be carried out', () => {
    const t = driverOf(saga.orderService);
    const out = t.statusOut();
    const o = order('o2');
    t.orders.pipeInput(o.orderId, o);
    t.paymentsIn().pipeInput(o.orderId, charged(o, 'PaymentDeclined'));
    t.orders.pipeInput('o3', order('o3', { quantity: 0 }));
    expect(out.readKeyValuesToMap()).toEqual(
      new Map<string, OrderStatus>([
        ['o2', { orderId: 'o2', status: 'REJECTED', reason: 'payment declined' }],
        [
          'o3',
          {
            orderId: 'o3',
            status: 'REJECTED',
            reason: 'invalid order: quantity must be a whole number of at least 1, got 0',
          },
        ],
      ]),
    );
  });

  it('CANCELLED when stock is rejected and the payment refunded, in either order', () => {
    const t = driverOf(saga.orderService);
    const out = t.statusOut();
    const o = order('o4');
    // The inventory's answer overtakes the payment's.
    t.inventoryIn().pipeInput(o.orderId, stockEvent(o, 'StockRejected'));
    t.orders.pipeInput(o.orderId, o);
    t.paymentsIn().pipeInput(o.orderId, charged(o));
    expect(out.readKeyValuesToList().map((kv) => kv.value.status)).toEqual(['PENDING']);
    t.paymentsIn().pipeInput(o.orderId, charged(o, 'PaymentRefunded'));
    t.paymentsIn().pipeInput(o.orderId, charged(o, 'PaymentRefunded'));
    expect(out.readKeyValuesToList()).toEqual([
      { key: 'o4', value: { orderId: 'o4', status: 'CANCELLED', reason: 'out of stock, payment refunded' } },
    ]);
  });

  it('cancels an order whose step does not answer in time, by the wall clock, once', () => {
    const t = driverOf(saga.orderService);
    const out = t.statusOut();
    const o = order('o5');
    t.orders.pipeInput(o.orderId, o);
    t.paymentsIn().pipeInput(o.orderId, charged(o));
    t.driver.advanceWallClockTime(4_000);
    expect(out.readKeyValuesToList().map((kv) => kv.value.status)).toEqual(['PENDING']);
    t.driver.advanceWallClockTime(1_500);
    expect(out.readKeyValuesToList()).toEqual([
      {
        key: 'o5',
        value: { orderId: 'o5', status: 'CANCELLED', reason: 'timeout: no inventory answer within 5000 ms' },
      },
    ]);
    // A late reservation and the refund it causes change nothing: CANCELLED is final.
    t.inventoryIn().pipeInput(o.orderId, stockEvent(o, 'StockReserved'));
    t.paymentsIn().pipeInput(o.orderId, charged(o, 'PaymentRefunded'));
    t.driver.advanceWallClockTime(10_000);
    expect(out.isEmpty()).toBe(true);
    expect(t.driver.getKeyValueStore('order-saga-deadlines').all()).toEqual([]);
  });
});

describe('payment service', () => {
  it('charges once per order from the balance, declines when short', () => {
    const t = driverOf(saga.paymentService);
    const out = t.paymentsOut();
    t.wallets().pipeInput('alice', { balance: 50 });
    const a = order('p1');
    const b = order('p2');
    t.orders.pipeInput(a.orderId, a);
    t.orders.pipeInput(a.orderId, a);
    t.orders.pipeInput(b.orderId, b);
    expect(out.readKeyValuesToList()).toEqual([
      { key: 'p1', value: charged(a) },
      { key: 'p2', value: charged(b, 'PaymentDeclined') },
    ]);
    expect(t.driver.getKeyValueStore(WALLETS_STORE).get('alice')).toEqual({ balance: 20 });
  });

  it('refunds once when stock is rejected or the order cancelled, never before a charge', () => {
    const t = driverOf(saga.paymentService);
    const out = t.paymentsOut();
    t.wallets().pipeInput('alice', { balance: 100 });
    const a = order('p3');
    t.orders.pipeInput(a.orderId, a);
    t.inventoryIn().pipeInput(a.orderId, stockEvent(a, 'StockRejected'));
    t.inventoryIn().pipeInput(a.orderId, stockEvent(a, 'StockRejected'));
    t.statusIn().pipeInput(a.orderId, { orderId: a.orderId, status: 'CANCELLED', reason: 'timeout' });
    expect(out.readKeyValuesToList().map((kv) => kv.value.type)).toEqual([
      'PaymentCharged',
      'PaymentRefunded',
    ]);
    // Cancelled (timed out) before this service saw the order: it is never charged.
    const b = order('p4');
    t.statusIn().pipeInput(b.orderId, { orderId: b.orderId, status: 'CANCELLED', reason: 'timeout' });
    t.orders.pipeInput(b.orderId, b);
    // Approved and rejected orders are not refunded.
    const c = order('p5');
    t.orders.pipeInput(c.orderId, c);
    t.statusIn().pipeInput(c.orderId, { orderId: c.orderId, status: 'APPROVED' });
    expect(out.readKeyValuesToList()).toEqual([{ key: 'p5', value: charged(c) }]);
    expect(t.driver.getKeyValueStore(WALLETS_STORE).get('alice')).toEqual({ balance: 70 });
  });

  it('a wallet setting replaces the balance; a tombstone removes the wallet', () => {
    const t = driverOf(saga.paymentService);
    const out = t.paymentsOut();
    t.wallets().pipeInput('alice', { balance: 10 });
    t.wallets().pipeInput('alice', { balance: 40 });
    t.orders.pipeInput('p6', order('p6'));
    t.wallets().pipeInput('alice', null as never);
    t.orders.pipeInput('p7', order('p7', { amount: 0.5 }));
    expect(out.readKeyValuesToList().map((kv) => kv.value.type)).toEqual([
      'PaymentCharged',
      'PaymentDeclined',
    ]);
  });
});

describe('inventory service', () => {
  it('reserves only what is paid for, once, and the last unit for one order only', () => {
    const t = driverOf(saga.inventoryService);
    const out = t.inventoryOut();
    t.stock().pipeInput('book', { available: 1 });
    const a = order('i1');
    const b = order('i2', { customerId: 'bob' });
    t.orders.pipeInput(a.orderId, a);
    t.orders.pipeInput(b.orderId, b);
    expect(out.isEmpty()).toBe(true);
    t.paymentsIn().pipeInput(b.orderId, charged(b));
    t.paymentsIn().pipeInput(a.orderId, charged(a));
    t.paymentsIn().pipeInput(b.orderId, charged(b));
    expect(out.readKeyValuesToList()).toEqual([
      { key: 'i2', value: stockEvent(b, 'StockReserved') },
      { key: 'i1', value: stockEvent(a, 'StockRejected') },
    ]);
    expect(t.driver.getKeyValueStore(STOCK_STORE).get('book')).toEqual({ available: 0 });
  });

  it('a charge before its order waits for it; a refund puts reserved units back, or voids the reservation', () => {
    const t = driverOf(saga.inventoryService);
    const out = t.inventoryOut();
    t.stock().pipeInput('book', { available: 5 });
    const a = order('i3', { quantity: 2 });
    t.paymentsIn().pipeInput(a.orderId, charged(a));
    t.orders.pipeInput(a.orderId, a);
    t.paymentsIn().pipeInput(a.orderId, charged(a, 'PaymentRefunded'));
    t.paymentsIn().pipeInput(a.orderId, charged(a, 'PaymentRefunded'));
    const b = order('i4', { quantity: 3 });
    t.orders.pipeInput(b.orderId, b);
    t.paymentsIn().pipeInput(b.orderId, charged(b, 'PaymentRefunded'));
    t.paymentsIn().pipeInput(b.orderId, charged(b));
    expect(out.readKeyValuesToList()).toEqual([{ key: 'i3', value: stockEvent(a, 'StockReserved') }]);
    expect(t.driver.getKeyValueStore(STOCK_STORE).get('book')).toEqual({ available: 5 });
  });
});
