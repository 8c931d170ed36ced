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
