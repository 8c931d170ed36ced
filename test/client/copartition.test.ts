import type { ConsumerPort, TopicPartition } from '@kafka-pattern/streams-core/client';
import { assignCopartitioned as assign } from '@kafka-pattern/streams-core/client';
import { afterAll, describe, expect, it } from 'vitest';
import { clientFactory, createTopics, deleteTopics, uniqueName } from '../support/kafka.ts';

const byTopic = (assignment: TopicPartition[], topic: string) =>
  assignment
    .filter((tp) => tp.topic === topic)
    .map((tp) => tp.partition)
    .sort((a, b) => a - b);

describe('co-partitioned assignment', () => {
  const orders = uniqueName('orders');
  const customers = uniqueName('customers');
  afterAll(() => deleteTopics([orders, customers]));

  it('gives partition N of every co-partitioned topic to one member, and every partition to someone', async () => {
    const factory = clientFactory();
    await createTopics(
      [
        { name: orders, partitions: 4 },
        { name: customers, partitions: 4 },
      ],
      factory,
    );
    const groupId = uniqueName('copart-group');
    const member = (name: string) =>
      factory.consumer({
        groupId,
        clientId: name,
        topics: [orders, customers],
        isolationLevel: 'read_committed',
        copartitionGroups: [[orders, customers]],
        sessionTimeoutMs: 6000,
        heartbeatIntervalMs: 300,
        maxWaitMs: 100,
      });
    const members: ConsumerPort[] = [member('a'), member('b')];
    try {
      // Both poll until the group settles on a generation that has both of them.
      const deadline = Date.now() + 45_000;
      for (;;) {
        await Promise.all(members.map((m) => m.poll()));
        const [a, b] = members.map((m) => m.groupMetadata());
        const settled =
          a && b && a.generationId === b.generationId && members.every((m) => m.assignment().length > 0);
        if (settled) break;
        if (Date.now() > deadline) throw new Error('group did not settle with two members');
      }
      const owned = members.map((m) => m.assignment());
      for (const assignment of owned) {
        expect(byTopic(assignment, orders)).toEqual(byTopic(assignment, customers));
        expect(assignment).toHaveLength(4);
      }
      const all = owned
        .flat()
        .map((tp) => `${tp.topic}:${tp.partition}`)
        .sort();
      const expected = [orders, customers].flatMap((t) => [0, 1, 2, 3].map((p) => `${t}:${p}`)).sort();
      expect(all).toEqual(expected);
    } finally {
      await Promise.allSettled(members.map((m) => m.close()));
    }
  });

  it('balances units across members and keeps uneven groups and loose topics assigned', () => {
    const metadata = {
      topics: new Map([
        ['a', { partitionsCount: 3 }],
        ['b', { partitionsCount: 3 }],
        ['loose', { partitionsCount: 2 }],
      ]),
    } as never;
    const members = new Map(
      ['m1', 'm2', 'm3'].map((id) => [id, { memberId: id, version: 1, topics: ['a', 'b', 'loose'] }]),
    );
    const result = assign([['a', 'b']], members as never, new Set(['a', 'b', 'loose']), metadata);
    const flat = result.map((r) => ({
      id: r.memberId,
      owned: [...r.assignments.values()].flatMap((a) => a.partitions.map((p) => `${a.topic}:${p}`)).sort(),
    }));
    expect(flat).toEqual([
      { id: 'm1', owned: ['a:0', 'b:0', 'loose:0'] },
      { id: 'm2', owned: ['a:1', 'b:1', 'loose:1'] },
      { id: 'm3', owned: ['a:2', 'b:2'] },
    ]);
  });
});
