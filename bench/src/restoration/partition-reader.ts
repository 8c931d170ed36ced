/**
 * Restoration's baseline: the same changelog read from its beginning to its end with the
 * framework's partition reader (the reader restoration uses), applying nothing. The difference
 * to a restoration is what writing the records into a store costs.
 */
import {
  createPlatformaticClientFactory,
  topicPartitionKey as key,
  type TopicPartition,
} from '@kafka-pattern/streams-core/client';
import type { StartPipe } from '../harness/pipe.ts';

export const start: StartPipe = async (run) => {
  const clients = createPlatformaticClientFactory({
    bootstrapServers: run.bootstrapServers,
    clientId: `${run.groupId}-reader`,
  });
  const changelog = String(run.params.changelog);
  const partitions: TopicPartition[] = Array.from(
    { length: Number(run.params.partitions) },
    (_, partition) => ({
      topic: changelog,
      partition,
    }),
  );
  const isolationLevel = run.guarantee === 'exactly_once_v2' ? 'read_committed' : 'read_uncommitted';
  const admin = clients.admin();
  const reader = clients.partitionReader({ clientId: `${run.groupId}-reader`, isolationLevel });
  try {
    const [latest, earliest] = await Promise.all([
      admin.listOffsets(partitions, 'latest', isolationLevel),
      admin.listOffsets(partitions, 'earliest'),
    ]);
    const until = new Map(partitions.map((tp) => [key(tp), latest.get(key(tp)) ?? 0n]));
    const started = performance.now();
    reader.assign(
      partitions.map((tp) => ({ ...tp, from: earliest.get(key(tp)) ?? 0n, until: until.get(key(tp))! })),
    );
    let records = 0;
    while (reader.pending().length > 0) {
      for (const b of await reader.poll()) records += b.records.length;
    }
    const ms = performance.now() - started;
    return { close: async () => {}, measured: { records, ms } };
  } finally {
    await Promise.allSettled([reader.close(), admin.close()]);
  }
};
