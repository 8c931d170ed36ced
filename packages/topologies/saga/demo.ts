/**
 * Demo: the order saga with its three services as three KafkaStreams applications (exactly-once)
 * in this process. It sets two wallets and three stock levels, places orders that end each way
 * (approved; declined; out of stock and refunded; two customers racing for the last lamp; a
 * duplicated OrderPlaced), then stops the inventory service and places one more order, which the
 * order service cancels on its timeout and the payment service refunds. It prints each order's
 * timeline: every event and status, in the order a read_committed reader saw them, with the time
 * since the order was placed.
 *
 * Run: `pnpm demo saga` (it starts the local stack when needed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaStreams, type Topology } from '@kafka-pattern/streams-core';
import { createPlatformaticClientFactory, recordsOf } from '@kafka-pattern/streams-core/client';
import { localStack } from '../src/support/local-stack.ts';
import { type OrderPlaced, type OrderStatus, orderSaga, TERMINAL_STATES } from './topology.ts';

const { bootstrapServers } = localStack();
const run = Date.now().toString(36);
const clients = createPlatformaticClientFactory({ bootstrapServers, clientId: 'saga-demo' });
const TIMEOUT_MS = 4_000;
const saga = orderSaga({ prefix: `shop-${run}.`, timeoutMs: TIMEOUT_MS, punctuateIntervalMs: 250 });
const { topics } = saga;

const order = (
  orderId: string,
  customerId: string,
  sku: string,
  quantity: number,
  amount: number,
): OrderPlaced => ({
  type: 'OrderPlaced',
  orderId,
  customerId,
  sku,
  quantity,
  amount,
});
const orders = [
  order('order-1', 'alice', 'book', 2, 40), // approved
  order('order-2', 'bob', 'book', 1, 500), // bob has 100: declined
  order('order-3', 'alice', 'mug', 3, 15), // 1 mug in stock: refunded
  order('order-4', 'alice', 'lamp', 1, 25), // alice and bob race for the last lamp
  order('order-5', 'bob', 'lamp', 1, 25),
];
const late = order('order-6', 'bob', 'book', 1, 10); // placed while inventory is down

interface Seen {
  at: number;
  topic: string;
  value: Record<string, unknown>;
}
const timeline = new Map<string, Seen[]>();
const placedAt = new Map<string, number>();
const stateDirs: string[] = [];
const apps: KafkaStreams[] = [];

const dirOf = new Map<string, string>();
/** A service's application: the same id and state directory when it starts again. */
function service(topology: Topology, name: string): KafkaStreams {
  const stateDir = dirOf.get(name) ?? mkdtempSync(join(tmpdir(), `kp-saga-${name}-`));
  if (!dirOf.has(name)) stateDirs.push(stateDir);
  dirOf.set(name, stateDir);
  const app = new KafkaStreams(topology, {
    applicationId: `saga-demo-${run}-${name}`,
    bootstrapServers,
    processingGuarantee: 'exactly_once_v2',
    stateDir,
    commitIntervalMs: 100,
  });
  apps.push(app);
  return app;
}

function describeEvent(topic: string, v: Record<string, unknown>): string {
  if (topic === topics.orders)
    return `OrderPlaced      ${v.customerId} orders ${v.quantity} x ${v.sku} for ${v.amount}`;
  if (topic === topics.payments)
    return `${String(v.type).padEnd(16)} ${v.amount} ${v.type === 'PaymentRefunded' ? 'back to' : 'from'} ${v.customerId}`;
  if (topic === topics.inventory) return `${String(v.type).padEnd(16)} ${v.quantity} x ${v.sku}`;
  return `-> ${String(v.status)}${v.reason ? ` (${v.reason})` : ''}`;
}

const admin = clients.admin();
const reader = clients.partitionReader({
  clientId: 'saga-demo-reader',
  isolationLevel: 'read_committed',
  maxWaitMs: 100,
});
let reading = true;
try {
  await admin.createTopics(Object.values(topics).map((name) => ({ name, partitions: 3 })));
  const orderApp = service(saga.orderService, 'orders');
  const paymentApp = service(saga.paymentService, 'payments');
  let inventoryApp = service(saga.inventoryService, 'inventory');
  await Promise.all([orderApp, paymentApp, inventoryApp].map((a) => a.start()));
  await Promise.all([orderApp, paymentApp, inventoryApp].map((a) => a.waitForRunning(60_000)));
  console.log(
    `three services running on ${bootstrapServers.join(',')}: orders, payments, inventory (exactly_once_v2)`,
  );

  reader.assign(
    [topics.orders, topics.payments, topics.inventory, topics.orderStatus].flatMap((topic) =>
      [0, 1, 2].map((partition) => ({ topic, partition, from: 0n })),
    ),
  );
  const follow = (async () => {
    while (reading) {
      for (const r of recordsOf(await reader.poll())) {
        const value = JSON.parse(r.value!.toString()) as Record<string, unknown>;
        const orderId = String(value.orderId);
        const list = timeline.get(orderId) ?? [];
        list.push({ at: Date.now(), topic: r.topic, value });
        timeline.set(orderId, list);
      }
    }
  })();

  const producer = clients.producer({ clientId: 'saga-demo-producer', idempotent: true });
  const send = async (topic: string, key: string, value: unknown) =>
    producer.send([{ topic, key: Buffer.from(key), value: Buffer.from(JSON.stringify(value)) }]);
  const wallets = { alice: 100, bob: 100 };
  const stock = { book: 10, mug: 1, lamp: 1 };
  for (const [c, balance] of Object.entries(wallets)) await send(topics.wallets, c, { balance });
  for (const [sku, available] of Object.entries(stock)) await send(topics.stock, sku, { available });
  console.log(`wallets ${JSON.stringify(wallets)}, stock ${JSON.stringify(stock)}`);
  for (const o of orders) {
    placedAt.set(o.orderId, Date.now());
    await send(topics.orders, o.orderId, o);
  }
  // A producer retry or a replay: the same OrderPlaced once more. It changes nothing.
  await send(topics.orders, orders[0]!.orderId, orders[0]);

  const statusOf = (id: string) =>
    (timeline.get(id) ?? [])
      .filter((s) => s.topic === topics.orderStatus)
      .map((s) => s.value as unknown as OrderStatus)
      .at(-1)?.status;
  const waitTerminal = async (ids: string[], ms: number) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && !ids.every((id) => TERMINAL_STATES.has(statusOf(id) ?? 'PENDING')))
      await new Promise((r) => setTimeout(r, 100));
  };
  await waitTerminal(
    orders.map((o) => o.orderId),
    30_000,
  );

  console.log(
    `\nthe inventory service stops; ${late.orderId} is placed and waits (timeout ${TIMEOUT_MS} ms)`,
  );
  await inventoryApp.close();
  placedAt.set(late.orderId, Date.now());
  await send(topics.orders, late.orderId, late);
  await waitTerminal([late.orderId], 30_000);
  // Wait for the refund too, then bring inventory back: it catches up and holds nothing for it.
  const deadline = Date.now() + 15_000;
  while (
    Date.now() < deadline &&
    !(timeline.get(late.orderId) ?? []).some((s) => s.value.type === 'PaymentRefunded')
  )
    await new Promise((r) => setTimeout(r, 100));
  console.log(
    'the inventory service starts again: it reserves for the charge, then puts the units back for the refund',
  );
  inventoryApp = service(saga.inventoryService, 'inventory');
  await inventoryApp.start();
  await inventoryApp.waitForRunning(60_000);
  await new Promise((r) => setTimeout(r, 2_000));
  await producer.close();
  reading = false;
  await follow;

  let ok = true;
  for (const o of [...orders, late]) {
    const seen = timeline.get(o.orderId) ?? [];
    const t0 = placedAt.get(o.orderId)!;
    console.log(`\n${o.orderId}`);
    for (const s of seen) {
      const topic = s.topic.slice(`shop-${run}.`.length);
      console.log(
        `  +${String(Math.max(0, s.at - t0)).padStart(5)} ms  ${topic.padEnd(11)} ${describeEvent(s.topic, s.value)}`,
      );
    }
    const final = statusOf(o.orderId);
    if (!TERMINAL_STATES.has(final ?? 'PENDING')) ok = false;
  }
  const all = [...timeline.values()].flat();
  const charged = (id: string) =>
    all
      .filter((s) => s.topic === topics.payments && s.value.orderId === id)
      .reduce(
        (n, s) =>
          n +
          (s.value.type === 'PaymentCharged'
            ? Number(s.value.amount)
            : s.value.type === 'PaymentRefunded'
              ? -Number(s.value.amount)
              : 0),
        0,
      );
  console.log('\norder     status      net charge');
  for (const o of [...orders, late]) {
    const st = statusOf(o.orderId) ?? 'PENDING';
    const net = charged(o.orderId);
    console.log(`${o.orderId}   ${st.padEnd(10)}  ${net}`);
    if ((st === 'APPROVED' ? o.amount : 0) !== net) ok = false;
  }
  console.log(
    ok
      ? '\nevery order is terminal; only approved orders cost their customer anything'
      : '\nthe guarantee did not hold: see above',
  );
  process.exitCode = ok ? 0 : 1;
  for (const a of apps)
    if (a.state === 'ERROR') {
      console.error(`a service stopped in ERROR: ${String(a.error)}`);
      process.exitCode = 1;
    }
} finally {
  reading = false;
  await reader.close().catch(() => {});
  for (const a of apps) await a.close().catch(() => {});
  const internal = [...new Set(apps.flatMap((a) => a.internalTopicNames()))];
  await admin.deleteTopics([...Object.values(topics), ...internal]).catch(() => {});
  await admin.close();
  for (const d of stateDirs) rmSync(d, { recursive: true, force: true });
}
