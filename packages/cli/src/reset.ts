/**
 * `kafka-pattern reset <applicationId>`: Kafka Streams' application reset tool. Moves the
 * application's committed input offsets to the beginning (or to a point in time), deletes its
 * internal topics (`<applicationId>-...-changelog` / `-repartition`) and wipes its local state
 * directory, so the next run reprocesses its input from scratch. Refuses while the group has
 * active members: resetting under a running instance would be undone by its next commit.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  platformaticSecurityOptions,
  type SecuritySettings,
  toKafkaClientError,
} from '@kafka-pattern/streams-core/client';
import { Admin, ListOffsetTimestamps } from '@platformatic/kafka';

/** `tls` and `sasl`: how to reach a secured cluster (as the application's client.tls and client.sasl). */
export interface ResetOptions extends SecuritySettings {
  applicationId: string;
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
  const admin = new Admin({
    clientId: 'kafka-pattern-cli-reset',
    bootstrapBrokers: options.bootstrapServers,
    retries: 2,
    retryDelay: 250,
    ...platformaticSecurityOptions(options),
  });
  try {
    progress(`Checking consumer group "${applicationId}" on ${options.bootstrapServers.join(',')}...`);
    const groups = await admin.describeGroups({ groups: [applicationId] });
    const group = groups.get(applicationId);
    if (group !== undefined && group.members.size > 0) {
      throw new ResetError(
        `consumer group "${applicationId}" still has ${group.members.size} active member(s) (state ${group.state}): stop every instance of the application, wait for the group to empty (session timeout), then run reset again`,
      );
    }

    progress('Listing topics...');
    const topics = await admin.listTopics({ includeInternals: false });
    const missing = options.inputTopics.filter((t) => !topics.includes(t));
    if (missing.length > 0) {
      throw new ResetError(
        `input topic(s) ${missing.join(', ')} do not exist: check --input-topics (and --topology)`,
      );
    }
    const internalTopics = internalTopicsOf(applicationId, topics);

    const offsets: ResetPlan['offsets'] = [];
    if (options.inputTopics.length > 0) {
      const metadata = await admin.metadata({ topics: options.inputTopics });
      const timestamp =
        options.toDateTime === undefined ? ListOffsetTimestamps.EARLIEST : BigInt(options.toDateTime);
      const requests = options.inputTopics.map((name) => ({
        name,
        partitions: [...Array(metadata.topics.get(name)?.partitionsCount ?? 0).keys()].map(
          (partitionIndex) => ({
            partitionIndex,
            timestamp,
          }),
        ),
      }));
      progress(
        `Looking up ${options.toDateTime === undefined ? 'earliest offsets' : `offsets at ${new Date(options.toDateTime).toISOString()}`}...`,
      );
      const listed = await admin.listOffsets({ topics: requests });
      const latest =
        options.toDateTime === undefined
          ? undefined
          : await admin.listOffsets({
              topics: requests.map((r) => ({
                name: r.name,
                partitions: r.partitions.map((p) => ({ ...p, timestamp: ListOffsetTimestamps.LATEST })),
              })),
            });
      for (const t of listed) {
        for (const p of t.partitions) {
          // No record at or after the time: the end of the partition (as Kafka Streams' tool does).
          const end = latest
            ?.find((l) => l.name === t.name)
            ?.partitions.find((l) => l.partitionIndex === p.partitionIndex);
          const offset = p.offset < 0n && end !== undefined ? end.offset : p.offset;
          offsets.push({ topic: t.name, partition: p.partitionIndex, offset });
        }
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
      const byTopic = new Map<string, { partition: number; offset: bigint }[]>();
      for (const o of offsets)
        byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), { partition: o.partition, offset: o.offset }]);
      await admin.alterConsumerGroupOffsets({
        groupId: applicationId,
        topics: [...byTopic].map(([name, partitionOffsets]) => ({ name, partitionOffsets })),
      });
    }
    if (internalTopics.length > 0) {
      progress(`Deleting ${internalTopics.length} internal topic(s)...`);
      await admin.deleteTopics({ topics: internalTopics });
    }
    if (stateDir !== undefined) {
      progress(`Deleting ${stateDir}...`);
      rmSync(stateDir, { recursive: true, force: true });
    }
    progress('Done: the next run of the application reprocesses its input from the reset offsets.');
    return plan;
  } catch (error) {
    if (error instanceof ResetError) throw error;
    // A refused login or an untrusted certificate says which setting to change.
    throw toKafkaClientError(error, {
      bootstrapServers: options.bootstrapServers,
      ...(options.sasl !== undefined
        ? {
            sasl: {
              mechanism: options.sasl.mechanism,
              ...(options.sasl.mechanism !== 'OAUTHBEARER' ? { username: options.sasl.username } : {}),
            },
          }
        : {}),
      ...(options.tls !== undefined ? { tls: true } : {}),
    });
  } finally {
    await admin.close();
  }
}
