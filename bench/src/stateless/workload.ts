/**
 * The stateless scenario's data and logic, shared by the framework pipe and its baselines so
 * they do exactly the same work per record: parse a JSON order line, price it, drop the small
 * ones, write the enriched JSON back.
 *
 * Input values are about 100 bytes of JSON; the generator is deterministic, so the driver knows
 * how many outputs a run must produce.
 */
import { canonicalJson, type OutputCheck } from '../harness/check.ts';

export interface Order {
  id: number;
  user: string;
  sku: string;
  qty: number;
  price: number;
  country: string;
  currency: string;
}

export interface PricedOrder extends Order {
  total: number;
  vip: boolean;
}

const COUNTRIES = ['DE', 'FR', 'IT', 'ES', 'NL', 'PL', 'SE', 'US'];

/** Key and value of input record `i`. */
export function orderRecord(i: number): { key: string; value: string } {
  const user = `user-${String(i % 997).padStart(4, '0')}`;
  const order: Order = {
    id: i,
    user,
    sku: `sku-${String((i * 31) % 10_000).padStart(5, '0')}`,
    qty: 1 + (i % 7),
    price: ((i * 7919) % 20_000) / 100,
    country: COUNTRIES[i % COUNTRIES.length]!,
    currency: 'EUR',
  };
  return { key: user, value: JSON.stringify(order) };
}

/** The `mapValues` step. */
export function priceOrder(value: string): PricedOrder {
  const order = JSON.parse(value) as Order;
  const total = Math.round(order.qty * order.price * 100) / 100;
  return { ...order, total, vip: total >= 500 };
}

/** The `filter` step: about 4 records in 5 pass. */
export function isWorthShipping(order: PricedOrder): boolean {
  return order.total >= 100;
}

/** How many of the first `count` input records reach the output. */
export function expectedOutputs(count: number): number {
  let n = 0;
  for (let i = 0; i < count; i++) if (isWorthShipping(priceOrder(orderRecord(i).value))) n++;
  return n;
}

/** Every output: the priced order under its input's key, compared as JSON (field order and number formatting aside). */
export const statelessOutput: OutputCheck = {
  canonical: (key, value) => `${key.toString()}\t${canonicalJson(value.toString())}`,
  expected(count) {
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      const { key, value } = orderRecord(i);
      const order = priceOrder(value);
      if (isWorthShipping(order)) lines.push(`${key}\t${canonicalJson(JSON.stringify(order))}`);
    }
    return lines;
  },
};

/** The async step's outputs: the service's answer for each order. */
export const approvalOutput: OutputCheck = {
  canonical: (key, value) => `${key.toString()}\t${canonicalJson(value.toString())}`,
  expected(count) {
    const lines: string[] = [];
    for (let i = 0; i < count; i++) lines.push(`${orderRecord(i).key}\t{"approved":true,"id":${i}}`);
    return lines;
  },
};
