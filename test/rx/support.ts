/** Helpers of the rx tests on the broker: committed and end offsets read through the admin API. */
import type { TopicPartition } from '@kafka-pattern/streams-core/client';
import { clientFactory } from '../support/kafka.ts';

const factory = clientFactory('rx-tests');

function partitionsOf(topic: string, partitions: number): TopicPartition[] {
  return Array.from({ length: partitions }, (_, partition) => ({ topic, partition }));
}

/** The group's committed offset per partition (-1n where none), read with require-stable. */
export async function committed(groupId: string, topic: string, partitions: number): Promise<bigint[]> {
  const admin = factory.admin();
  try {
    const offsets = await admin.groupOffsets(groupId, partitionsOf(topic, partitions));
    return partitionsOf(topic, partitions).map((tp) => offsets.get(`${tp.topic}:${tp.partition}`) ?? -1n);
  } finally {
    await admin.close();
  }
}

export async function endOffsets(topic: string, partitions: number): Promise<bigint[]> {
  const admin = factory.admin();
  try {
    const offsets = await admin.listOffsets(partitionsOf(topic, partitions), 'latest', 'read_committed');
    return partitionsOf(topic, partitions).map((tp) => offsets.get(`${tp.topic}:${tp.partition}`) ?? 0n);
  } finally {
    await admin.close();
  }
}

export const sum = (xs: bigint[]): number => xs.reduce((a, b) => a + Number(b < 0n ? 0n : b), 0);
