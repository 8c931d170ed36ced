/**
 * Which instance holds what: `StreamsMetadata` per instance of the application and
 * `KeyQueryMetadata` per key, both read from the consumer group.
 *
 * Every instance puts its id and query address in its subscription userData
 * (`subscription-info.ts`), and the coordinator's description of the group pairs each member's
 * userData with its assignment. That description is cached and read again after every
 * rebalance; an answer given while the group was not Stable is used once and not kept.
 */

import type { AdminPort, GroupDescription, TopicPartition } from '../client/port.ts';
import { errorMessage } from '../errors/exception-handlers.ts';
import type { Logger } from '../observability/logger.ts';
import type { StreamsState } from '../runtime/kafka-streams.ts';
import { decodeSubscriptionInfo, type HostInfo, parseHostInfo } from './subscription-info.ts';

/** Where one key of a store lives. */
export interface KeyQueryMetadata {
  /** The partition (and task `<subtopology>_<partition>`) that holds the key. */
  readonly partition: number;
  /** The instance running that task, as its `applicationServer`; undefined while nobody does or it has no address. */
  readonly activeHost: HostInfo | undefined;
  /** This instance runs that task now: `app.store(...)` answers for the key here. */
  readonly local: boolean;
}

/** One instance of the application, as the consumer group sees it. */
export interface StreamsMetadata {
  readonly applicationServer: string | undefined;
  readonly hostInfo: HostInfo | undefined;
  /** This is the instance asking. */
  readonly local: boolean;
  readonly clientId: string;
  readonly topicPartitions: TopicPartition[];
  /** Task ids `<subtopology>_<partition>`. */
  readonly tasks: string[];
  /** Stores of the sub-topologies it runs at least one task of. */
  readonly stores: string[];
}

/** One member of the consumer group, with what its userData says about it. */
export interface GroupMember {
  readonly clientId: string;
  /** The KafkaStreams instance the member belongs to (one per stream thread), from its userData. */
  readonly instanceId: string | undefined;
  readonly applicationServer: string | undefined;
  readonly hostInfo: HostInfo | undefined;
  readonly local: boolean;
  readonly partitions: TopicPartition[];
}

export interface GroupView {
  /** The group was Stable: every member's assignment is in the answer. */
  readonly stable: boolean;
  readonly members: GroupMember[];
}

/** What reading the group needs from the running instance. */
export interface GroupMembersOptions {
  readonly applicationId: string;
  /** This instance's id, as its own subscription userData carries it. */
  readonly instanceId: string;
  readonly logger: Logger;
  state(): StreamsState;
  admin(): AdminPort | undefined;
  onStateChange(listener: (state: StreamsState) => void): void;
}

const STABLE_WAIT_MS = 5_000;
const STOPPED = new Set<StreamsState>(['PENDING_SHUTDOWN', 'NOT_RUNNING', 'PENDING_ERROR', 'ERROR']);
const STABLE_POLL_MS = 200;

/** The members of the application's consumer group, described by the coordinator and cached between rebalances. */
export class GroupMembers {
  readonly #options: GroupMembersOptions;
  #group: Promise<GroupView> | undefined;

  constructor(options: GroupMembersOptions) {
    this.#options = options;
    options.onStateChange((state) => {
      // Assignments change only through a rebalance: forget the old answer when one starts and
      // ask again once this instance has its new tasks.
      if (state === 'RUNNING') this.#group = this.#describeGroup();
      else this.#group = undefined;
    });
  }

  async current(): Promise<GroupView> {
    const cached = this.#group;
    const pending = cached ?? this.#describeGroup();
    if (!cached) this.#group = pending;
    const view = await pending;
    // A half-formed answer is returned but not kept: the next question asks the coordinator again.
    if (!view.stable && this.#group === pending) this.#group = undefined;
    return view;
  }

  async #describeGroup(): Promise<GroupView> {
    const o = this.#options;
    const admin = o.admin();
    if (!admin) return { stable: false, members: [] };
    const deadline = performance.now() + STABLE_WAIT_MS;
    for (;;) {
      // A stopping instance has closed its admin client: nothing more to learn.
      if (STOPPED.has(o.state())) return { stable: false, members: [] };
      let description: GroupDescription | undefined;
      try {
        description = await admin.describeGroup(o.applicationId);
      } catch (error) {
        // The coordinator may be moving; an empty answer now is better than a failed query.
        if (performance.now() >= deadline) {
          o.logger.warn(
            { groupId: o.applicationId },
            `could not describe group "${o.applicationId}" for interactive queries: ${errorMessage(error)}`,
          );
          return { stable: false, members: [] };
        }
        await sleep(STABLE_POLL_MS);
        continue;
      }
      const stable = description?.state === 'Stable';
      if (stable || performance.now() >= deadline) {
        const members = (description?.members ?? []).map((m): GroupMember => {
          const info = decodeSubscriptionInfo(m.userData);
          let hostInfo: HostInfo | undefined;
          try {
            hostInfo =
              info?.applicationServer === undefined ? undefined : parseHostInfo(info.applicationServer);
          } catch {
            hostInfo = undefined;
          }
          return {
            clientId: m.clientId,
            instanceId: info?.instanceId,
            applicationServer: info?.applicationServer,
            hostInfo,
            local: info?.instanceId === o.instanceId,
            partitions: m.assignment,
          };
        });
        return { stable, members };
      }
      await sleep(STABLE_POLL_MS);
    }
  }
}

/** The member assigned `partition` of one of a sub-topology's source topics. */
export function ownerOf(
  group: GroupView,
  sourceTopics: readonly string[],
  partition: number,
): GroupMember | undefined {
  const sources = new Set(sourceTopics);
  return group.members.find((m) =>
    m.partitions.some((tp) => tp.partition === partition && sources.has(tp.topic)),
  );
}

/**
 * Every instance as `StreamsMetadata`: its tasks are the partitions its members (one per stream
 * thread) hold of each sub-topology's (resolved) source topics, its stores those of the
 * sub-topologies it runs. An instance's client id is its first member's.
 */
export function streamsMetadata(
  group: GroupView,
  subtopologies: readonly { readonly id: number; readonly stores: readonly string[] }[],
  sourceTopics: ReadonlyMap<number, readonly string[]>,
): StreamsMetadata[] {
  const instances = new Map<string, GroupMember>();
  const alone: GroupMember[] = [];
  for (const m of [...group.members].sort((a, b) => a.clientId.localeCompare(b.clientId))) {
    if (m.instanceId === undefined) {
      alone.push(m);
      continue;
    }
    const known = instances.get(m.instanceId);
    if (known) instances.set(m.instanceId, { ...known, partitions: [...known.partitions, ...m.partitions] });
    else instances.set(m.instanceId, m);
  }
  return [...instances.values(), ...alone].map((m) => {
    const tasks = new Set<string>();
    const stores = new Set<string>();
    for (const s of subtopologies) {
      const sources = new Set(sourceTopics.get(s.id) ?? []);
      for (const tp of m.partitions) {
        if (!sources.has(tp.topic)) continue;
        tasks.add(`${s.id}_${tp.partition}`);
        for (const name of s.stores) stores.add(name);
      }
    }
    return {
      applicationServer: m.applicationServer,
      hostInfo: m.hostInfo,
      local: m.local,
      clientId: m.clientId,
      topicPartitions: m.partitions.map((tp) => ({ ...tp })),
      tasks: [...tasks].sort(compareTaskIds),
      stores: [...stores].sort(),
    };
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function compareTaskIds(a: string, b: string): number {
  const [sa, pa] = a.split('_').map(Number) as [number, number];
  const [sb, pb] = b.split('_').map(Number) as [number, number];
  return sa - sb || pa - pb;
}
