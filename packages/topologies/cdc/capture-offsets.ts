/**
 * A capture's own progress in Kafka, as Kafka Connect keeps a source's offsets: a compacted topic
 * with one record per slot. It says whether the initial snapshot completed (a capture that died
 * mid-snapshot takes it again from a new slot) and, under exactly_once_v2, the end LSN of the last
 * transaction written, in the same Kafka transaction as its records, so a restart skips what
 * Kafka already has even where the slot's position had not moved yet.
 */
import {
  type AdminPort,
  type KafkaClientFactory,
  type ProducedRecord,
  recordsOf,
  topicPartitionKey,
} from '@kafka-pattern/streams-core/client';
import { formatLsn, parseLsn } from './lsn.ts';

export interface CaptureOffset {
  snapshot: 'in_progress' | 'completed';
  /** End LSN of the last transaction in Kafka (exactly_once_v2 only). */
  lsn?: bigint;
}

export const DEFAULT_OFFSETS_TOPIC = 'kafka-pattern-cdc-offsets';

export async function ensureOffsetsTopic(admin: AdminPort, topic: string): Promise<void> {
  await admin.createTopics([{ name: topic, partitions: 1, configs: { 'cleanup.policy': 'compact' } }]);
}

export function offsetRecord(topic: string, slot: string, offset: CaptureOffset): ProducedRecord {
  const value = {
    snapshot: offset.snapshot,
    ...(offset.lsn !== undefined ? { lsn: formatLsn(offset.lsn) } : {}),
  };
  return { topic, partition: 0, key: Buffer.from(slot), value: Buffer.from(JSON.stringify(value)) };
}

/** The slot's last committed offset record, or undefined when it has none. */
export async function readOffset(
  clients: KafkaClientFactory,
  admin: AdminPort,
  topic: string,
  slot: string,
): Promise<CaptureOffset | undefined> {
  const tp = { topic, partition: 0 };
  const ends = await admin.listOffsets([tp], 'latest', 'read_committed');
  const starts = await admin.listOffsets([tp], 'earliest', 'read_committed');
  const end = ends.get(topicPartitionKey(tp)) ?? 0n;
  const start = starts.get(topicPartitionKey(tp)) ?? 0n;
  if (end <= start) return undefined;
  const reader = clients.partitionReader({
    clientId: `cdc-offsets-${slot}`,
    isolationLevel: 'read_committed',
    maxWaitMs: 200,
  });
  let found: CaptureOffset | undefined;
  try {
    reader.assign([{ ...tp, from: start, until: end }]);
    while (reader.pending().length > 0) {
      for (const r of recordsOf(await reader.poll())) {
        if (r.key?.toString() !== slot) continue;
        if (r.value === null) {
          found = undefined;
          continue;
        }
        const v = JSON.parse(r.value.toString()) as { snapshot: CaptureOffset['snapshot']; lsn?: string };
        found = { snapshot: v.snapshot, ...(v.lsn ? { lsn: parseLsn(v.lsn) } : {}) };
      }
    }
  } finally {
    await reader.close();
  }
  return found;
}
