/**
 * Group partition assignment that keeps co-partitioned topics together.
 *
 * The client's default assignor is round robin over all topic-partitions, which scatters
 * partition N of two joined topics across members. Here the unit of assignment is a task-like
 * "partition N of a co-partition group": all subscribed topics of one group that have partition N
 * go to one member. Topics in no group form a group of their own. Units are handed out in order
 * (group, partition) to the eligible member (subscribed to all the unit's topics) that has the
 * fewest units so far, ties broken by member id, so counts differ by at most one and every member
 * computes the same answer. Only the leader runs it, with its own copartition groups: every member
 * of an application runs the same topology, so they agree.
 */
import type {
  ClusterMetadata,
  ExtendedGroupProtocolSubscription,
  GroupPartitionsAssigner,
  GroupPartitionsAssignments,
} from '@platformatic/kafka';

interface Unit {
  topics: string[];
  partition: number;
}

export function copartitionedAssigner(copartitionGroups: string[][]): GroupPartitionsAssigner {
  return (_current, members, topics, metadata) => assign(copartitionGroups, members, topics, metadata);
}

export function assign(
  copartitionGroups: string[][],
  members: Map<string, ExtendedGroupProtocolSubscription>,
  topics: Set<string>,
  metadata: ClusterMetadata,
): GroupPartitionsAssignments[] {
  const memberIds = [...members.keys()].sort();
  const subscriptions = new Map(memberIds.map((id) => [id, new Set(members.get(id)?.topics ?? [...topics])]));
  const grouped = new Set<string>();
  const groups: string[][] = [];
  for (const group of copartitionGroups) {
    const present = group.filter((t) => topics.has(t) && !grouped.has(t));
    for (const t of present) grouped.add(t);
    if (present.length > 0) groups.push(present);
  }
  for (const t of [...topics].sort()) if (!grouped.has(t)) groups.push([t]);

  const units: Unit[] = [];
  for (const group of groups) {
    const counts = group.map((t) => metadata.topics.get(t)?.partitionsCount ?? 0);
    const max = Math.max(0, ...counts);
    for (let p = 0; p < max; p++) {
      units.push({ topics: group.filter((_, i) => (counts[i] ?? 0) > p), partition: p });
    }
  }

  const load = new Map(memberIds.map((id) => [id, 0]));
  const result = new Map<string, GroupPartitionsAssignments>(
    memberIds.map((id) => [id, { memberId: id, assignments: new Map() }]),
  );
  for (const unit of units) {
    let eligible = memberIds.filter((id) => unit.topics.every((t) => subscriptions.get(id)?.has(t)));
    if (eligible.length === 0)
      eligible = memberIds.filter((id) => unit.topics.some((t) => subscriptions.get(id)?.has(t)));
    let chosen: string | undefined;
    for (const id of eligible) {
      if (chosen === undefined || (load.get(id) ?? 0) < (load.get(chosen) ?? 0)) chosen = id;
    }
    if (chosen === undefined) continue;
    load.set(chosen, (load.get(chosen) ?? 0) + 1);
    const assignments = result.get(chosen)?.assignments;
    for (const topic of unit.topics) {
      if (!subscriptions.get(chosen)?.has(topic)) continue;
      const entry = assignments?.get(topic) ?? { topic, partitions: [] };
      entry.partitions.push(unit.partition);
      assignments?.set(topic, entry);
    }
  }
  return [...result.values()];
}
