import { afterAll, describe, expect, it } from 'vitest';
import {
  clientFactory,
  collect,
  createTopics,
  deleteTopics,
  produce,
  record,
  uniqueName,
} from '../support/kafka.ts';

// From the Java client (kafka-clients 4.1.1):
// Utils.toPositive(Utils.murmur2(key.getBytes(UTF_8))) % n for n = 3, 6, 12.
const JAVA_VECTORS: Array<[key: string, p3: number, p6: number, p12: number]> = [
  ['a', 1, 4, 4],
  ['order-42', 0, 0, 0],
  ['ünïcødé', 2, 2, 2],
  ['', 0, 3, 9],
  ['customer-7', 1, 1, 7],
  ['hello world', 1, 1, 7],
  ['k1', 2, 5, 5],
  ['abcd', 2, 2, 8],
  ['abcde', 1, 1, 1],
  ['💥 emoji', 1, 1, 1],
];

describe('partitioning of keyed records', () => {
  const topics = { 3: uniqueName('part3'), 6: uniqueName('part6'), 12: uniqueName('part12') } as const;

  afterAll(() => deleteTopics(Object.values(topics)));

  it('puts every key on the partition the Java client picks', async () => {
    const factory = clientFactory();
    await createTopics(
      Object.entries(topics).map(([n, name]) => ({ name, partitions: Number(n) })),
      factory,
    );
    const records = Object.values(topics).flatMap((topic) =>
      JAVA_VECTORS.map(([key]) => record(topic, key, key)),
    );
    await produce(records, factory);

    const expected = (topic: string, key: string) => {
      const vector = JAVA_VECTORS.find(([k]) => k === key);
      if (!vector) throw new Error(key);
      return topic === topics[3] ? vector[1] : topic === topics[6] ? vector[2] : vector[3];
    };
    for (const topic of Object.values(topics)) {
      const stored = await collect(topic, { count: JAVA_VECTORS.length }, factory);
      expect(stored).toHaveLength(JAVA_VECTORS.length);
      for (const r of stored) expect(r.partition).toBe(expected(topic, r.key?.toString() ?? ''));
    }
  });
});
