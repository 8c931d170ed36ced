import {
  type ConsumedRecord,
  type KafkaClientFactory,
  RebalanceError,
  recordsOf,
  type TransactionPort,
  topicPartitionKey,
} from '@kafka-pattern/streams-core/client';
import { afterAll, describe, expect, it } from 'vitest';
import {
  clientFactory,
  collect,
  createTopics,
  deleteTopics,
  eventually,
  produce,
  record,
  uniqueName,
} from '../support/kafka.ts';

const PARTITIONS = 4;
const RECORDS = 160;

interface MemberStats {
  processed: number;
  aborted: number;
  revocations: number;
}

/** An exactly-once read-process-write loop: one transaction per polled batch. */
function startMember(
  factory: KafkaClientFactory,
  name: string,
  groupId: string,
  input: string,
  output: string,
) {
  const stats: MemberStats = { processed: 0, aborted: 0, revocations: 0 };
  let stopping = false;
  const consumer = factory.consumer({
    groupId,
    clientId: name,
    topics: [input],
    isolationLevel: 'read_committed',
    copartitionGroups: [],
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 300,
    rebalanceTimeoutMs: 10_000,
    maxWaitMs: 100,
    // One record batch per partition per fetch: many small transactions, so the rebalance lands mid-stream.
    maxBytesPerPartition: 1,
  });
  const producer = factory.producer({
    clientId: name,
    idempotent: true,
    transactionalId: uniqueName(`eos-${name}`),
    transactionTimeoutMs: 20_000,
  });
  let open: TransactionPort | undefined;
  consumer.onRebalance({
    async revoked() {
      stats.revocations++;
      if (open) {
        await open.abort();
        open = undefined;
        stats.aborted++;
      }
    },
    assigned() {},
  });
  const loop = (async () => {
    while (!stopping) {
      const records: ConsumedRecord[] = recordsOf(await consumer.poll());
      if (records.length === 0) continue;
      const tx = await producer.beginTransaction();
      open = tx;
      try {
        await tx.send(
          records.map((r) => record(output, r.key?.toString() ?? null, `${r.partition}:${r.offset}`)),
        );
        // Processing takes a while: rebalances happen while transactions are open.
        await new Promise((resolve) => setTimeout(resolve, 20));
        await tx.sendOffsets(
          consumer,
          records.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.offset + 1n })),
        );
        await tx.commit();
        stats.processed += records.length;
      } catch (error) {
        if (!(error instanceof RebalanceError)) throw error;
        await tx.abort();
        consumer.rewind();
        stats.aborted++;
      } finally {
        open = undefined;
      }
    }
  })();
  return {
    stats,
    async stop() {
      stopping = true;
      try {
        await loop;
      } finally {
        await Promise.allSettled([consumer.close(), producer.close()]);
      }
    },
  };
}

describe('revoked partitions are released cleanly', () => {
  const input = uniqueName('eos-in');
  const output = uniqueName('eos-out');
  afterAll(() => deleteTopics([input, output]));

  it('two transactional members process every input offset exactly once across a rebalance', async () => {
    const factory = clientFactory();
    await createTopics(
      [
        { name: input, partitions: PARTITIONS },
        { name: output, partitions: 1 },
      ],
      factory,
    );
    // Many small produce requests: many small record batches.
    for (let i = 0; i < RECORDS; i += 4) {
      await produce(
        Array.from({ length: 4 }, (_, j) => record(input, `key-${i + j}`, `v${i + j}`)),
        factory,
      );
    }
    const admin = factory.admin();
    const partitions = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: input, partition }));
    const ends = await admin.listOffsets(partitions, 'latest');
    const groupId = uniqueName('eos-group');

    const a = startMember(factory, 'member-a', groupId, input, output);
    let b: ReturnType<typeof startMember> | undefined;
    try {
      await eventually(
        () => (a.stats.processed >= RECORDS / 5 ? true : undefined),
        40_000,
        'member A to get going',
      );
      b = startMember(factory, 'member-b', groupId, input, output);
      await eventually(
        async () => {
          const committed = await admin.groupOffsets(groupId, partitions);
          return partitions.every(
            (tp) => committed.get(topicPartitionKey(tp)) === ends.get(topicPartitionKey(tp)),
          )
            ? true
            : undefined;
        },
        90_000,
        'the group to commit every input offset',
      );
    } finally {
      await Promise.all([a.stop(), b?.stop()]);
      await admin.close();
    }

    // The rebalance happened while A was working, and both members did part of the work.
    expect(a.stats.revocations).toBeGreaterThan(0);
    expect(a.stats.processed).toBeGreaterThan(0);
    expect(b?.stats.processed).toBeGreaterThan(0);
    expect(a.stats.processed).toBeLessThan(RECORDS);

    const visible = (await collect(output, { isolationLevel: 'read_committed' }, factory)).map(
      (r) => r.value?.toString() ?? '',
    );
    const counts = new Map<string, number>();
    for (const v of visible) counts.set(v, (counts.get(v) ?? 0) + 1);
    const duplicates = [...counts].filter(([, n]) => n > 1);
    expect(duplicates).toEqual([]);
    const expected = partitions.flatMap((tp) =>
      Array.from(
        { length: Number(ends.get(topicPartitionKey(tp)) ?? 0n) },
        (_, offset) => `${tp.partition}:${offset}`,
      ),
    );
    expect([...counts.keys()].sort()).toEqual(expected.sort());
    expect(visible).toHaveLength(RECORDS);
  });
});
