import { afterAll, describe, expect, it } from 'vitest';
import { collect, createTopic, deleteTopics, produce, uniqueName } from '../support/kafka.ts';

const DAY = 86_400_000;

describe('timestamps weeks apart in one send', () => {
  const topics: string[] = [];
  afterAll(() => deleteTopics(topics));

  it('read back exactly as sent, in order (the client mis-encodes deltas of 2^31 ms or more within a batch)', async () => {
    const topic = await createTopic(uniqueName('timestamps'), 1);
    topics.push(topic);
    const now = Date.now();
    // The broker refuses timestamps more than an hour ahead (log.message.timestamp.after.max.ms), not old ones.
    const timestamps = [now - 5_000, now - 90 * DAY, now, 0, now - 24 * DAY, now - 26 * DAY, now - 50 * DAY];
    const last = await produce(
      timestamps.map((timestamp, i) => ({
        topic,
        partition: 0,
        key: null,
        value: Buffer.from(String(i)),
        timestamp,
      })),
    );
    expect(last).toEqual([{ topic, partition: 0, lastOffset: BigInt(timestamps.length - 1) }]);
    const out = await collect(topic, { count: timestamps.length });
    expect(out.map((r) => [Number(r.value!.toString()), r.timestamp])).toEqual(
      timestamps.map((t, i) => [i, t]),
    );
  });
});
