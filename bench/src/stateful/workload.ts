/**
 * The keyed workloads (stateful count, restoration, windowed count): the stateless scenario's
 * ~100-byte order values under keys drawn from a space of 9,999, with event times 2 ms apart.
 *
 * The harness writes record `i` to partition `i % 3`; the key of record `i` is chosen so that
 * it, too, is `i % 3` modulo 3, so every key lives in one partition and `groupByKey()` needs no
 * repartition (as in a topic keyed by its producer). The multiplier spreads consecutive records
 * over the key space instead of walking it in order.
 */
import type { InputRecord } from '../harness/broker.ts';
import { longValue, type OutputCheck } from '../harness/check.ts';
import { orderRecord } from '../stateless/workload.ts';

export const PARTITIONS = 3;
export const KEYS = 9_999;
const KEYS_PER_PARTITION = KEYS / PARTITIONS;

/**
 * Event time of record `i`: a 60 s window holds 30,000 records, each key about 3 times, and a
 * drain of 50,000 crosses one or two window boundaries.
 */
export const EVENT_MS_PER_RECORD = 2;
// An hour back, so the whole range is in the past (no window is still open at the wall clock)
// yet well within the retention of the topics.
const EVENT_TIME_START = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;

export function keyIndex(i: number): number {
  return PARTITIONS * ((Math.floor(i / PARTITIONS) * 7_919) % KEYS_PER_PARTITION) + (i % PARTITIONS);
}

export function keyedRecord(i: number): InputRecord {
  return {
    key: `key-${String(keyIndex(i)).padStart(4, '0')}`,
    value: orderRecord(i).value,
    timestamp: EVENT_TIME_START + i * EVENT_MS_PER_RECORD,
  };
}

/** With the record cache off, every input record updates its key's count and is one output. */
export function oneOutputPerRecord(count: number): number {
  return count;
}

/** Every update of a count: the key and its new count (an 8-byte long). */
export const countOutput: OutputCheck = {
  canonical: (key, value) => `${key.toString()}\t${longValue(value)}`,
  expected(count) {
    const counts = new Map<string, number>();
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      const key = keyedRecord(i).key;
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      lines.push(`${key}\t${n}`);
    }
    return lines;
  },
};

/** Every update of a windowed count: `key@windowStart` and the window's new count. */
export function windowedCountOutput(windowMs: number): OutputCheck {
  return {
    canonical: countOutput.canonical,
    expected(count) {
      const counts = new Map<string, number>();
      const lines: string[] = [];
      for (let i = 0; i < count; i++) {
        const r = keyedRecord(i);
        const key = `${r.key}@${Math.floor(r.timestamp! / windowMs) * windowMs}`;
        const n = (counts.get(key) ?? 0) + 1;
        counts.set(key, n);
        lines.push(`${key}\t${n}`);
      }
      return lines;
    },
  };
}
