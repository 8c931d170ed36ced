import type { ConsumedRecord, KafkaClientFactory } from '@kafka-pattern/streams-core/client';
import { afterAll, describe, expect, it } from 'vitest';
import {
  clientFactory,
  collect,
  createTopic,
  deleteTopics,
  groupConsumer,
  pollRecords,
  produce,
  record,
  uniqueName,
} from '../support/kafka.ts';

/** A read_committed group consumer of `topic` and a transactional producer, as a consume-transform-produce loop has them. */
function consumeTransformProduce(factory: KafkaClientFactory, topic: string, name: string) {
  const groupId = uniqueName(`${name}-group`);
  const consumer = groupConsumer(factory, { groupId, clientId: `${name}-consumer`, topics: [topic] });
  const producer = factory.producer({
    clientId: `${name}-producer`,
    idempotent: true,
    transactionalId: uniqueName(`${name}-id`),
    transactionTimeoutMs: 20_000,
  });
  return { groupId, consumer, producer };
}

describe('transactions', () => {
  const input = uniqueName('tx-in');
  const output = uniqueName('tx-out');
  afterAll(() => deleteTopics([input, output]));

  it('hides an aborted transaction and shows a committed one, outputs and offsets alike', async () => {
    const factory = clientFactory();
    const admin = factory.admin();
    await createTopic(input, 1);
    await createTopic(output, 1);
    await produce(
      Array.from({ length: 4 }, (_, i) => record(input, `k${i}`, `v${i}`, 0)),
      factory,
    );
    const { groupId, consumer, producer } = consumeTransformProduce(factory, input, 'tx');
    try {
      const polled = await pollRecords(consumer, 4);
      expect(polled.map((r) => r.value?.toString())).toEqual(['v0', 'v1', 'v2', 'v3']);
      const out = (rs: ConsumedRecord[], tag: string) =>
        rs.map((r) => record(output, r.key?.toString() ?? null, `${tag}:${r.offset}`));
      const next = (r: ConsumedRecord) => ({ topic: r.topic, partition: r.partition, offset: r.offset + 1n });

      const aborted = await producer.beginTransaction();
      await aborted.send(out(polled.slice(0, 2), 'aborted'));
      await aborted.sendOffsets(consumer, polled.slice(0, 2).map(next));
      await aborted.abort();

      expect(await collect(output, { isolationLevel: 'read_committed' }, factory)).toEqual([]);
      expect(await admin.groupOffsets(groupId, [{ topic: input, partition: 0 }])).toEqual(new Map());

      const committed = await producer.beginTransaction();
      await committed.send(out(polled, 'committed'));
      // Every record's offset is sent; only the last one per partition reaches the broker.
      await committed.sendOffsets(consumer, polled.map(next));
      await committed.commit();

      const visible = await collect(output, { isolationLevel: 'read_committed' }, factory);
      expect(visible.map((r) => r.value?.toString())).toEqual([
        'committed:0',
        'committed:1',
        'committed:2',
        'committed:3',
      ]);
      expect(await admin.groupOffsets(groupId, [{ topic: input, partition: 0 }])).toEqual(
        new Map([[`${input}:0`, 4n]]),
      );
      expect(await consumer.committed([{ topic: input, partition: 0 }])).toEqual(
        new Map([[`${input}:0`, 4n]]),
      );
      // The aborted records are in the log all the same: only read_committed hides them.
      const raw = await collect(output, { isolationLevel: 'read_uncommitted', count: 6 }, factory);
      expect(raw.map((r) => r.value?.toString())).toEqual([
        'aborted:0',
        'aborted:1',
        'committed:0',
        'committed:1',
        'committed:2',
        'committed:3',
      ]);
    } finally {
      await Promise.allSettled([consumer.close(), producer.close(), admin.close()]);
    }
  });

  it('commits the offsets of every partition in the transaction, each to its own position', async () => {
    const topic = uniqueName('tx-offsets-in');
    const factory = clientFactory();
    const admin = factory.admin();
    await createTopic(topic, 3);
    // Partition p holds p + 2 records, so each partition ends at its own offset.
    await produce(
      [0, 1, 2].flatMap((p) =>
        Array.from({ length: p + 2 }, (_, i) => record(topic, `k${p}-${i}`, `v${i}`, p)),
      ),
      factory,
    );
    const { groupId, consumer, producer } = consumeTransformProduce(factory, topic, 'tx-offsets');
    try {
      const polled = await pollRecords(consumer, 9);
      expect(polled).toHaveLength(9);
      const tx = await producer.beginTransaction();
      await tx.sendOffsets(
        consumer,
        polled.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.offset + 1n })),
      );
      await tx.commit();
      const partitions = [0, 1, 2].map((partition) => ({ topic, partition }));
      expect(await admin.groupOffsets(groupId, partitions)).toEqual(
        new Map([
          [`${topic}:0`, 2n],
          [`${topic}:1`, 3n],
          [`${topic}:2`, 4n],
        ]),
      );
    } finally {
      await Promise.allSettled([consumer.close(), producer.close(), admin.close(), deleteTopics([topic])]);
    }
  });

  it('hides every aborted transaction of one producer that a single fetch returns', async () => {
    // A transactional id keeps its producer id across transactions and restarts, so one fetch
    // answer can list several aborted transactions of the same producer.
    const topic = uniqueName('tx-aborts');
    const factory = clientFactory();
    await createTopic(topic, 1);
    const producer = factory.producer({
      clientId: 'tx-aborts-producer',
      idempotent: true,
      transactionalId: uniqueName('tx-aborts-id'),
      transactionTimeoutMs: 20_000,
    });
    try {
      for (const [tag, outcome] of [
        ['aborted-1', 'abort'],
        ['committed-1', 'commit'],
        ['aborted-2', 'abort'],
        ['committed-2', 'commit'],
        ['aborted-3', 'abort'],
      ] as const) {
        const tx = await producer.beginTransaction();
        await tx.send([0, 1, 2].map((i) => record(topic, `k${i}`, `${tag}:${i}`, 0)));
        await (outcome === 'commit' ? tx.commit() : tx.abort());
      }
      const visible = await collect(topic, { isolationLevel: 'read_committed' }, factory);
      expect(visible.map((r) => r.value?.toString())).toEqual([
        'committed-1:0',
        'committed-1:1',
        'committed-1:2',
        'committed-2:0',
        'committed-2:1',
        'committed-2:2',
      ]);
    } finally {
      await Promise.allSettled([producer.close(), deleteTopics([topic])]);
    }
  });

  it('shows a committed transaction followed by an abort that wrote nothing to the partition', async () => {
    const topic = uniqueName('tx-empty-abort');
    const factory = clientFactory();
    await createTopic(topic, 1);
    const transactionalId = uniqueName('tx-empty-abort-id');
    const open = () =>
      factory.producer({
        clientId: 'tx-empty-abort',
        idempotent: true,
        transactionalId,
        transactionTimeoutMs: 20_000,
      });
    let producer = open();
    try {
      const run = async (tag: string, outcome: 'commit' | 'abort') => {
        const tx = await producer.beginTransaction();
        await tx.send([0, 1].map((i) => record(topic, `k${i}`, `${tag}:${i}`, 0)));
        await (outcome === 'commit' ? tx.commit() : tx.abort());
      };
      await run('aborted-1', 'abort');
      await run('committed-1', 'commit');
      // The partition joins the transaction but the broker refuses the batch (over max.message.bytes):
      // the abort marker ends a transaction with no records here, which the broker does not list as aborted.
      const refused = await producer.beginTransaction();
      await expect(refused.send([record(topic, 'big', 'x'.repeat(2 * 1024 * 1024), 0)])).rejects.toThrow();
      await refused.abort();
      await producer.close();
      // A restart: the same transactional id, the same producer id, a new epoch.
      producer = open();
      await run('committed-2', 'commit');
      const visible = await collect(topic, { isolationLevel: 'read_committed' }, factory);
      expect(visible.map((r) => r.value?.toString())).toEqual([
        'committed-1:0',
        'committed-1:1',
        'committed-2:0',
        'committed-2:1',
      ]);
    } finally {
      await Promise.allSettled([producer.close(), deleteTopics([topic])]);
    }
  });
});
