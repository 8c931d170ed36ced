/**
 * The saga's records: the six topics, the events on them (JSON, keyed by orderId unless said
 * otherwise) and their serdes. Every service reads and writes exactly these shapes, so a
 * producer or reader outside the saga needs nothing else.
 */
import { type Serde, Serdes } from '@kafka-pattern/streams-core';

/** A customer placed an order. Key: orderId. */
export interface OrderPlaced {
  type: 'OrderPlaced';
  orderId: string;
  customerId: string;
  sku: string;
  quantity: number;
  amount: number;
}

/** Sets a customer's balance (not a delta). Key: customerId. */
export interface WalletSetting {
  balance: number;
}

/** Sets the units of a SKU available to reserve (not a delta). Key: sku. */
export interface StockSetting {
  available: number;
}

export type PaymentEventType = 'PaymentCharged' | 'PaymentDeclined' | 'PaymentRefunded';

/** What the payment service did for an order. Key: orderId. */
export interface PaymentEvent {
  type: PaymentEventType;
  orderId: string;
  customerId: string;
  amount: number;
}

export type InventoryEventType = 'StockReserved' | 'StockRejected';

/** What the inventory service did for an order. Key: orderId. */
export interface InventoryEvent {
  type: InventoryEventType;
  orderId: string;
  sku: string;
  quantity: number;
}

export type OrderState = 'PENDING' | 'APPROVED' | 'REJECTED' | 'CANCELLED';
export const TERMINAL_STATES: ReadonlySet<OrderState> = new Set(['APPROVED', 'REJECTED', 'CANCELLED']);

/** The order status table (one row per order, its latest state). Key: orderId. */
export interface OrderStatus {
  orderId: string;
  status: OrderState;
  reason?: string;
}

/** Topic names, `<prefix><field>` by default ('shop.orders', 'shop.orderStatus', ...). */
export interface SagaTopics {
  orders: string;
  payments: string;
  inventory: string;
  wallets: string;
  stock: string;
  orderStatus: string;
}

export function sagaTopics(prefix = '', overrides: Partial<SagaTopics> = {}): SagaTopics {
  return {
    orders: `${prefix}orders`,
    payments: `${prefix}payments`,
    inventory: `${prefix}inventory`,
    wallets: `${prefix}wallets`,
    stock: `${prefix}stock`,
    orderStatus: `${prefix}orderStatus`,
    ...overrides,
  };
}

/** Serdes of the saga's records: keys are UTF-8 strings, values JSON. */
export const SagaSerdes = {
  key: Serdes.String() as Serde<string>,
  order: Serdes.JSON<OrderPlaced>(),
  wallet: Serdes.JSON<WalletSetting>(),
  stock: Serdes.JSON<StockSetting>(),
  payment: Serdes.JSON<PaymentEvent>(),
  inventory: Serdes.JSON<InventoryEvent>(),
  status: Serdes.JSON<OrderStatus>(),
};

/**
 * Why an OrderPlaced cannot be carried out, or undefined when it can. Every service applies the
 * same rule: the order service rejects such an order, the payment service declines it, the
 * inventory service rejects its stock.
 */
export function invalidOrder(order: OrderPlaced): string | undefined {
  if (typeof order.customerId !== 'string' || order.customerId === '') return 'no customerId';
  if (typeof order.sku !== 'string' || order.sku === '') return 'no sku';
  if (!Number.isInteger(order.quantity) || order.quantity < 1)
    return `quantity must be a whole number of at least 1, got ${String(order.quantity)}`;
  if (typeof order.amount !== 'number' || !Number.isFinite(order.amount) || order.amount < 0)
    return `amount must be a number of at least 0, got ${String(order.amount)}`;
  return undefined;
}

/** A setting (balance, available) must be a finite number: anything else is a bad record. */
export function settingOf(value: unknown, field: 'balance' | 'available', key: string): number {
  const n = (value as Record<string, unknown> | null)?.[field];
  if (typeof n !== 'number' || !Number.isFinite(n))
    throw new TypeError(
      `The ${field === 'balance' ? 'wallet' : 'stock'} setting for "${key}" has no numeric "${field}" (got ${JSON.stringify(value)}): send { "${field}": <number> }`,
    );
  return n;
}
