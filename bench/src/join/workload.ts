/**
 * The stream-stream join's data: orders (the stateless scenario's values) on the left, payments
 * on the right, both keyed by order id, so each order meets exactly its own payment.
 *
 * Record `i` of both sides has the key `order-<i>`, goes to partition `i % 3` of its topic (the
 * topics are co-partitioned) and has the same event time; 50 records share a millisecond, so a
 * 100,000-record drain spans 2 s of event time, inside the 5 s join window whatever order the
 * two sides are read in: no record is ever late, and each pair joins once.
 */
import type { InputRecord } from '../harness/broker.ts';
import { canonicalJson, type OutputCheck } from '../harness/check.ts';
import { orderRecord } from '../stateless/workload.ts';

const EVENT_TIME_START = Date.now() - 3_600_000;
const METHODS = ['card', 'paypal', 'sepa', 'invoice'];

function eventTime(i: number): number {
  return EVENT_TIME_START + Math.floor(i / 50);
}

export function orderSide(i: number): InputRecord {
  return { key: `order-${i}`, value: orderRecord(i).value, timestamp: eventTime(i) };
}

export function paymentSide(i: number): InputRecord {
  const payment = { order: i, amount: ((i * 7919) % 20_000) / 100, method: METHODS[i % METHODS.length] };
  return { key: `order-${i}`, value: JSON.stringify(payment), timestamp: eventTime(i) };
}

/** One output per pair. */
export function onePerPair(pairs: number): number {
  return pairs;
}

/** The joiner: the order line with its payment attached. */
export function joinOrderPayment(order: string, payment: string): string {
  return `{"order":${order},"payment":${payment}}`;
}

/** Every output: each order with its payment, compared as JSON. */
export const joinOutput: OutputCheck = {
  canonical: (key, value) => `${key.toString()}\t${canonicalJson(value.toString())}`,
  expected(count) {
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      const order = orderSide(i);
      lines.push(`${order.key}\t${canonicalJson(joinOrderPayment(order.value, paymentSide(i).value))}`);
    }
    return lines;
  },
};
