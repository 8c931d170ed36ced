/**
 * The saga on the real broker, shared by its integration and fault tests: the topics, a
 * workload of wallets, stock and orders (with duplicates, races for the last unit, declines and
 * out-of-stock orders), reading the services' events back under read_committed, and checking
 * the guarantee on them.
 */
import type { ProducedRecord } from '@kafka-pattern/streams-core/client';
import type {
  InventoryEvent,
  OrderPlaced,
  OrderStatus,
  PaymentEvent,
  SagaTopics,
} from '@kafka-pattern/topologies/saga';
import { collect, createTopics } from './kafka.ts';

export interface SagaWorkload {
  balances: Record<string, number>;
  stock: Record<string, number>;
  orders: OrderPlaced[];
}

export async function createSagaTopics(topics: SagaTopics, partitions = 3): Promise<void> {
  await createTopics(Object.values(topics).map((name) => ({ name, partitions })));
}

const json = (topic: string, key: string, value: unknown): ProducedRecord => ({
  topic,
  key: Buffer.from(key),
  value: Buffer.from(JSON.stringify(value)),
});

/**
 * `n` orders of `customers` customers over `skus` SKUs. Balances cover about two thirds of what
 * each customer orders and stock about half of each SKU's demand, so all outcomes occur; the
 * first two orders race for a SKU with a single unit.
 */
export function sagaWorkload(n: number, customers = 8, skus = 4, seed = 1): SagaWorkload {
  let x = seed;
  const rand = (m: number) => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x % m;
  };
  const orders: OrderPlaced[] = [];
  for (let i = 0; i < n; i++) {
    const race = i < 2;
    orders.push({
      type: 'OrderPlaced',
      orderId: `order-${seed}-${i}`,
      customerId: race ? `customer-race-${i}` : `customer-${rand(customers)}`,
      sku: race ? 'sku-last-unit' : `sku-${rand(skus)}`,
      quantity: race ? 1 : 1 + rand(3),
      amount: 5 + rand(50),
    });
  }
  const balances: Record<string, number> = {};
  const stock: Record<string, number> = { 'sku-last-unit': 1 };
  for (const o of orders) {
    if (o.sku === 'sku-last-unit') balances[o.customerId] = 100;
    else {
      balances[o.customerId] = (balances[o.customerId] ?? 0) + Math.round((o.amount * 2) / 3);
      stock[o.sku] = (stock[o.sku] ?? 0) + (o.quantity % 2);
    }
  }
  return { balances, stock, orders };
}

export function settingRecords(topics: SagaTopics, w: SagaWorkload): ProducedRecord[] {
  return [
    ...Object.entries(w.balances).map(([c, balance]) => json(topics.wallets, c, { balance })),
    ...Object.entries(w.stock).map(([sku, available]) => json(topics.stock, sku, { available })),
  ];
}

/** The orders; every `duplicateEvery`-th one is produced twice (a producer's retry, a replay). */
export function orderRecords(
  topics: SagaTopics,
  orders: OrderPlaced[],
  duplicateEvery = 5,
): ProducedRecord[] {
  return orders.flatMap((o, i) => {
    const r = json(topics.orders, o.orderId, o);
    return i % duplicateEvery === 0 ? [r, r] : [r];
  });
}

export interface SagaLogs {
  status: OrderStatus[];
  payments: PaymentEvent[];
  inventory: InventoryEvent[];
}

export async function readSagaLogs(topics: SagaTopics): Promise<SagaLogs> {
  const read = async <T>(topic: string) =>
    (await collect(topic, { isolationLevel: 'read_committed', timeoutMs: 20_000 }))
      // Per key in offset order: every topic here is keyed by orderId.
      .sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0))
      .map((r) => JSON.parse(r.value!.toString()) as T);
  const [status, payments, inventory] = await Promise.all([
    read<OrderStatus>(topics.orderStatus),
    read<PaymentEvent>(topics.payments),
    read<InventoryEvent>(topics.inventory),
  ]);
  return { status, payments, inventory };
}

export function finalStatuses(status: OrderStatus[]): Map<string, OrderStatus> {
  const last = new Map<string, OrderStatus>();
  for (const s of status) last.set(s.orderId, s);
  return last;
}

/** Orders without a terminal status yet (for waiting). */
export function unfinished(w: SagaWorkload, logs: Pick<SagaLogs, 'status'>): string[] {
  const last = finalStatuses(logs.status);
  return w.orders.map((o) => o.orderId).filter((id) => (last.get(id)?.status ?? 'PENDING') === 'PENDING');
}

export interface SagaCheck {
  counts: Record<string, number>;
  violations: string[];
}

/** The guarantee, checked on what the services wrote. An empty `violations` is a pass. */
export function checkSaga(w: SagaWorkload, logs: SagaLogs): SagaCheck {
  const violations: string[] = [];
  const last = finalStatuses(logs.status);
  const counts: Record<string, number> = { APPROVED: 0, REJECTED: 0, CANCELLED: 0, PENDING: 0 };
  const byOrder = <T extends { orderId: string }>(events: T[]) => {
    const m = new Map<string, T[]>();
    for (const e of events) m.set(e.orderId, [...(m.get(e.orderId) ?? []), e]);
    return m;
  };
  const payments = byOrder(logs.payments);
  const inventory = byOrder(logs.inventory);
  // A terminal status is never followed by another one.
  const seen = new Map<string, string>();
  for (const s of logs.status) {
    const before = seen.get(s.orderId);
    if (before !== undefined && before !== 'PENDING')
      violations.push(`${s.orderId}: ${s.status} after terminal ${before}`);
    seen.set(s.orderId, s.status);
  }
  const spent = new Map<string, number>();
  const taken = new Map<string, number>();
  for (const o of w.orders) {
    const status = last.get(o.orderId)?.status ?? 'PENDING';
    counts[status] = (counts[status] ?? 0) + 1;
    if (status === 'PENDING') violations.push(`${o.orderId}: not terminal`);
    const ps = payments.get(o.orderId) ?? [];
    const n = (t: string) => ps.filter((p) => p.type === t).length;
    if (n('PaymentCharged') > 1) violations.push(`${o.orderId}: charged ${n('PaymentCharged')} times`);
    if (n('PaymentRefunded') > n('PaymentCharged'))
      violations.push(`${o.orderId}: refunded ${n('PaymentRefunded')} times, charged ${n('PaymentCharged')}`);
    const net = ps.reduce(
      (s, p) => s + (p.type === 'PaymentCharged' ? p.amount : p.type === 'PaymentRefunded' ? -p.amount : 0),
      0,
    );
    const expectedNet = status === 'APPROVED' ? o.amount : 0;
    if (net !== expectedNet) violations.push(`${o.orderId}: ${status} but charged ${net} net`);
    const is = inventory.get(o.orderId) ?? [];
    if (is.length > 1) violations.push(`${o.orderId}: ${is.length} inventory answers`);
    if (status === 'APPROVED') {
      if (is[0]?.type !== 'StockReserved') violations.push(`${o.orderId}: APPROVED without a reservation`);
      spent.set(o.customerId, (spent.get(o.customerId) ?? 0) + o.amount);
      taken.set(o.sku, (taken.get(o.sku) ?? 0) + o.quantity);
    }
  }
  for (const [c, s] of spent)
    if (s > (w.balances[c] ?? 0)) violations.push(`${c} spent ${s} of ${w.balances[c]}`);
  for (const [sku, t] of taken)
    if (t > (w.stock[sku] ?? 0))
      violations.push(`${sku}: ${t} units approved of ${w.stock[sku]} (below zero)`);
  // Reservations still held (reserved, not refunded) never exceed the stock either.
  const held = new Map<string, number>();
  for (const e of logs.inventory) {
    const refunded = (payments.get(e.orderId) ?? []).some((p) => p.type === 'PaymentRefunded');
    if (e.type === 'StockReserved' && !refunded) held.set(e.sku, (held.get(e.sku) ?? 0) + e.quantity);
  }
  for (const [sku, h] of held)
    if (h > (w.stock[sku] ?? 0)) violations.push(`${sku}: ${h} units held of ${w.stock[sku]}`);
  return { counts, violations };
}
