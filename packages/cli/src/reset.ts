/**
 * `kafka-pattern reset <applicationId>`: Kafka Streams' application reset tool. Moves the
 * application's committed input offsets to the beginning (or to a point in time), deletes its
 * internal topics (`<applicationId>-...-changelog` / `-repartition`) and wipes its local state
 * directory, so the next run reprocesses its input from scratch. Refuses while the group has
 * active members: resetting under a running instance would be undone by its next commit.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type KafkaClientFactory, topicPartitionKey } from '@kafka-pattern/streams-core/client';

export interface ResetOptions {
  applicationId: string;
  /** The clients to the cluster (its admin is used), with the connection settings (tls, sasl) they carry. */
  clients: KafkaClientFactory;
  /** Where the cluster is, for messages. */
  bootstrapServers: string[];
  inputTopics: string[];
  /** ms since the epoch; the beginning of each partition when absent. */
  toDateTime?: number;
  /** The application's state directory root; `<stateDir>/<applicationId>` is wiped. */
  stateDir?: string;
  dryRun: boolean;
  progress(line: string): void;
}

export interface ResetPlan {
  /** Committed offsets to set, per input partition. */
  offsets: { topic: string; partition: number; offset: bigint }[];
  internalTopics: string[];
  stateDir?: string;
}

export class ResetError extends Error {
  override name = 'ResetError';
}

/** The application's internal topics among a cluster's topics. */
export function internalTopicsOf(applicationId: string, topics: readonly string[]): string[] {
  return topics
    .filter(
      (t) => t.startsWith(`${applicationId}-`) && (t.endsWith('-changelog') || t.endsWith('-repartition')),
    )
    .sort();
}

/** What a reset does, in the order it does it, for `--dry-run` and progress. */
export function describePlan(applicationId: string, plan: ResetPlan, dryRun: boolean): string[] {
  const verb = dryRun ? 'would' : 'will';
  const lines = [`Reset of application "${applicationId}"${dryRun ? ' (dry run: nothing is changed)' : ''}:`];
  if (plan.offsets.length === 0) lines.push('  no input topic offsets to reset (no --input-topics given)');
  for (const o of plan.offsets)
    lines.push(`  ${verb} set offset of ${o.topic}-${o.partition} to ${o.offset}`);
  if (plan.internalTopics.length === 0) lines.push('  no internal topics to delete');
  for (const t of plan.internalTopics) lines.push(`  ${verb} delete internal topic ${t}`);
  if (plan.stateDir !== undefined) lines.push(`  ${verb} delete local state directory ${plan.stateDir}`);
  return lines;
}

export async function resetApplication(options: ResetOptions): Promise<ResetPlan> {
  const { applicationId, progress } = options;
  const admin = options.clients.admin();
  try {
    progress(`Checking consumer group "${applicationId}" on ${options.bootstrapServers.join(',')}...`);
    const group = await admin.describeGroup(applicationId);
    if (group !== undefined && group.members.length > 0) {
      throw new ResetError(
        `consumer group "${applicationId}" still has ${group.members.length} active member(s) (state ${group.state}): stop every instance of the application, wait for the group to empty (session timeout), then run reset again`,
      );
    }

    progress('Listing topics...');
    const topics = await admin.listTopics();
    const missing = options.inputTopics.filter((t) => !topics.includes(t));
    if (missing.length > 0) {
      throw new ResetError(
        `input topic(s) ${missing.join(', ')} do not exist: check --input-topics (and --topology)`,
      );
    }
    const internalTopics = internalTopicsOf(applicationId, topics);

    const offsets: ResetPlan['offsets'] = [];
    if (options.inputTopics.length > 0) {
      const described = await admin.describeTopics(options.inputTopics);
      const partitions = options.inputTopics.flatMap((topic) =>
        [...Array(described.get(topic)?.partitions ?? 0).keys()].map((partition) => ({ topic, partition })),
      );
      progress(
        `Looking up ${options.toDateTime === undefined ? 'earliest offsets' : `offsets at ${new Date(options.toDateTime).toISOString()}`}...`,
      );
      const earliest =
        options.toDateTime === undefined ? await admin.listOffsets(partitions, 'earliest') : undefined;
      const atTime =
        options.toDateTime === undefined
          ? undefined
          : await admin.offsetsForTimes(partitions, options.toDateTime);
      // No record at or after the time: the end of the partition (as Kafka Streams' tool does).
      const latest = atTime === undefined ? undefined : await admin.listOffsets(partitions, 'latest');
      for (const tp of partitions) {
        const key = topicPartitionKey(tp);
        const offset = earliest?.get(key) ?? atTime?.get(key) ?? latest?.get(key);
        if (offset === undefined)
          throw new ResetError(`the broker gave no offset for ${tp.topic}-${tp.partition}`);
        offsets.push({ ...tp, offset });
      }
      offsets.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    }

    const stateDir =
      options.stateDir !== undefined && existsSync(join(options.stateDir, applicationId))
        ? join(options.stateDir, applicationId)
        : undefined;
    const plan: ResetPlan = { offsets, internalTopics, ...(stateDir !== undefined ? { stateDir } : {}) };
    for (const line of describePlan(applicationId, plan, options.dryRun)) progress(line);
    if (options.dryRun) return plan;

    if (offsets.length > 0) {
      progress(`Committing ${offsets.length} offset(s) for group "${applicationId}"...`);
      await admin.alterGroupOffsets(applicationId, offsets);
    }
    if (internalTopics.length > 0) {
      progress(`Deleting ${internalTopics.length} internal topic(s)...`);
      await admin.deleteTopics(internalTopics);
    }
    if (stateDir !== undefined) {
      progress(`Deleting ${stateDir}...`);
      rmSync(stateDir, { recursive: true, force: true });
    }
    progress('Done: the next run of the application reprocesses its input from the reset offsets.');
    return plan;
  } finally {
    await admin.close();
  }
}
