/**
 * The in-memory cluster behind the runtime tests keeps the client port's contract: transaction
 * visibility and markers, producer fencing, generation-fenced commits, eager rebalances inside
 * poll(), require-stable committed offsets, and partition reader ranges.
 */
import {
  type ConsumerPort,
  KafkaClientError,
  OffsetOutOfRangeError,
  ProducerFencedError,
  RebalanceError,
  TopicNotFoundError,
  TopicPartitionsMismatchError,
} from '@kafka-pattern/streams-core/client';
import { describe, expect, it } from 'vitest';
import { eventually, Gate, rec, strings } from '../support/harness.ts';
import { InMemoryKafka } from '../support/in-memory-kafka.ts';

function consumer(kafka: InMemoryKafka, clientId: string, topics = ['t']): ConsumerPort {
  return kafka.factory().consumer({
    groupId: 'g',
    clientId,
    topics,
    isolationLevel: 'read_committed',
    copartitionGroups: topics.length > 1 ? [topics] : [],
    maxWaitMs: 10,
  });
}

describe('InMemoryKafka', () => {
  it('topics: idempotent creation, partition mismatch, missing topics, key partitioning', async () => {
    const kafka = new InMemoryKafka();
    const admin = kafka.factory().admin();
    await admin.createTopics([{ name: 't', partitions: 3 }]);
    await admin.createTopics([{ name: 't', partitions: 3 }]);
    await expect(admin.createTopics([{ name: 't', partitions: 2 }])).rejects.toThrow(
      TopicPartitionsMismatchError,
    );
    expect(await admin.describeTopics(['t', 'nope'])).toEqual(
      new Map([
        ['t', { partitions: 3 }],
        ['nope', undefined],
      ]),
    );
    const producer = kafka.factory().producer({ clientId: 'p', idempotent: true });
    await expect(producer.send([rec('nope', 'k', 'v')])).rejects.toThrow(TopicNotFoundError);
    const first = await producer.send([rec('t', 'same', '1')]);
    const [last, ...others] = await producer.send([rec('t', 'same', '2'), rec('t', 'same', '3')]);
    expect(others).toEqual([]);
    expect(last!.partition).toBe(first[0]!.partition);
    expect(last!.lastOffset).toBe(first[0]!.lastOffset + 2n);
    await admin.close();
    await expect(admin.listGroups()).rejects.toThrow(KafkaClientError);
  });

  it('transactions: invisible to read_committed until the commit marker, discarded on abort', async () => {
    const kafka = new InMemoryKafka();
    kafka.createTopic('t', 1);
    const producer = kafka.factory().producer({ clientId: 'p', idempotent: true, transactionalId: 'tx' });
    await expect(producer.send([rec('t', 'k', 'v')])).rejects.toThrow(KafkaClientError);
    const first = await producer.beginTransaction();
    await first.send([rec('t', 'k', 'a1'), rec('t', 'k', 'a2')]);
    expect(kafka.records('t')).toEqual([]);
    expect(kafka.endOffset('t', 0, 'read_committed')).toBe(0n);
    expect(strings(kafka.records('t', { isolation: 'read_uncommitted' }))).toHaveLength(2);
    await first.abort();
    const second = await producer.beginTransaction();
    await second.send([rec('t', 'k', 'c1')]);
    await second.commit();
    expect(strings(kafka.records('t'))).toEqual([['k', 'c1']]);
    expect(
      kafka.log('t').map((e) => (e.kind === 'marker' ? (e.commit ? 'COMMIT' : 'ABORT') : 'record')),
    ).toEqual(['record', 'record', 'ABORT', 'record', 'COMMIT']);
    expect(kafka.endOffset('t', 0, 'read_committed')).toBe(5n);
    expect(kafka.transactions('tx').map((t) => t.state)).toEqual(['aborted', 'committed']);
    await expect(second.send([rec('t', 'k', 'late')])).rejects.toThrow(/already ended/);
  });

  it('a second producer with the same transactional id aborts the open transaction and fences the first', async () => {
    const kafka = new InMemoryKafka();
    kafka.createTopic('t', 1);
    const factory = kafka.factory();
    const zombie = factory.producer({ clientId: 'p1', idempotent: true, transactionalId: 'tx' });
    const tx = await zombie.beginTransaction();
    await tx.send([rec('t', 'k', 'zombie')]);
    const successor = factory.producer({ clientId: 'p2', idempotent: true, transactionalId: 'tx' });
    const next = await successor.beginTransaction();
    await expect(tx.send([rec('t', 'k', 'more')])).rejects.toThrow(ProducerFencedError);
    await expect(tx.commit()).rejects.toThrow(ProducerFencedError);
    await next.send([rec('t', 'k', 'successor')]);
    await next.commit();
    expect(strings(kafka.records('t'))).toEqual([['k', 'successor']]);
  });

  it('rebalances run revoked then assigned inside poll; commits of an ended generation fail and rewind', async () => {
    const kafka = new InMemoryKafka();
    kafka.createTopic('t', 2);
    kafka.produce([rec('t', 'a', '1', { partition: 0 }), rec('t', 'b', '2', { partition: 1 })]);
    const c1 = consumer(kafka, 'c1');
    const calls: string[] = [];
    c1.onRebalance({
      revoked: (tps) => {
        calls.push(`revoked ${tps.map((tp) => tp.partition).join(',')}`);
      },
      assigned: (tps) => {
        calls.push(`assigned ${tps.map((tp) => tp.partition).join(',')}`);
      },
    });
    expect(strings(await c1.poll())).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
    // c2 joins: a new generation, in which c2 reads partition 1 from its committed offset (none: earliest).
    const c2 = consumer(kafka, 'c2');
    expect(strings(await c2.poll())).toEqual([['b', '2']]);
    await expect(c1.commit([{ topic: 't', partition: 0, offset: 1n }])).rejects.toThrow(RebalanceError);
    expect(kafka.committed('g')).toEqual(new Map());
    // The next poll runs the callbacks and reads partition 0 again from its committed offset (none).
    expect(strings(await c1.poll())).toEqual([['a', '1']]);
    expect(calls).toEqual(['assigned 0,1', 'revoked 0,1', 'assigned 0']);
    expect(c1.assignment()).toEqual([{ topic: 't', partition: 0 }]);
    expect(c2.assignment()).toEqual([{ topic: 't', partition: 1 }]);
    await c2.commit([{ topic: 't', partition: 1, offset: 1n }]);
    expect(kafka.committedOffset('g', 't', 1)).toBe(1n);
    await expect(c2.commit([{ topic: 't', partition: 0, offset: 1n }])).rejects.toThrow(RebalanceError);
    expect(() => c2.seek([{ topic: 't', partition: 0, offset: 0n }])).toThrow(KafkaClientError);
    const description = await kafka.factory().admin().describeGroup('g');
    expect(description?.state).toBe('Stable');
    expect(description?.members.map((m) => [m.clientId, m.assignment.map((tp) => tp.partition)])).toEqual([
      ['c1', [0]],
      ['c2', [1]],
    ]);
    await c1.commit([{ topic: 't', partition: 0, offset: 1n }]);
    await c2.close();
    // c2 left: c1 gets partition 1 back and resumes from the offset c2 committed.
    kafka.produce([rec('t', 'c', '3', { partition: 1 })]);
    expect(strings(await c1.poll())).toEqual([['c', '3']]);
    expect(c1.assignment()).toHaveLength(2);
  });

  it("session expiry: the coordinator checks an offset commit's generation and member id; the next heartbeat rejoins", async () => {
    const kafka = new InMemoryKafka();
    kafka.createTopic('t', 2);
    kafka.produce([rec('t', 'a', '1', { partition: 0 }), rec('t', 'b', '2', { partition: 1 })]);
    const zombie = kafka.factory().consumer({
      groupId: 'g',
      clientId: 'zombie',
      topics: ['t'],
      isolationLevel: 'read_committed',
      copartitionGroups: [],
      maxWaitMs: 10,
      heartbeatIntervalMs: 5,
    });
    const other = consumer(kafka, 'other');
    await zombie.poll();
    await other.poll();
    await zombie.poll();
    const owned = zombie.assignment();
    expect(owned).toHaveLength(1);
    const before = zombie.groupMetadata();
    const heartbeat = new Gate();
    kafka.intercept('heartbeat', async (c) => {
      if (c.clientId === 'zombie') await heartbeat.wait();
    });
    kafka.expire('zombie');
    expect(kafka.members('g').map((m) => m.clientId)).toEqual(['other']);
    await other.poll();
    expect(other.assignment()).toHaveLength(2);
    // The zombie does not know: its transactional offset commit carries the generation it lost.
    const producer = kafka.factory().producer({ clientId: 'p', idempotent: true, transactionalId: 'tx' });
    const tx = await producer.beginTransaction();
    await expect(tx.sendOffsets(zombie, [{ ...owned[0]!, offset: 1n }])).rejects.toThrow(/UNKNOWN_MEMBER_ID/);
    await tx.abort();
    expect(kafka.committed('g')).toEqual(new Map());
    // Refused: the generation has ended for it, it owns and reads nothing until it has rejoined.
    expect(zombie.assignment()).toEqual([]);
    expect(await zombie.poll()).toEqual([]);
    // Its next heartbeat is answered UNKNOWN_MEMBER_ID: it rejoins with a new member id.
    await eventually(() => heartbeat.waiting > 0, 'the heartbeat of the zombie');
    heartbeat.open();
    await eventually(() => kafka.members('g').some((m) => m.clientId === 'zombie'), 'the zombie rejoined');
    await zombie.poll();
    expect(zombie.assignment()).toHaveLength(1);
    expect(zombie.groupMetadata().memberId).not.toBe(before.memberId);
    expect(zombie.groupMetadata().generationId).toBeGreaterThan(before.generationId);
    await zombie.commit([{ ...zombie.assignment()[0]!, offset: 1n }]);
    expect(kafka.committed('g').size).toBe(1);
  });

  it('the coordinator checks nothing on a transactional offset commit without a generation, as Kafka', () => {
    const kafka = new InMemoryKafka();
    kafka.createTopic('t', 1);
    const c = consumer(kafka, 'c');
    const none = { groupId: 'g', generationId: -1, memberId: '' };
    expect(() => kafka.validateOffsetCommit(none, true)).not.toThrow();
    void c.poll();
    expect(() => kafka.validateOffsetCommit(none, true)).not.toThrow();
    expect(() => kafka.validateOffsetCommit(none, false)).toThrow(/UNKNOWN_MEMBER_ID/);
    expect(() =>
      kafka.validateOffsetCommit({ groupId: 'g', generationId: 7, memberId: 'nobody' }, true),
    ).toThrow(/UNKNOWN_MEMBER_ID/);
    const member = kafka.members('g')[0]!.memberId;
    expect(() =>
      kafka.validateOffsetCommit({ groupId: 'g', generationId: 7, memberId: member }, true),
    ).toThrow(/ILLEGAL_GENERATION/);
    expect(() =>
      kafka.validateOffsetCommit(
        { groupId: 'g', generationId: kafka.generation('g'), memberId: member },
        true,
      ),
    ).not.toThrow();
  });

  it('co-partitioned topics: partition N of each goes to one member', async () => {
    const kafka = new InMemoryKafka();
    kafka.createTopic('x', 2);
    kafka.createTopic('y', 2);
    const c1 = consumer(kafka, 'c1', ['x', 'y']);
    const c2 = consumer(kafka, 'c2', ['x', 'y']);
    await c1.poll();
    await c2.poll();
    await c1.poll();
    for (const c of [c1, c2]) {
      const partitions = new Set(c.assignment().map((tp) => tp.partition));
      expect(partitions.size).toBe(1);
      expect(c.assignment()).toHaveLength(2);
    }
  });

  it('committed offsets wait for a pending transactional offset commit (require-stable)', async () => {
    const kafka = new InMemoryKafka();
    kafka.createTopic('t', 1);
    kafka.produce([rec('t', 'k', 'v')]);
    const c = consumer(kafka, 'c');
    await c.poll();
    const producer = kafka.factory().producer({ clientId: 'p', idempotent: true, transactionalId: 'tx' });
    const tx = await producer.beginTransaction();
    await tx.sendOffsets(c, [{ topic: 't', partition: 0, offset: 1n }]);
    let answered: Map<string, bigint> | undefined;
    const pending = c.committed([{ topic: 't', partition: 0 }]).then((m) => {
      answered = m;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBeUndefined();
    await tx.commit();
    await pending;
    expect(answered).toEqual(new Map([['t:0', 1n]]));
  });

  it('partition reader: ranges end at until, read past markers, and fail below the log start', async () => {
    const kafka = new InMemoryKafka();
    kafka.createTopic('t', 1);
    const producer = kafka.factory().producer({ clientId: 'p', idempotent: true, transactionalId: 'tx' });
    const tx = await producer.beginTransaction();
    await tx.send([rec('t', 'k', '1'), rec('t', 'k', '2')]);
    await tx.commit();
    const reader = kafka
      .factory()
      .partitionReader({ clientId: 'r', isolationLevel: 'read_committed', maxWaitMs: 10 });
    reader.assign([{ topic: 't', partition: 0, from: 0n, until: 3n }]);
    expect(reader.pending()).toEqual([{ topic: 't', partition: 0 }]);
    const read = [];
    while (reader.pending().length > 0) read.push(...(await reader.poll()));
    expect(strings(read)).toEqual([
      ['k', '1'],
      ['k', '2'],
    ]);
    expect(reader.positions()).toEqual(new Map([['t:0', 3n]]));
    kafka.truncate('t', 0, 2n);
    reader.assign([{ topic: 't', partition: 0, from: 0n }]);
    await expect(reader.poll()).rejects.toThrow(OffsetOutOfRangeError);
    await reader.close();
    await expect(reader.poll()).rejects.toThrow(KafkaClientError);
  });

  it('scripting: failNext fails chosen operations once; intercepts can hold an acknowledgement', async () => {
    const kafka = new InMemoryKafka();
    kafka.createTopic('t', 1);
    const producer = kafka.factory().producer({ clientId: 'p', idempotent: true });
    kafka.failNext('send', new KafkaClientError('refused'), {
      when: (s) => s.records[0]!.value?.toString() === 'bad',
    });
    await expect(producer.send([rec('t', 'k', 'bad')])).rejects.toThrow('refused');
    await producer.send([rec('t', 'k', 'bad')]);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const stop = kafka.intercept('ack', () => held);
    let acked = false;
    const sent = producer.send([rec('t', 'k', 'held')]).then(() => {
      acked = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(kafka.records('t').map((r) => r.value?.toString())).toEqual(['bad', 'held']);
    expect(acked).toBe(false);
    release();
    await sent;
    stop();
    expect(kafka.events.filter((e) => e.type === 'ack')).toHaveLength(2);
  });
});
