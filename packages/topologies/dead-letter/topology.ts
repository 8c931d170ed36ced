/**
 * Dead letters: orders arrive as JSON and are validated; an order whose bytes cannot be decoded,
 * or whose value fails validation, is moved aside to the dead-letter topic (`<orders>-dlt` by
 * default) with its raw bytes and the reason in its headers, and the partition keeps flowing.
 *
 * The topology holds no error handling of its own: the deserializer and the validation throw,
 * and the engine's exception handlers (dead letter by default, for both kinds of failure) do the
 * rest. That is the point of the pattern: every topology gets it, and this one shows it.
 */
import { Serdes, StreamsBuilder, type Topology } from '@kafka-pattern/streams-core';

/** An order as the shop publishes it, keyed by order id. */
export interface Order {
  orderId: string;
  customerId: string;
  /** In the currency's major unit (euros, dollars). */
  amount: number;
  currency: string;
}

/** A value that is well-formed JSON but not an order this application accepts. */
export class InvalidOrderError extends Error {
  /** The field that failed, for filters and dashboards. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    // The class name is what the dead letter's exception header carries.
    this.name = 'InvalidOrderError';
    this.field = field;
  }
}

export const DEFAULT_CURRENCIES: readonly string[] = ['EUR', 'USD'];

/** Checks that `value` is an order in one of `currencies`; throws an InvalidOrderError saying why not. */
export function validateOrder(value: unknown, currencies: readonly string[] = DEFAULT_CURRENCIES): Order {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOrderError(
      'order',
      `an order is a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
    );
  }
  const o = value as Record<string, unknown>;
  if (typeof o.orderId !== 'string' || o.orderId === '')
    throw new InvalidOrderError('orderId', `orderId must be a non-empty string, got ${shown(o.orderId)}`);
  const id = o.orderId;
  if (typeof o.customerId !== 'string' || o.customerId === '')
    throw new InvalidOrderError(
      'customerId',
      `order ${id}: customerId must be a non-empty string, got ${shown(o.customerId)}`,
    );
  if (typeof o.amount !== 'number' || !Number.isFinite(o.amount) || o.amount <= 0)
    throw new InvalidOrderError(
      'amount',
      `order ${id}: amount must be a positive number, got ${shown(o.amount)}`,
    );
  if (typeof o.currency !== 'string' || !currencies.includes(o.currency))
    throw new InvalidOrderError(
      'currency',
      `order ${id}: currency ${shown(o.currency)} is not accepted (accepted: ${currencies.join(', ')})`,
    );
  return { orderId: id, customerId: o.customerId, amount: o.amount, currency: o.currency };
}

function shown(v: unknown): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}

export interface ValidatedOrdersOptions {
  /** Input topic: key = order id, value = an order as JSON. */
  orders: string;
  /** Output topic: the orders that passed validation, as JSON, keyed by order id. */
  validOrders: string;
  /** Currencies accepted; default EUR and USD. */
  currencies?: readonly string[];
}

export function validatedOrders(options: ValidatedOrdersOptions): Topology {
  const currencies = options.currencies ?? DEFAULT_CURRENCIES;
  const builder = new StreamsBuilder();
  builder
    // Bytes that are not JSON fail here, in the deserializer: a deserialization error.
    .stream(options.orders, { key: Serdes.String(), value: Serdes.JSON<unknown>() })
    // A value that is JSON but not a valid order fails here: a processing error.
    .mapValues((value) => validateOrder(value, currencies))
    .to(options.validOrders, { key: Serdes.String(), value: Serdes.JSON<Order>() });
  return builder.build();
}
