/**
 * The order service: the saga's state per order, folded from the events of all three services,
 * and the order status table it publishes. It owns the saga's decisions: when an order is
 * approved, rejected or cancelled, and when a silent step has taken too long (a wall-clock
 * punctuator cancels it; the payment service refunds on that cancellation).
 *
 * The state of an order is the set of facts seen about it (placed, charged or declined,
 * refunded, reserved or rejected); the status is a function of those facts, and a terminal
 * status never changes. So an event seen twice adds nothing, and events in any order reach the
 * same status: a StockRejected before its PaymentCharged waits for the refund like any other.
 */
import {
  Headers,
  type KeyValueStore,
  type Processor,
  type ProcessorContext,
  PunctuationType,
  Serdes,
  Stores,
  type StreamRecord,
  StreamsBuilder,
  type Topology,
} from '@kafka-pattern/streams-core';
import {
  type InventoryEvent,
  invalidOrder,
  type OrderPlaced,
  type OrderState,
  type OrderStatus,
  type PaymentEvent,
  SagaSerdes,
  type SagaTopics,
  TERMINAL_STATES,
} from './events.ts';

/** What the order service knows of one order. */
export interface OrderSagaState {
  orderId: string;
  status: OrderState;
  reason?: string;
  order?: Omit<OrderPlaced, 'type' | 'orderId'>;
  payment?: 'CHARGED' | 'DECLINED';
  refunded?: boolean;
  stock?: 'RESERVED' | 'REJECTED';
  /** Wall clock (ms) when the saga first heard of the order. */
  startedAt: number;
  /** Wall clock (ms) after which a still-pending order is cancelled. */
  deadline: number;
}

export type SagaFact =
  | { kind: 'placed'; order: OrderPlaced }
  | { kind: 'payment'; event: PaymentEvent }
  | { kind: 'inventory'; event: InventoryEvent };

export interface OrderServiceOptions {
  topics: SagaTopics;
  timeoutMs: number;
  punctuateIntervalMs: number;
  /** Store of the saga state per order (queryable; changelog `<applicationId>-<name>-changelog`). */
  storeName: string;
}

export const ORDER_SAGA_STORE = 'order-sagas';
export const ORDER_DEADLINE_STORE = 'order-saga-deadlines';

/** Adds one fact to an order's state (facts are sets: adding one twice changes nothing). */
export function applyFact(state: OrderSagaState, fact: SagaFact): OrderSagaState {
  const next = { ...state };
  switch (fact.kind) {
    case 'placed': {
      if (next.order === undefined) {
        const { customerId, sku, quantity, amount } = fact.order;
        next.order = { customerId, sku, quantity, amount };
      }
      break;
    }
    case 'payment': {
      const t = fact.event.type;
      if (t === 'PaymentRefunded') next.refunded = true;
      else if (next.payment === undefined) next.payment = t === 'PaymentCharged' ? 'CHARGED' : 'DECLINED';
      break;
    }
    case 'inventory': {
      if (next.stock === undefined)
        next.stock = fact.event.type === 'StockReserved' ? 'RESERVED' : 'REJECTED';
      break;
    }
  }
  return decide(next);
}

/**
 * The status the facts call for. A terminal status stays; otherwise: an invalid order or a
 * declined payment rejects; a refund cancels (the payment is back, whatever caused it); a charge
 * and a reservation approve; anything else is still pending.
 */
export function decide(state: OrderSagaState): OrderSagaState {
  if (TERMINAL_STATES.has(state.status)) return state;
  const invalid = state.order
    ? invalidOrder({ type: 'OrderPlaced', orderId: state.orderId, ...state.order })
    : undefined;
  if (invalid !== undefined) return { ...state, status: 'REJECTED', reason: `invalid order: ${invalid}` };
  if (state.payment === 'DECLINED') return { ...state, status: 'REJECTED', reason: 'payment declined' };
  if (state.refunded)
    return {
      ...state,
      status: 'CANCELLED',
      reason: state.stock === 'REJECTED' ? 'out of stock, payment refunded' : 'payment refunded',
    };
  if (state.payment === 'CHARGED' && state.stock === 'RESERVED') {
    const { reason: _, ...rest } = state;
    return { ...rest, status: 'APPROVED' };
  }
  return state;
}

/** The status row the table holds for a state. */
export function statusOf(state: OrderSagaState): OrderStatus {
  return state.reason === undefined
    ? { orderId: state.orderId, status: state.status }
    : { orderId: state.orderId, status: state.status, reason: state.reason };
}

/** Which step an order still waits for, for the timeout's reason. */
function awaitedStep(state: OrderSagaState): string {
  if (state.payment === undefined) return 'payment';
  if (state.stock === undefined) return 'inventory';
  return 'refund';
}

function orderSagaProcessor(
  options: OrderServiceOptions,
): () => Processor<string, SagaFact, string, OrderStatus> {
  return () => {
    let ctx: ProcessorContext<string, OrderStatus>;
    let sagas: KeyValueStore<string, OrderSagaState>;
    let deadlines: KeyValueStore<string, number>;

    const publish = (
      state: OrderSagaState,
      timestamp: number,
      headers?: StreamRecord<string, unknown>['headers'],
    ) => {
      ctx.forward({
        key: state.orderId,
        value: statusOf(state),
        timestamp,
        headers: headers ?? new Headers(),
      });
    };

    const expire = (now: number) => {
      for (const { key: orderId, value: deadline } of deadlines.all()) {
        if (deadline > now) continue;
        const state = sagas.get(orderId);
        deadlines.delete(orderId);
        if (!state || TERMINAL_STATES.has(state.status)) continue;
        const cancelled: OrderSagaState = {
          ...state,
          status: 'CANCELLED',
          reason: `timeout: no ${awaitedStep(state)} answer within ${options.timeoutMs} ms`,
        };
        sagas.put(orderId, cancelled);
        publish(cancelled, now);
      }
    };

    return {
      init(context) {
        ctx = context;
        sagas = context.getStateStore(options.storeName);
        deadlines = context.getStateStore(ORDER_DEADLINE_STORE);
        context.schedule(options.punctuateIntervalMs, PunctuationType.WALL_CLOCK_TIME, expire);
      },
      process(record) {
        const orderId = record.key;
        if (typeof orderId !== 'string' || orderId === '') return;
        const now = ctx.currentSystemTimeMs();
        const before = sagas.get(orderId);
        const start: OrderSagaState = before ?? {
          orderId,
          status: 'PENDING',
          startedAt: now,
          deadline: now + options.timeoutMs,
        };
        const after = applyFact(start, record.value);
        if (before !== undefined && JSON.stringify(before) === JSON.stringify(after)) return;
        sagas.put(orderId, after);
        if (TERMINAL_STATES.has(after.status)) deadlines.delete(orderId);
        else if (before === undefined) deadlines.put(orderId, after.deadline);
        if (before === undefined || before.status !== after.status || before.reason !== after.reason)
          publish(after, record.timestamp, record.headers);
      },
    };
  };
}

export function orderService(options: OrderServiceOptions): Topology {
  const { topics } = options;
  const builder = new StreamsBuilder();
  builder.addStateStore(
    Stores.keyValueStoreBuilder(
      Stores.persistentKeyValueStore(options.storeName),
      SagaSerdes.key,
      Serdes.JSON<OrderSagaState>(),
    ),
  );
  builder.addStateStore(
    Stores.keyValueStoreBuilder(
      Stores.persistentKeyValueStore(ORDER_DEADLINE_STORE),
      SagaSerdes.key,
      Serdes.JSON<number>(),
    ),
  );
  for (const t of [topics.payments, topics.inventory, topics.orderStatus])
    builder.addTopic(t, { partitionsOf: topics.orders });

  const placed = builder
    .stream(topics.orders, { key: SagaSerdes.key, value: SagaSerdes.order, name: 'order-service-orders' })
    .filter((_k, v) => v?.type === 'OrderPlaced')
    .mapValues((order): SagaFact => ({ kind: 'placed', order }));
  const payments = builder
    .stream(topics.payments, {
      key: SagaSerdes.key,
      value: SagaSerdes.payment,
      name: 'order-service-payments',
    })
    .filter((_k, v) => v !== null && typeof v === 'object')
    .mapValues((event): SagaFact => ({ kind: 'payment', event }));
  const inventory = builder
    .stream(topics.inventory, {
      key: SagaSerdes.key,
      value: SagaSerdes.inventory,
      name: 'order-service-inventory',
    })
    .filter((_k, v) => v !== null && typeof v === 'object')
    .mapValues((event): SagaFact => ({ kind: 'inventory', event }));

  placed
    .merge(payments, { name: 'order-service-facts' })
    .merge(inventory, { name: 'order-service-all-facts' })
    .process(orderSagaProcessor(options), { name: 'order-saga' }, options.storeName, ORDER_DEADLINE_STORE)
    .to(topics.orderStatus, { key: SagaSerdes.key, value: SagaSerdes.status, name: 'order-status-sink' });
  return builder.build();
}
