/**
 * Whether an application's output is complete after an outage, judged against what the input
 * topic holds (not what the load generator meant to write: a send retried after the broker went
 * away may have been written twice, and then the application rightly sees that record twice).
 *
 * - exactly_once_v2: exact. Stateless: each input record that passes the filter is in the
 *   committed output once, nothing else is. Count: each key's committed counts are 1, 2, …, n
 *   in order, n its input records.
 * - at_least_once: nothing missing. Stateless: each passing input record is in the output at
 *   least once. Count: each key's last count is at least n (an input counted again after the
 *   restart raises it above n).
 */
import type { Guarantee } from '../harness/pipe.ts';
import type { ScannedRecord } from '../harness/scan.ts';
import { isWorthShipping, priceOrder } from '../stateless/workload.ts';
import type { OutagePipe } from './kafka-streams.ts';

export interface OutputCheck {
  /** Outputs the input calls for: passing records (stateless), or input records counted (count). */
  readonly expected: number;
  readonly outputs: number;
  /** Input records without their output (stateless), or not reflected in their key's last count. */
  readonly missing: number;
  /** Outputs beyond the expected ones (stateless), or input records counted more than once. */
  readonly duplicates: number;
  /** Outputs no input calls for (stateless); keys whose counts are not 1, 2, …, n (count). */
  readonly irregular: number;
  readonly complete: boolean;
}

export function checkOutput(
  pipe: OutagePipe,
  guarantee: Guarantee,
  inputs: readonly ScannedRecord[],
  outputs: readonly ScannedRecord[],
): OutputCheck {
  return pipe === 'stateless'
    ? checkStateless(guarantee, inputs, outputs)
    : checkCount(guarantee, inputs, outputs);
}

function tally(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function checkStateless(
  guarantee: Guarantee,
  inputs: readonly ScannedRecord[],
  outputs: readonly ScannedRecord[],
): OutputCheck {
  const wanted = new Map<string, number>();
  for (const r of inputs) {
    const order = priceOrder(r.value.toString());
    if (isWorthShipping(order)) tally(wanted, String(order.id));
  }
  const got = new Map<string, number>();
  for (const r of outputs) tally(got, String((JSON.parse(r.value.toString()) as { id: number }).id));
  let missing = 0;
  let duplicates = 0;
  let irregular = 0;
  let expected = 0;
  for (const [id, n] of wanted) {
    expected += n;
    const m = got.get(id) ?? 0;
    if (m < n) missing += n - m;
    else duplicates += m - n;
  }
  for (const [id, m] of got) if (!wanted.has(id)) irregular += m;
  const complete = missing === 0 && irregular === 0 && (guarantee === 'at_least_once' || duplicates === 0);
  return { expected, outputs: outputs.length, missing, duplicates, irregular, complete };
}

function checkCount(
  guarantee: Guarantee,
  inputs: readonly ScannedRecord[],
  outputs: readonly ScannedRecord[],
): OutputCheck {
  const wanted = new Map<string, number>();
  for (const r of inputs) tally(wanted, r.key.toString());
  // Each key lives in one partition, and `outputs` are in offset order per partition.
  const counts = new Map<string, number[]>();
  for (const r of outputs) {
    const key = r.key.toString();
    let seq = counts.get(key);
    if (!seq) {
      seq = [];
      counts.set(key, seq);
    }
    seq.push(Number(r.value.readBigInt64BE(0)));
  }
  let missing = 0;
  let duplicates = 0;
  let irregular = 0;
  let expected = 0;
  for (const [key, n] of wanted) {
    expected += n;
    const seq = counts.get(key) ?? [];
    const last = seq.at(-1) ?? 0;
    if (last < n) missing += n - last;
    else duplicates += last - n;
    if (seq.length !== n || seq.some((c, i) => c !== i + 1)) irregular++;
  }
  for (const key of counts.keys()) if (!wanted.has(key)) irregular++;
  const complete =
    missing === 0 &&
    (guarantee === 'at_least_once'
      ? [...counts.keys()].every((k) => wanted.has(k))
      : duplicates === 0 && irregular === 0);
  return { expected, outputs: outputs.length, missing, duplicates, irregular, complete };
}
