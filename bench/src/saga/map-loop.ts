/**
 * The saga's baseline: what a team writes without the framework. One Node process, one consumer
 * of the five input topics (wallets, stock, orders, payments, inventory) and one producer on
 * @platformatic/kafka, the three services' logic in one loop over JavaScript Maps: the payment
 * service charges on the first OrderPlaced and refunds a charged order whose stock was rejected;
 * the inventory service reserves once an order is both placed and charged (releases on a refund);
 * the order service folds the events into each order's status and writes it when it changes.
 * The events go through the same topics as the framework's (payments, inventory, orderStatus)
 * and the loop reads its own payments and inventory events back, so the choreography still runs
 * through Kafka; what it saves is the repartitioning (one process holds every wallet and every
 * SKU), the state stores and their changelogs.
 *
 * at_least_once only: whatever the fetch brought is one batch, its outputs are produced and
 * acknowledged, and offsets are committed once per commit interval. The Maps are not durable,
 * so there is no exactly-once counterpart: a transaction would cover the outputs and offsets but
 * not the state, which a restart loses altogether.
 */

import { partitionForKey } from '@kafka-pattern/streams-core';
import {
  type InventoryEvent,
  type OrderPlaced,
  type OrderState,
  type PaymentEvent,
  sagaTopics,
} from '@kafka-pattern/topologies/saga';
import {
  Consumer,
  type Message,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  type MessageToProduce,
  Producer,
} from '@platformatic/kafka';
import { nextBatch } from '../baseline/raw-loop.ts';
import type { StartPipe } from '../harness/pipe.ts';

const RETRY_DELAY_MS = 100;
/** Messages per produce request: ~150 bytes each, well under max.message.bytes per partition. */
const SEND_CHUNK = 2_000;

interface InventoryEntry {
  order?: OrderPlaced;
  charged: boolean;
  refunded: boolean;
  answer?: 'RESERVED' | 'REJECTED';
}

interface Saga {
  payment?: 'CHARGED' | 'DECLINED';
  refunded: boolean;
  stock?: 'RESERVED' | 'REJECTED';
  status?: OrderState;
}

export const start: StartPipe = async (run) => {
  if (run.guarantee !== 'at_least_once') throw new Error('the Map loop runs at_least_once only');
  const topics = sagaTopics(String(run.params.prefix));
  const partitions = Number(run.params.partitions);
  const consumer = new Consumer({
    clientId: `${run.groupId}-consumer`,
    bootstrapBrokers: run.bootstrapServers,
    retryDelay: RETRY_DELAY_MS,
    groupId: run.groupId,
    autocommit: false,
    maxWaitTime: 200,
  });
  const producer = new Producer({
    clientId: `${run.groupId}-producer`,
    bootstrapBrokers: run.bootstrapServers,
    retryDelay: RETRY_DELAY_MS,
    idempotent: true,
    acks: -1,
  });
  const stream = await consumer.consume({
    topics: [topics.wallets, topics.stock, topics.orders, topics.payments, topics.inventory],
    mode: MessagesStreamModes.COMMITTED,
    fallbackMode: MessagesStreamFallbackModes.EARLIEST,
  });

  const wallets = new Map<string, number>();
  const stock = new Map<string, number>();
  const payments = new Map<string, { state: 'CHARGED' | 'DECLINED' | 'REFUNDED'; order: OrderPlaced }>();
  const inventory = new Map<string, InventoryEntry>();
  const sagas = new Map<string, Saga>();
  let out: MessageToProduce[] = [];
  // Partitioned as the framework partitions (murmur2), though one consumer reads everything here.
  const emit = (topic: string, key: string, value: unknown) => {
    const k = Buffer.from(key);
    out.push({
      topic,
      key: k,
      partition: partitionForKey(k, partitions),
      value: Buffer.from(JSON.stringify(value)),
    });
  };
  const payment = (type: PaymentEvent['type'], o: OrderPlaced) =>
    emit(topics.payments, o.orderId, {
      type,
      orderId: o.orderId,
      customerId: o.customerId,
      amount: o.amount,
    });

  const tryReserve = (e: InventoryEntry) => {
    const o = e.order;
    if (!o || !e.charged || e.refunded || e.answer) return;
    const available = stock.get(o.sku) ?? 0;
    e.answer = available >= o.quantity ? 'RESERVED' : 'REJECTED';
    if (e.answer === 'RESERVED') stock.set(o.sku, available - o.quantity);
    const event: InventoryEvent = {
      type: e.answer === 'RESERVED' ? 'StockReserved' : 'StockRejected',
      orderId: o.orderId,
      sku: o.sku,
      quantity: o.quantity,
    };
    emit(topics.inventory, o.orderId, event);
  };
  const inventoryOf = (orderId: string) => {
    let e = inventory.get(orderId);
    if (!e) {
      e = { charged: false, refunded: false };
      inventory.set(orderId, e);
    }
    return e;
  };
  const fold = (orderId: string, change: (s: Saga) => void) => {
    let s = sagas.get(orderId);
    if (!s) {
      s = { refunded: false };
      sagas.set(orderId, s);
    }
    const before = s.status;
    if (before === 'APPROVED' || before === 'REJECTED' || before === 'CANCELLED') return;
    change(s);
    const status: OrderState =
      s.payment === 'DECLINED'
        ? 'REJECTED'
        : s.refunded
          ? 'CANCELLED'
          : s.payment === 'CHARGED' && s.stock === 'RESERVED'
            ? 'APPROVED'
            : 'PENDING';
    if (status === before) return;
    s.status = status;
    emit(topics.orderStatus, orderId, {
      orderId,
      status,
      ...(status === 'REJECTED' ? { reason: 'payment declined' } : {}),
      ...(status === 'CANCELLED' ? { reason: 'out of stock, payment refunded' } : {}),
    });
  };

  const handle = (m: Message) => {
    const value = JSON.parse(m.value!.toString());
    if (m.topic === topics.wallets) wallets.set(m.key!.toString(), value.balance);
    else if (m.topic === topics.stock) stock.set(m.key!.toString(), value.available);
    else if (m.topic === topics.orders) {
      const o = value as OrderPlaced;
      if (!payments.has(o.orderId)) {
        const balance = wallets.get(o.customerId) ?? 0;
        const charged = balance >= o.amount;
        if (charged) wallets.set(o.customerId, balance - o.amount);
        payments.set(o.orderId, { state: charged ? 'CHARGED' : 'DECLINED', order: o });
        payment(charged ? 'PaymentCharged' : 'PaymentDeclined', o);
      }
      const e = inventoryOf(o.orderId);
      e.order ??= o;
      tryReserve(e);
      fold(o.orderId, () => {});
    } else if (m.topic === topics.payments) {
      const p = value as PaymentEvent;
      const e = inventoryOf(p.orderId);
      if (p.type === 'PaymentCharged') {
        e.charged = true;
        tryReserve(e);
      } else if (p.type === 'PaymentRefunded' && !e.refunded) {
        e.refunded = true;
        if (e.answer === 'RESERVED' && e.order)
          stock.set(e.order.sku, (stock.get(e.order.sku) ?? 0) + e.order.quantity);
      }
      fold(p.orderId, (s) => {
        if (p.type === 'PaymentCharged') s.payment ??= 'CHARGED';
        else if (p.type === 'PaymentDeclined') s.payment ??= 'DECLINED';
        else s.refunded = true;
      });
    } else if (m.topic === topics.inventory) {
      const i = value as InventoryEvent;
      const p = payments.get(i.orderId);
      if (i.type === 'StockRejected' && p?.state === 'CHARGED') {
        p.state = 'REFUNDED';
        wallets.set(p.order.customerId, (wallets.get(p.order.customerId) ?? 0) + p.order.amount);
        payment('PaymentRefunded', p.order);
      }
      fold(i.orderId, (s) => {
        s.stock ??= i.type === 'StockReserved' ? 'RESERVED' : 'REJECTED';
      });
    }
  };

  let wake: (() => void) | undefined;
  stream.on('readable', () => wake?.());
  let stopping = false;
  let uncommitted = new Map<string, Message>();
  let lastCommit = performance.now();
  const commit = async () => {
    const last = [...uncommitted.values()];
    uncommitted = new Map();
    await Promise.all(last.map((m) => m.commit()));
  };
  const settings = new Set([topics.wallets, topics.stock]);
  const loop = (async () => {
    while (!stopping) {
      const batch = await nextBatch(
        stream,
        Math.max(0, lastCommit + run.commitIntervalMs - performance.now()),
        (w) => {
          wake = w;
        },
      );
      wake = undefined;
      // Settings first: a wallet fetched in the same batch as its customer's orders applies to them.
      for (const m of batch) if (settings.has(m.topic)) handle(m);
      for (const m of batch) {
        if (!settings.has(m.topic)) handle(m);
        uncommitted.set(`${m.topic}:${m.partition}`, m);
      }
      const messages = out;
      out = [];
      for (let i = 0; i < messages.length; i += SEND_CHUNK)
        await producer.send({ messages: messages.slice(i, i + SEND_CHUNK) });
      if (performance.now() - lastCommit >= run.commitIntervalMs) {
        await commit();
        lastCommit = performance.now();
      }
    }
    await commit();
  })();

  return {
    async close() {
      stopping = true;
      wake?.();
      try {
        await loop;
      } finally {
        await stream.close();
        await Promise.allSettled([consumer.close(), producer.close()]);
      }
    },
  };
};
