import { afterAll, describe, expect, it } from 'vitest';
import { collect, createTopic, deleteTopics, produce, record, uniqueName } from '../support/kafka.ts';

describe('one send larger than the broker takes in one record batch', () => {
  const topics: string[] = [];
  afterAll(() => deleteTopics(topics));

  it('is split into requests, keeps per-partition order, and reports the last offset of each partition', async () => {
    const topic = await createTopic(uniqueName('large-send'), 2);
    topics.push(topic);
    // 3 MiB for partition 0 alone: three times the default max.message.bytes.
    const value = 'x'.repeat(1024);
    const records = Array.from({ length: 3 * 1024 }, (_, i) => record(topic, `k${i}`, `${i}:${value}`, 0));
    records.push(record(topic, 'other', 'small', 1));
    const last = await produce(records);
    expect(last.sort((a, b) => a.partition - b.partition)).toEqual([
      { topic, partition: 0, lastOffset: BigInt(3 * 1024 - 1) },
      { topic, partition: 1, lastOffset: 0n },
    ]);
    const out = await collect(topic, { count: records.length, timeoutMs: 30_000 });
    const partition0 = out
      .filter((r) => r.partition === 0)
      .map((r) => Number(r.value!.toString().split(':')[0]));
    expect(partition0).toEqual(records.slice(0, -1).map((_, i) => i));
  });
});
