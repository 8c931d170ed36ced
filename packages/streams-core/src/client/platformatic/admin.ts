/**
 * AdminPort on the client's Admin: idempotent topic creation with a clear error on a partition
 * count mismatch or a broker's refusal, topic descriptions that say "missing" instead of
 * throwing, and offsets keyed by partition.
 */
import {
  Admin,
  ConfigResourceTypes,
  FetchIsolationLevels,
  type Group,
  ListOffsetTimestamps,
} from '@platformatic/kafka';
import { TopicPartitionsMismatchError } from '../errors.ts';
import type {
  AdminPort,
  GroupDescription,
  GroupMemberDescription,
  IsolationLevel,
  TopicPartition,
  TopicSpec,
} from '../port.ts';
import { topicPartitionKey } from '../port.ts';
import { committedOffsets } from './committed.ts';
import { baseOptions, type ConnectionConfig, securityContext } from './connection.ts';
import { hasApiError, mapped, toPortError, toTopicCreationError } from './errors.ts';

export class PlatformaticAdmin implements AdminPort {
  readonly #admin: Admin;
  readonly #config: ConnectionConfig;

  constructor(config: ConnectionConfig) {
    this.#config = config;
    this.#admin = new Admin(baseOptions(config, `${config.clientId}-admin`));
  }

  async createTopics(topics: TopicSpec[]): Promise<void> {
    for (const [i, spec] of topics.entries()) {
      try {
        await this.#admin.createTopics({
          topics: [spec.name],
          partitions: spec.partitions,
          replicas: spec.replicationFactor ?? -1,
          configs: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
        });
      } catch (error) {
        if (!hasApiError(error, 'TOPIC_ALREADY_EXISTS')) {
          throw toTopicCreationError(error, {
            ...this.#context([spec.name]),
            spec,
            pending: topics.slice(i + 1),
            brokers: hasApiError(error, 'INVALID_REPLICATION_FACTOR') ? await this.#brokerCount() : undefined,
          });
        }
        const existing = (await this.describeTopics([spec.name])).get(spec.name);
        if (existing && existing.partitions !== spec.partitions) {
          throw new TopicPartitionsMismatchError(spec.name, spec.partitions, existing.partitions);
        }
      }
    }
  }

  async describeTopics(names: string[]): Promise<Map<string, { partitions: number } | undefined>> {
    const all = new Set(
      await mapped(this.#admin.listTopics({ includeInternals: true }), this.#context(names)),
    );
    const existing = names.filter((n) => all.has(n));
    const result = new Map<string, { partitions: number } | undefined>(names.map((n) => [n, undefined]));
    if (existing.length === 0) return result;
    const metadata = await mapped(
      this.#admin.metadata({ topics: existing, forceUpdate: true }),
      this.#context(existing),
    );
    for (const name of existing) {
      const topic = metadata.topics.get(name);
      result.set(name, topic ? { partitions: topic.partitionsCount } : undefined);
    }
    return result;
  }

  async listOffsets(
    partitions: TopicPartition[],
    which: 'earliest' | 'latest',
    isolationLevel: IsolationLevel = 'read_uncommitted',
  ): Promise<Map<string, bigint>> {
    const timestamp = which === 'earliest' ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST;
    return this.#listOffsets(partitions, timestamp, isolationLevel);
  }

  async offsetsForTimes(
    partitions: TopicPartition[],
    timestampMs: number,
  ): Promise<Map<string, bigint | undefined>> {
    const listed = await this.#listOffsets(partitions, BigInt(timestampMs), 'read_uncommitted');
    // The broker answers -1 for a partition with no record at or after the time.
    return new Map([...listed].map(([key, offset]) => [key, offset < 0n ? undefined : offset]));
  }

  async #listOffsets(
    partitions: TopicPartition[],
    timestamp: bigint,
    isolationLevel: IsolationLevel,
  ): Promise<Map<string, bigint>> {
    const result = new Map<string, bigint>();
    if (partitions.length === 0) return result;
    const byTopic = new Map<string, number[]>();
    for (const tp of partitions) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
    const listed = await mapped(
      this.#admin.listOffsets({
        topics: [...byTopic].map(([name, ps]) => ({
          name,
          partitions: ps.map((partitionIndex) => ({ partitionIndex, timestamp })),
        })),
        isolationLevel:
          isolationLevel === 'read_committed'
            ? FetchIsolationLevels.READ_COMMITTED
            : FetchIsolationLevels.READ_UNCOMMITTED,
      }),
      this.#context([...byTopic.keys()]),
    );
    for (const topic of listed) {
      for (const p of topic.partitions)
        result.set(topicPartitionKey({ topic: topic.name, partition: p.partitionIndex }), p.offset);
    }
    return result;
  }

  async describeTopicConfigs(topic: string): Promise<Record<string, string> | undefined> {
    if ((await this.describeTopics([topic])).get(topic) === undefined) return undefined;
    const described = await mapped(
      this.#admin.describeConfigs({
        resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }],
      }),
      this.#context([topic]),
    );
    const out: Record<string, string> = {};
    for (const c of described[0]?.configs ?? []) if (typeof c.value === 'string') out[c.name] = c.value;
    return out;
  }

  async deleteTopics(names: string[]): Promise<void> {
    if (names.length === 0) return;
    try {
      await this.#admin.deleteTopics({ topics: names });
    } catch (error) {
      if (!hasApiError(error, 'UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_ID'))
        throw toPortError(error, this.#context(names));
    }
  }

  async listTopics(): Promise<string[]> {
    return mapped(this.#admin.listTopics({ includeInternals: false }), this.#context());
  }

  async alterGroupOffsets(
    groupId: string,
    offsets: { topic: string; partition: number; offset: bigint }[],
  ): Promise<void> {
    if (offsets.length === 0) return;
    const byTopic = new Map<string, { partition: number; offset: bigint }[]>();
    for (const o of offsets)
      byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), { partition: o.partition, offset: o.offset }]);
    await mapped(
      this.#admin.alterConsumerGroupOffsets({
        groupId,
        topics: [...byTopic].map(([name, partitionOffsets]) => ({ name, partitionOffsets })),
      }),
      this.#context([...byTopic.keys()]),
    );
  }

  async listGroups(): Promise<string[]> {
    const groups = await mapped(this.#admin.listGroups(), this.#context());
    return [...groups.keys()];
  }

  async groupOffsets(groupId: string, partitions: TopicPartition[]): Promise<Map<string, bigint>> {
    return mapped(committedOffsets(this.#admin, groupId, partitions, 30_000), this.#context());
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    if (groupIds.length === 0) return;
    try {
      await this.#admin.deleteGroups({ groups: groupIds });
    } catch (error) {
      if (!hasApiError(error, 'GROUP_ID_NOT_FOUND')) throw toPortError(error, this.#context());
    }
  }

  async describeGroup(groupId: string): Promise<GroupDescription | undefined> {
    let groups: Map<string, Group>;
    try {
      groups = await this.#admin.describeGroups({ groups: [groupId] });
    } catch (error) {
      if (hasApiError(error, 'GROUP_ID_NOT_FOUND')) return undefined;
      throw toPortError(error, this.#context());
    }
    const group = groups.get(groupId);
    if (!group || group.state === 'Dead') return undefined;
    const members: GroupMemberDescription[] = [];
    for (const m of group.members.values()) {
      const assignment: TopicPartition[] = [];
      for (const a of m.assignments?.values() ?? []) {
        for (const partition of a.partitions) assignment.push({ topic: a.topic, partition });
      }
      members.push({
        memberId: m.id,
        clientId: m.clientId,
        clientHost: m.clientHost,
        userData: m.metadata?.metadata == null ? undefined : Buffer.from(m.metadata.metadata),
        assignment,
      });
    }
    members.sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
    return { groupId, state: group.state, members };
  }

  async close(): Promise<void> {
    await this.#admin.close();
  }

  /** How many brokers the cluster has, or undefined when it cannot be asked. */
  async #brokerCount(): Promise<number | undefined> {
    try {
      return (await this.#admin.metadata({ topics: [], forceUpdate: true })).brokers.size;
    } catch {
      return undefined;
    }
  }

  #context(topics?: string[]) {
    return {
      bootstrapServers: this.#config.bootstrapServers,
      ...securityContext(this.#config),
      ...(topics ? { topics } : {}),
    };
  }
}
