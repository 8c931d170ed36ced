/**
 * Saga: an order goes order -> payment -> inventory by choreography, each service a topology of
 * its own, run as its own application. Payment keeps wallet balances (orders repartitioned by
 * customer), inventory keeps stock levels (charged orders repartitioned by SKU), and the order
 * service folds the services' events into each order's state and the order status table. A
 * rejected reservation is compensated by a refund (CANCELLED), a declined payment ends REJECTED,
 * and an order whose step never answers is cancelled by a wall-clock punctuator.
 *
 * ```ts
 * const saga = orderSaga({ prefix: 'shop.' });
 * new KafkaStreams(saga.orderService, { applicationId: 'shop-orders', ... });
 * new KafkaStreams(saga.paymentService, { applicationId: 'shop-payments', ... });
 * new KafkaStreams(saga.inventoryService, { applicationId: 'shop-inventory', ... });
 * ```
 */
import type { Topology } from '@kafka-pattern/streams-core';
import { type SagaTopics, sagaTopics } from './events.ts';
import { inventoryService } from './inventory-service.ts';
import { ORDER_SAGA_STORE, orderService } from './order-service.ts';
import { paymentService } from './payment-service.ts';

export * from './events.ts';
export {
  INVENTORY_ORDERS_STORE,
  RESERVATIONS_STORE,
  type Reservation,
  STOCK_STORE,
} from './inventory-service.ts';
export {
  applyFact,
  decide,
  ORDER_DEADLINE_STORE,
  ORDER_SAGA_STORE,
  type OrderSagaState,
  type SagaFact,
  statusOf,
} from './order-service.ts';
export {
  ORDER_PAYMENTS_STORE,
  type OrderPayment,
  PAYMENT_ORDERS_STORE,
  WALLETS_STORE,
} from './payment-service.ts';

export interface OrderSagaOptions {
  /** Prefix of every topic name: `{ prefix: 'shop.' }` gives 'shop.orders', 'shop.orderStatus', ... Default ''. */
  prefix?: string;
  /** Names of single topics, over the prefixed defaults. */
  topics?: Partial<SagaTopics>;
  /**
   * How long an order may stay PENDING, in wall-clock ms from when the order service first hears
   * of it; then it is CANCELLED and a charged payment is refunded. Default 30 000 ms.
   */
  timeoutMs?: number;
  /** How often the order service looks for orders past their timeout; default 1000 ms. */
  punctuateIntervalMs?: number;
  /** The order service's saga store (queryable): default 'order-sagas'. */
  storeName?: string;
}

export interface OrderSaga {
  orderService: Topology;
  paymentService: Topology;
  inventoryService: Topology;
  topics: SagaTopics;
  /** The options in effect, defaults filled in. */
  timeoutMs: number;
  punctuateIntervalMs: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_PUNCTUATE_INTERVAL_MS = 1_000;

export function orderSaga(options: OrderSagaOptions = {}): OrderSaga {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const punctuateIntervalMs =
    options.punctuateIntervalMs ?? Math.min(DEFAULT_PUNCTUATE_INTERVAL_MS, timeoutMs);
  for (const [name, ms] of [
    ['timeoutMs', timeoutMs],
    ['punctuateIntervalMs', punctuateIntervalMs],
  ] as const) {
    if (!Number.isInteger(ms) || ms < 1)
      throw new RangeError(
        `orderSaga: ${name} must be a whole number of milliseconds of at least 1, got ${ms}`,
      );
  }
  const topics = sagaTopics(options.prefix ?? '', options.topics);
  const names = Object.values(topics);
  if (new Set(names).size !== names.length)
    throw new RangeError(
      `orderSaga: the saga's six topics must have six different names, got ${names.join(', ')}`,
    );
  return {
    orderService: orderService({
      topics,
      timeoutMs,
      punctuateIntervalMs,
      storeName: options.storeName ?? ORDER_SAGA_STORE,
    }),
    paymentService: paymentService({ topics }),
    inventoryService: inventoryService({ topics }),
    topics,
    timeoutMs,
    punctuateIntervalMs,
  };
}
