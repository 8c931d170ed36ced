/**
 * Reading a group's committed offsets with require-stable semantics (KIP-447).
 *
 * The consumer client asks without it, so a new owner could read the offset from before a
 * predecessor's still-open transaction and process those records a second time. The admin API
 * lets us ask with it; the broker then answers UNSTABLE_OFFSET_COMMIT until that transaction ends,
 * and we retry.
 */
import type { Admin } from '@platformatic/kafka';
import { CoordinatorUnavailableError } from '../errors.ts';
import { type TopicPartition, topicPartitionKey } from '../port.ts';
import { hasApiError } from './errors.ts';

export async function committedOffsets(
  admin: Admin,
  groupId: string,
  partitions: TopicPartition[],
  stableWaitMs: number,
): Promise<Map<string, bigint>> {
  const result = new Map<string, bigint>();
  if (partitions.length === 0) return result;
  const byTopic = new Map<string, number[]>();
  for (const tp of partitions) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
  const topics = [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
  const deadline = Date.now() + stableWaitMs;
  for (;;) {
    try {
      const groups = await admin.listConsumerGroupOffsets({
        groups: [{ groupId, topics }],
        requireStable: true,
      });
      for (const group of groups) {
        for (const topic of group.topics) {
          for (const p of topic.partitions) {
            if (p.committedOffset >= 0n)
              result.set(
                topicPartitionKey({ topic: topic.name, partition: p.partitionIndex }),
                p.committedOffset,
              );
          }
        }
      }
      return result;
    } catch (error) {
      if (!hasApiError(error, 'UNSTABLE_OFFSET_COMMIT')) throw error;
      if (Date.now() > deadline) {
        throw new CoordinatorUnavailableError(
          `Group "${groupId}" still has a pending transactional offset commit after ${stableWaitMs} ms: a previous owner's transaction is open; it ends when that producer commits, aborts or times out (transactionTimeoutMs)`,
          { cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
