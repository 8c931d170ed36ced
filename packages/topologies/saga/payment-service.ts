/**
 * The payment service: charges an order's amount from its customer's wallet, declines it when
 * the balance is short, and refunds it when the saga cannot complete (stock rejected, or the
 * order service cancelled the order on a timeout).
 *
 * Two sub-topologies. By order (orders, inventory and order status, all keyed by orderId): what
 * the service was asked for each order, so that a duplicate asks nothing twice and a refund knows
 * whose wallet to credit. By customer (the wallets topic and the requests, repartitioned by
 * customerId): the balances and what was done for each order, so that the charges of one
 * customer run one at a time against one balance, each order charged at most once and refunded
 * at most once, and only after it was charged.
 */
import {
  type KeyValueStore,
  type Processor,
  type ProcessorContext,
  type Serde,
  Serdes,
  Stores,
  StreamsBuilder,
  type Topology,
} from '@kafka-pattern/streams-core';
import {
  type InventoryEvent,
  invalidOrder,
  type OrderPlaced,
  type OrderStatus,
  type PaymentEvent,
  SagaSerdes,
  type SagaTopics,
  settingOf,
  type WalletSetting,
} from './events.ts';

/** What the service was asked for one order (the by-order side). */
export interface PaymentOrderState {
  order?: OrderPlaced;
  /** A refund was called for: stock rejected or the order cancelled. */
  compensate?: boolean;
  chargeRequested?: boolean;
  refundRequested?: boolean;
}

/** What was done for one order (the by-customer side). */
export interface OrderPayment {
  state: 'CHARGED' | 'DECLINED' | 'REFUNDED' | 'VOID';
  customerId: string;
  amount: number;
}

/** A request from the by-order side to the by-customer side, keyed by customerId. */
export type PaymentRequest =
  | { kind: 'charge'; order: OrderPlaced }
  | { kind: 'refund'; orderId: string; customerId: string; amount: number };

type WalletInput = { kind: 'wallet'; setting: WalletSetting | null } | PaymentRequest;

type ByOrderInput =
  | { kind: 'placed'; order: OrderPlaced }
  | { kind: 'stock'; event: InventoryEvent }
  | { kind: 'status'; status: OrderStatus };

export const PAYMENT_ORDERS_STORE = 'payment-orders';
export const WALLETS_STORE = 'wallet-balances';
export const ORDER_PAYMENTS_STORE = 'order-payments';

export interface PaymentServiceOptions {
  topics: SagaTopics;
}

function byOrder(): Processor<string, ByOrderInput, string, PaymentRequest> {
  let ctx: ProcessorContext<string, PaymentRequest>;
  let store: KeyValueStore<string, PaymentOrderState>;
  return {
    init(context) {
      ctx = context;
      store = context.getStateStore(PAYMENT_ORDERS_STORE);
    },
    process(record) {
      const orderId = record.key;
      const input = record.value;
      const state = store.get(orderId) ?? {};
      const send = (request: PaymentRequest, customerId: string) =>
        ctx.forward({ ...record, key: customerId, value: request });
      if (input.kind === 'placed') {
        if (state.order !== undefined) return; // a duplicate OrderPlaced: asked once already
        state.order = input.order;
        // Cancelled before it was placed here: it was never charged, and never will be.
        if (!state.compensate && typeof input.order.customerId === 'string') {
          state.chargeRequested = true;
          send({ kind: 'charge', order: input.order }, input.order.customerId);
        }
      } else {
        const wantsRefund =
          input.kind === 'stock' ? input.event.type === 'StockRejected' : input.status.status === 'CANCELLED';
        if (!wantsRefund || state.compensate) return;
        state.compensate = true;
        if (state.chargeRequested && state.order && !state.refundRequested) {
          state.refundRequested = true;
          const { customerId, amount } = state.order;
          send({ kind: 'refund', orderId, customerId, amount }, customerId);
        }
      }
      store.put(orderId, state);
    },
  };
}

function byCustomer(): Processor<string, WalletInput, string, PaymentEvent> {
  let ctx: ProcessorContext<string, PaymentEvent>;
  let wallets: KeyValueStore<string, WalletSetting>;
  let payments: KeyValueStore<string, OrderPayment>;
  return {
    init(context) {
      ctx = context;
      wallets = context.getStateStore(WALLETS_STORE);
      payments = context.getStateStore(ORDER_PAYMENTS_STORE);
    },
    process(record) {
      const customerId = record.key;
      const input = record.value;
      const emit = (event: PaymentEvent) => ctx.forward({ ...record, key: event.orderId, value: event });
      if (input.kind === 'wallet') {
        // A tombstone forgets the wallet: the customer has nothing to pay with.
        if (input.setting === null) wallets.delete(customerId);
        else wallets.put(customerId, { balance: settingOf(input.setting, 'balance', customerId) });
        return;
      }
      if (input.kind === 'charge') {
        const { orderId, amount } = input.order;
        if (payments.get(orderId) !== undefined) return; // charged, declined or voided already
        const balance = wallets.get(customerId)?.balance ?? 0;
        if (invalidOrder(input.order) === undefined && balance >= amount) {
          wallets.put(customerId, { balance: balance - amount });
          payments.put(orderId, { state: 'CHARGED', customerId, amount });
          emit({ type: 'PaymentCharged', orderId, customerId, amount });
        } else {
          payments.put(orderId, { state: 'DECLINED', customerId, amount });
          emit({ type: 'PaymentDeclined', orderId, customerId, amount });
        }
        return;
      }
      const done = payments.get(input.orderId);
      if (done === undefined) {
        // A refund before its charge: the charge, if it ever comes, is void.
        payments.put(input.orderId, { state: 'VOID', customerId, amount: input.amount });
        return;
      }
      if (done.state !== 'CHARGED') return; // declined, void, or refunded already
      const balance = wallets.get(customerId)?.balance ?? 0;
      wallets.put(customerId, { balance: balance + done.amount });
      payments.put(input.orderId, { ...done, state: 'REFUNDED' });
      emit({ type: 'PaymentRefunded', orderId: input.orderId, customerId, amount: done.amount });
    },
  };
}

export function paymentService(options: PaymentServiceOptions): Topology {
  const { topics } = options;
  const builder = new StreamsBuilder();
  const json = <T>() => Serdes.JSON<T>() as Serde<T>;
  builder
    .addStateStore(
      Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(PAYMENT_ORDERS_STORE),
        SagaSerdes.key,
        json<PaymentOrderState>(),
      ),
    )
    .addStateStore(
      Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(WALLETS_STORE),
        SagaSerdes.key,
        SagaSerdes.wallet,
      ),
    )
    .addStateStore(
      Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(ORDER_PAYMENTS_STORE),
        SagaSerdes.key,
        json<OrderPayment>(),
      ),
    );
  for (const t of [topics.payments, topics.inventory, topics.orderStatus, topics.wallets])
    builder.addTopic(t, { partitionsOf: topics.orders });

  const placed = builder
    .stream(topics.orders, { key: SagaSerdes.key, value: SagaSerdes.order, name: 'payment-service-orders' })
    .filter((_k, v) => v?.type === 'OrderPlaced')
    .mapValues((order): ByOrderInput => ({ kind: 'placed', order }));
  const stock = builder
    .stream(topics.inventory, {
      key: SagaSerdes.key,
      value: SagaSerdes.inventory,
      name: 'payment-service-inventory',
    })
    .filter((_k, v) => v?.type === 'StockRejected')
    .mapValues((event): ByOrderInput => ({ kind: 'stock', event }));
  const cancelled = builder
    .stream(topics.orderStatus, {
      key: SagaSerdes.key,
      value: SagaSerdes.status,
      name: 'payment-service-order-status',
    })
    .filter((_k, v) => v?.status === 'CANCELLED')
    .mapValues((status): ByOrderInput => ({ kind: 'status', status }));

  const requests = placed
    .merge(stock, { name: 'payment-service-by-order-inputs' })
    .merge(cancelled, { name: 'payment-service-by-order-all' })
    .process(byOrder, { name: 'payment-requests' }, PAYMENT_ORDERS_STORE)
    .repartition({ name: 'payment-requests', key: SagaSerdes.key, value: json<PaymentRequest>() })
    .mapValues((r): WalletInput => r);
  builder
    .stream(topics.wallets, {
      key: SagaSerdes.key,
      value: SagaSerdes.wallet,
      name: 'payment-service-wallets',
    })
    .mapValues((setting): WalletInput => ({ kind: 'wallet', setting }))
    .merge(requests, { name: 'payment-service-by-customer' })
    .process(byCustomer, { name: 'payment-wallets' }, WALLETS_STORE, ORDER_PAYMENTS_STORE)
    .to(topics.payments, { key: SagaSerdes.key, value: SagaSerdes.payment, name: 'payments-sink' });
  return builder.build();
}
