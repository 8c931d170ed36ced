import { recordsOf } from '@kafka-pattern/streams-core/client';
import { afterAll, describe, expect, it } from 'vitest';
import { clientFactory, createTopic, deleteTopics, produce, record, uniqueName } from '../support/kafka.ts';

describe('a poll hands out at most maxPollRecords', () => {
  const topics: string[] = [];
  afterAll(() => deleteTopics(topics));

  it('holds the rest of a fetch back for the next polls, in order, and a seek drops what is held', async () => {
    const topic = await createTopic(uniqueName('max-poll'), 2);
    topics.push(topic);
    const perPartition = 3_000;
    await produce(
      [0, 1].flatMap((partition) =>
        Array.from({ length: perPartition }, (_, i) => record(topic, `k${i}`, `${i}`, partition)),
      ),
    );
    const factory = clientFactory();
    const consumer = factory.consumer({
      groupId: uniqueName('max-poll-group'),
      clientId: uniqueName('max-poll'),
      topics: [topic],
      isolationLevel: 'read_uncommitted',
      copartitionGroups: [],
      maxPollRecords: 250,
    });
    try {
      const seen = new Map<number, number[]>([
        [0, []],
        [1, []],
      ]);
      let largest = 0;
      const deadline = Date.now() + 30_000;
      let sought = false;
      while ([...seen.values()].some((v) => v.length < perPartition) && Date.now() < deadline) {
        const batches = await consumer.poll();
        const n = recordsOf(batches).length;
        largest = Math.max(largest, n);
        for (const b of batches) for (const r of b.records) seen.get(r.partition)!.push(Number(r.offset));
        // Half way through partition 0, go back to its offset 100: held-back records of it are dropped.
        if (!sought && seen.get(0)!.length >= 1_000) {
          sought = true;
          consumer.seek([{ topic, partition: 0, offset: 100n }]);
          seen.set(0, seen.get(0)!.slice(0, 100));
        }
      }
      expect(largest).toBeLessThanOrEqual(250);
      expect(largest).toBeGreaterThan(0);
      for (const offsets of seen.values())
        expect(offsets).toEqual(Array.from({ length: perPartition }, (_, i) => i));
      // Every record was handed out: the consumer's positions are at the end of each partition.
      const positions = consumer.positions();
      expect(positions.get(`${topic}:0`)).toBe(BigInt(perPartition));
      expect(positions.get(`${topic}:1`)).toBe(BigInt(perPartition));
    } finally {
      await consumer.close();
    }
  });
});
