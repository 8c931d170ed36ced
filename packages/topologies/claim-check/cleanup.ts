/**
 * Removes the S3 objects of a claim-check topic whose records are gone. Kafka deletes records by
 * retention (or compaction) and never tells S3; without this the bucket only grows.
 *
 * The rule: an object under `<prefix><topic>/` is deleted when no record still in the topic (from
 * each partition's oldest offset to its last stable offset, read_committed) refers to it, and S3
 * last wrote it more than `graceMs` ago. Why the topic's contents and not the object's age against
 * `retention.ms` alone: Kafka deletes whole segments once their newest record is older than
 * `retention.ms`, so a record can outlive it by up to `segment.ms`; record timestamps are the
 * producer's (a record can carry an event time far older than its object); compacted topics keep
 * records for ever; and an aborted transaction leaves an object no reader will ever ask for. The
 * grace keeps an object whose record is still on its way (uploaded, not yet committed).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import {
  createPlatformaticClientFactory,
  type PartitionRange,
  recordsOf,
  type SecuritySettings,
  topicPartitionKey,
} from '@kafka-pattern/streams-core/client';
import { deleteObject, listObjects, type StoredObject } from './s3-objects.ts';
import {
  BACKED,
  KEY_BACKED_HEADER,
  normalizePrefix,
  s3Uri,
  topicPrefix,
  VALUE_BACKED_HEADER,
} from './wire-format.ts';

/** `tls` and `sasl`: how to reach a secured cluster (as the application's client.tls and client.sasl). */
export interface ClaimCheckCleanupOptions extends SecuritySettings {
  readonly s3: S3Client;
  readonly bucket: string;
  /** As given to the serde. */
  readonly prefix?: string;
  readonly bootstrapServers: string[];
  readonly topic: string;
  /**
   * Objects younger than this are kept even when nothing refers to them yet: longer than the
   * longest a send can take to commit (transaction or delivery timeout). Default 15 minutes.
   */
  readonly graceMs?: number;
  /** Report what would be deleted, delete nothing. */
  readonly dryRun?: boolean;
  /**
   * The topic does not exist: delete all its objects (past the grace). Off by default, so that a
   * wrong bootstrap address or a typo never empties a bucket.
   */
  readonly topicDeleted?: boolean;
  /** Bound on reading the topic. Default 5 minutes. */
  readonly scanTimeoutMs?: number;
  readonly now?: () => number;
}

export interface ClaimCheckCleanupReport {
  readonly topic: string;
  /** The topic's `retention.ms` and `cleanup.policy` as the broker reports them (undefined: no topic). */
  readonly retentionMs: number | undefined;
  readonly cleanupPolicy: string | undefined;
  /** Records read from the topic, and the object URIs they refer to. */
  readonly scannedRecords: number;
  readonly referenced: number;
  /** Objects under the topic's prefix. */
  readonly listed: number;
  /** URIs deleted (or that would be, on a dry run). */
  readonly deleted: string[];
  /** Unreferenced objects kept because they are younger than the grace. */
  readonly young: string[];
}

export const DEFAULT_GRACE_MS = 15 * 60_000;

export async function cleanupClaims(options: ClaimCheckCleanupOptions): Promise<ClaimCheckCleanupReport> {
  const { s3, bucket, topic } = options;
  const prefix = normalizePrefix(options.prefix ?? '');
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  if (!(graceMs >= 0)) throw new TypeError(`cleanupClaims: graceMs must be >= 0 (got ${graceMs})`);
  if (!topic) throw new TypeError('cleanupClaims: name the topic whose objects to clean up');
  const now = options.now ?? Date.now;
  const clients = createPlatformaticClientFactory({
    bootstrapServers: options.bootstrapServers,
    clientId: 'claim-check-cleanup',
    tls: options.tls,
    sasl: options.sasl,
  });
  const admin = clients.admin();
  let retentionMs: number | undefined;
  let cleanupPolicy: string | undefined;
  let scannedRecords = 0;
  const referenced = new Set<string>();
  try {
    const configs = await admin.describeTopicConfigs(topic);
    if (configs === undefined) {
      if (!options.topicDeleted)
        throw new Error(
          `Topic "${topic}" does not exist at ${options.bootstrapServers.join(',')}: check the topic and the bootstrap servers; ` +
            'if the topic was deleted on purpose, run again with topicDeleted (--topic-deleted) to remove all its objects',
        );
    } else {
      retentionMs = Number(configs['retention.ms']);
      cleanupPolicy = configs['cleanup.policy'];
      const partitions = (await admin.describeTopics([topic])).get(topic)?.partitions ?? 0;
      const tps = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }));
      const earliest = await admin.listOffsets(tps, 'earliest');
      const stable = await admin.listOffsets(tps, 'latest', 'read_committed');
      const ranges: PartitionRange[] = tps
        .map((tp) => ({
          ...tp,
          from: earliest.get(topicPartitionKey(tp))!,
          until: stable.get(topicPartitionKey(tp))!,
        }))
        .filter((r) => r.until > r.from);
      scannedRecords = await scanReferences(clients, ranges, referenced, options.scanTimeoutMs ?? 300_000);
    }
  } finally {
    await admin.close();
  }

  const deleted: string[] = [];
  const young: string[] = [];
  let listed = 0;
  const cutoff = now() - graceMs;
  const stale: StoredObject[] = [];
  for await (const o of listObjects(s3, bucket, topicPrefix(prefix, topic))) {
    listed++;
    const uri = s3Uri(bucket, o.key);
    if (referenced.has(uri)) continue;
    if (o.lastModified.getTime() > cutoff) young.push(uri);
    else stale.push(o);
  }
  for (const o of stale) {
    if (!options.dryRun) await deleteObject(s3, bucket, o.key);
    deleted.push(s3Uri(bucket, o.key));
  }
  return {
    topic,
    retentionMs,
    cleanupPolicy,
    scannedRecords,
    referenced: referenced.size,
    listed,
    deleted,
    young,
  };
}

/** Reads the ranges to their ends and collects every S3 URI a key or value refers to. */
async function scanReferences(
  clients: ReturnType<typeof createPlatformaticClientFactory>,
  ranges: PartitionRange[],
  into: Set<string>,
  timeoutMs: number,
): Promise<number> {
  if (ranges.length === 0) return 0;
  const reader = clients.partitionReader({
    clientId: 'claim-check-cleanup-scan',
    isolationLevel: 'read_committed',
    maxWaitMs: 200,
  });
  let n = 0;
  try {
    reader.assign(ranges);
    const deadline = Date.now() + timeoutMs;
    while (reader.pending().length > 0) {
      if (Date.now() > deadline)
        throw new Error(
          `Reading ${ranges[0]!.topic} to its end took longer than ${timeoutMs} ms: nothing was deleted; raise scanTimeoutMs (--scan-timeout-ms)`,
        );
      for (const r of recordsOf(await reader.poll())) {
        n++;
        const v = referenceOf(r.value, r.headers.lastValue(VALUE_BACKED_HEADER));
        if (v) into.add(v);
        const k = referenceOf(r.key, r.headers.lastValue(KEY_BACKED_HEADER));
        if (k) into.add(k);
      }
    }
  } finally {
    await reader.close();
  }
  return n;
}

/** The URI a claim-check key or value refers to, in either mode; undefined when it is inline. */
function referenceOf(data: Buffer | null, flagHeader: Buffer | undefined): string | undefined {
  if (data === null || data.length === 0) return undefined;
  let uri: Buffer;
  if (flagHeader !== undefined) {
    if (flagHeader[0] !== BACKED) return undefined;
    uri = data;
  } else {
    if (data[0] !== BACKED) return undefined;
    uri = data.subarray(1);
  }
  const s = uri.toString('utf8');
  return s.startsWith('s3://') ? s : undefined;
}
