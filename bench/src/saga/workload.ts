/**
 * The saga bench's orders: `n` OrderPlaced over `customers` customers and `skus` SKUs (seeded),
 * with wallets that cover about 92% of what each customer orders and stock about 87% of each
 * SKU's demand, so most orders are approved, some are rejected for funds (their customer's
 * wallet ran out) and some cancelled for stock (charged, then refunded). Which orders end which
 * way depends on the order in which they are processed; the counts vary a little from run to run.
 */

import type { SagaWorkload } from '@kafka-pattern/test/support/saga.ts';
import type { OrderPlaced } from '@kafka-pattern/topologies/saga';

export const WALLET_COVER = 0.92;
export const STOCK_COVER = 0.87;

export function benchWorkload(n: number, tag: string, customers = 500, skus = 100, seed = 7): SagaWorkload {
  let x = seed;
  const rand = (m: number) => {
    x = (Math.imul(x, 1_103_515_245) + 12_345) & 0x7fffffff;
    return x % m;
  };
  const orders: OrderPlaced[] = [];
  const spend: Record<string, number> = {};
  const demand: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const o: OrderPlaced = {
      type: 'OrderPlaced',
      orderId: `${tag}-${i}`,
      customerId: `customer-${rand(customers)}`,
      sku: `sku-${rand(skus)}`,
      quantity: 1 + rand(3),
      amount: 5 + rand(50),
    };
    orders.push(o);
    spend[o.customerId] = (spend[o.customerId] ?? 0) + o.amount;
    demand[o.sku] = (demand[o.sku] ?? 0) + o.quantity;
  }
  const balances = Object.fromEntries(
    Object.entries(spend).map(([c, s]) => [c, Math.floor(s * WALLET_COVER)]),
  );
  const stock = Object.fromEntries(Object.entries(demand).map(([k, d]) => [k, Math.floor(d * STOCK_COVER)]));
  return { balances, stock, orders };
}
