/**
 * The inventory service: reserves an order's units once its payment is charged (order ->
 * payment -> inventory), rejects the order when the stock is short, and puts the units back
 * when a reserved order's payment is refunded (the order was cancelled on a timeout).
 *
 * Two sub-topologies. By order (orders and payments, keyed by orderId): whether an order is
 * both placed and charged, so that it is asked to be reserved once, and released only if it was
 * asked. By SKU (the stock topic and the requests, repartitioned by sku): the stock levels and
 * what was done for each order. Requests for one SKU run one at a time against one level, so two
 * orders racing for the last unit get one StockReserved and one StockRejected, and no level is
 * ever taken below zero.
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
  type PaymentEvent,
  SagaSerdes,
  type SagaTopics,
  type StockSetting,
  settingOf,
} from './events.ts';

/** What the service knows of one order (the by-order side). */
export interface InventoryOrderState {
  order?: OrderPlaced;
  charged?: boolean;
  refunded?: boolean;
  reserveRequested?: boolean;
  releaseRequested?: boolean;
}

/** What was done for one order (the by-SKU side). */
export interface Reservation {
  state: 'RESERVED' | 'REJECTED' | 'RELEASED' | 'VOID';
  sku: string;
  quantity: number;
}

export type StockRequest =
  | { kind: 'reserve'; order: OrderPlaced }
  | { kind: 'release'; orderId: string; sku: string; quantity: number };

type StockInput = { kind: 'stock'; setting: StockSetting | null } | StockRequest;
type ByOrderInput = { kind: 'placed'; order: OrderPlaced } | { kind: 'payment'; event: PaymentEvent };

export const INVENTORY_ORDERS_STORE = 'inventory-orders';
export const STOCK_STORE = 'stock-levels';
export const RESERVATIONS_STORE = 'stock-reservations';

export interface InventoryServiceOptions {
  topics: SagaTopics;
}

function byOrder(): Processor<string, ByOrderInput, string, StockRequest> {
  let ctx: ProcessorContext<string, StockRequest>;
  let store: KeyValueStore<string, InventoryOrderState>;
  return {
    init(context) {
      ctx = context;
      store = context.getStateStore(INVENTORY_ORDERS_STORE);
    },
    process(record) {
      const orderId = record.key;
      const input = record.value;
      const before = store.get(orderId) ?? {};
      const state = { ...before };
      if (input.kind === 'placed') state.order ??= input.order;
      else if (input.event.type === 'PaymentCharged') state.charged = true;
      else if (input.event.type === 'PaymentRefunded') state.refunded = true;
      const { order } = state;
      // Reserve only what is paid for and not refunded; a refund before the reservation voids it.
      if (
        order &&
        typeof order.sku === 'string' &&
        state.charged &&
        !state.refunded &&
        !state.reserveRequested
      ) {
        state.reserveRequested = true;
        ctx.forward({ ...record, key: order.sku, value: { kind: 'reserve', order } });
      }
      if (order && state.refunded && state.reserveRequested && !state.releaseRequested) {
        state.releaseRequested = true;
        ctx.forward({
          ...record,
          key: order.sku,
          value: { kind: 'release', orderId, sku: order.sku, quantity: order.quantity },
        });
      }
      if (JSON.stringify(state) !== JSON.stringify(before)) store.put(orderId, state);
    },
  };
}

function bySku(): Processor<string, StockInput, string, InventoryEvent> {
  let ctx: ProcessorContext<string, InventoryEvent>;
  let levels: KeyValueStore<string, StockSetting>;
  let reservations: KeyValueStore<string, Reservation>;
  return {
    init(context) {
      ctx = context;
      levels = context.getStateStore(STOCK_STORE);
      reservations = context.getStateStore(RESERVATIONS_STORE);
    },
    process(record) {
      const sku = record.key;
      const input = record.value;
      if (input.kind === 'stock') {
        if (input.setting === null) levels.delete(sku);
        else levels.put(sku, { available: settingOf(input.setting, 'available', sku) });
        return;
      }
      if (input.kind === 'reserve') {
        const { orderId, quantity } = input.order;
        if (reservations.get(orderId) !== undefined) return; // reserved, rejected or voided already
        const available = levels.get(sku)?.available ?? 0;
        const emit = (type: InventoryEvent['type']) =>
          ctx.forward({ ...record, key: orderId, value: { type, orderId, sku, quantity } });
        if (invalidOrder(input.order) === undefined && available >= quantity) {
          levels.put(sku, { available: available - quantity });
          reservations.put(orderId, { state: 'RESERVED', sku, quantity });
          emit('StockReserved');
        } else {
          reservations.put(orderId, { state: 'REJECTED', sku, quantity });
          emit('StockRejected');
        }
        return;
      }
      const done = reservations.get(input.orderId);
      if (done === undefined) {
        reservations.put(input.orderId, { state: 'VOID', sku, quantity: input.quantity });
        return;
      }
      if (done.state !== 'RESERVED') return;
      levels.put(sku, { available: (levels.get(sku)?.available ?? 0) + done.quantity });
      reservations.put(input.orderId, { ...done, state: 'RELEASED' });
    },
  };
}

export function inventoryService(options: InventoryServiceOptions): Topology {
  const { topics } = options;
  const builder = new StreamsBuilder();
  const json = <T>() => Serdes.JSON<T>() as Serde<T>;
  builder
    .addStateStore(
      Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(INVENTORY_ORDERS_STORE),
        SagaSerdes.key,
        json<InventoryOrderState>(),
      ),
    )
    .addStateStore(
      Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(STOCK_STORE),
        SagaSerdes.key,
        SagaSerdes.stock,
      ),
    )
    .addStateStore(
      Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(RESERVATIONS_STORE),
        SagaSerdes.key,
        json<Reservation>(),
      ),
    );
  for (const t of [topics.payments, topics.inventory, topics.stock])
    builder.addTopic(t, { partitionsOf: topics.orders });

  const placed = builder
    .stream(topics.orders, { key: SagaSerdes.key, value: SagaSerdes.order, name: 'inventory-service-orders' })
    .filter((_k, v) => v?.type === 'OrderPlaced')
    .mapValues((order): ByOrderInput => ({ kind: 'placed', order }));
  const payments = builder
    .stream(topics.payments, {
      key: SagaSerdes.key,
      value: SagaSerdes.payment,
      name: 'inventory-service-payments',
    })
    .filter((_k, v) => v?.type === 'PaymentCharged' || v?.type === 'PaymentRefunded')
    .mapValues((event): ByOrderInput => ({ kind: 'payment', event }));

  const requests = placed
    .merge(payments, { name: 'inventory-service-by-order' })
    .process(byOrder, { name: 'stock-requests' }, INVENTORY_ORDERS_STORE)
    .repartition({ name: 'stock-requests', key: SagaSerdes.key, value: json<StockRequest>() })
    .mapValues((r): StockInput => r);
  builder
    .stream(topics.stock, { key: SagaSerdes.key, value: SagaSerdes.stock, name: 'inventory-service-stock' })
    .mapValues((setting): StockInput => ({ kind: 'stock', setting }))
    .merge(requests, { name: 'inventory-service-by-sku' })
    .process(bySku, { name: 'stock-reservations' }, STOCK_STORE, RESERVATIONS_STORE)
    .to(topics.inventory, { key: SagaSerdes.key, value: SagaSerdes.inventory, name: 'inventory-sink' });
  return builder.build();
}
