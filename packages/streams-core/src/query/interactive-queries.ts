/**
 * Interactive queries of a running instance: what `KafkaStreams.store`, `queryMetadataForKey`
 * and `allMetadata` answer, and what this instance puts in its subscription userData so that
 * the other instances can find it.
 *
 * This coordinator resolves a store name against the topology, hands out views over the
 * store's copies on the local tasks (`store-views.ts`, `composite-stores.ts`), places keys on
 * partitions, and asks the group where the other partitions are (`metadata.ts`).
 */

import { randomUUID } from 'node:crypto';
import type { AdminPort } from '../client/port.ts';
import { StreamsException } from '../errors/exception-handlers.ts';
import type { Logger } from '../observability/logger.ts';
import { partitionForKey } from '../partitioning/partitioner.ts';
import type { TopicPlan } from '../runtime/internal-topics.ts';
import type { StreamsState } from '../runtime/kafka-streams.ts';
import type { ActiveTask } from '../runtime/task-manager.ts';
import type { Serde } from '../serdes/serde.ts';
import { type KeyValueStore, PlainValueView } from '../state/key-value-store.ts';
import { changelogTopicName } from '../state/store-builder.ts';
import type { ValueAndTimestamp } from '../state/value-and-timestamp.ts';
import type { Topology } from '../topology/topology.ts';
import { type TopologyGraph, topologyGraph } from '../topology/topology-graph.ts';
import { type LocalStoreLookup, LocalStores } from './composite-stores.ts';
import {
  GroupMembers,
  type KeyQueryMetadata,
  ownerOf,
  type StreamsMetadata,
  streamsMetadata,
} from './metadata.ts';
import { ProcessedPositions } from './positions.ts';
import {
  InvalidStateStoreException,
  type QueryableStoreInfo,
  type QueryableStoreType,
  type QueryableStoreTypes,
  storeView,
  UnknownStateStoreException,
} from './store-views.ts';
import { encodeSubscriptionInfo, type HostInfo, parseHostInfo } from './subscription-info.ts';

/** The parts of a KafkaStreams instance interactive queries read. */
export interface InteractiveQueriesHost {
  readonly applicationId: string;
  readonly topology: Topology;
  readonly applicationServer: string | undefined;
  readonly defaultKeySerde: Serde<unknown> | undefined;
  readonly logger: Logger;
  state(): StreamsState;
  activeTasks(): ActiveTask[];
  plan(): TopicPlan | undefined;
  admin(): AdminPort | undefined;
  /** The global stores, by name, while the instance runs. */
  globalStores(): ReadonlyMap<string, unknown> | undefined;
  /** numStreamThreads: stores are read on the main event loop, where only stream thread 1 runs. */
  readonly streamThreads?: number;
  onStateChange(listener: (state: StreamsState) => void): void;
}

export class InteractiveQueries implements LocalStoreLookup {
  readonly #host: InteractiveQueriesHost;
  readonly #topology: TopologyGraph;
  readonly #instanceId = randomUUID();
  readonly #ownHost: HostInfo | undefined;
  readonly #stores = new Map<string, QueryableStoreInfo>();
  readonly #members: GroupMembers;
  /** How far the local tasks have processed their partitions (read-your-writes). */
  readonly positions: ProcessedPositions;

  constructor(host: InteractiveQueriesHost) {
    this.#host = host;
    this.positions = new ProcessedPositions(() => host.activeTasks());
    this.#topology = topologyGraph(host.topology);
    this.#ownHost = host.applicationServer === undefined ? undefined : parseHostInfo(host.applicationServer);
    this.#members = new GroupMembers({
      applicationId: host.applicationId,
      instanceId: this.#instanceId,
      logger: host.logger,
      state: () => host.state(),
      admin: () => host.admin(),
      onStateChange: (listener) => host.onStateChange(listener),
    });
  }

  /** This instance's query address, as configured. */
  get hostInfo(): HostInfo | undefined {
    return this.#ownHost;
  }

  /** The consumer's subscription userData: this instance's id and query address. */
  subscriptionUserData(): Buffer {
    return encodeSubscriptionInfo({
      instanceId: this.#instanceId,
      applicationServer: this.#host.applicationServer,
    });
  }

  describeStore(name: string): QueryableStoreInfo {
    const known = this.#stores.get(name);
    if (known) return known;
    const topology = this.#topology;
    const builder = topology.storeBuilder(name);
    if (!builder) {
      const names = topology.storeNames();
      throw new UnknownStateStoreException(
        `No store named "${name}" in "${this.#host.applicationId}": its stores are ${names.length > 0 ? names.map((s) => `"${s}"`).join(', ') : 'none'}`,
      );
    }
    const sub = topology.subtopologies().find((s) => s.stores.includes(name));
    if (!sub)
      throw new UnknownStateStoreException(
        `Store "${name}" is not connected to any processor, so no task holds it`,
      );
    const keySerde = builder.keySerde ?? this.#host.defaultKeySerde;
    if (!keySerde)
      throw new StreamsException(
        `Store "${name}" has no key serde and the config sets no defaultKeySerde: queries cannot find a key's partition`,
      );
    const kind = builder.spec.kind;
    const type: QueryableStoreType =
      kind === 'keyValue' || kind === 'timestampedKeyValue'
        ? 'keyValue'
        : kind === 'session'
          ? 'session'
          : 'window';
    const info: QueryableStoreInfo = {
      name,
      type,
      kind,
      subtopology: sub.id,
      keySerde,
      serdeTopic: changelogTopicName(this.#host.applicationId, name),
    };
    this.#stores.set(name, info);
    return info;
  }

  /** A read-only view of the store over this instance's active tasks; see `KafkaStreams.store`. */
  store<K, V, T extends QueryableStoreType>(name: string, type: T): QueryableStoreTypes<K, V>[T] {
    if (this.#topology.isGlobalStore(name)) {
      // A global store is complete on every instance: read it locally.
      const store = this.#host.globalStores()?.get(name);
      if (!store)
        throw new InvalidStateStoreException(
          `Global store "${name}" is not open: the application is not running`,
        );
      const kind = this.#topology.storeBuilder(name)!.spec.kind;
      return (
        kind === 'timestampedKeyValue'
          ? new PlainValueView(store as KeyValueStore<K, ValueAndTimestamp<V>>)
          : store
      ) as QueryableStoreTypes<K, V>[T];
    }
    const info = this.describeStore(name);
    const threads = this.#host.streamThreads ?? 1;
    if (threads > 1)
      throw new InvalidStateStoreException(
        `Store "${name}" cannot be queried with store() while "${this.#host.applicationId}" runs ${threads} stream threads: threads 2..${threads} keep their tasks' stores in worker threads. Use numStreamThreads 1 (and more instances) for interactive queries of stores`,
      );
    if (info.type !== type) {
      throw new InvalidStateStoreException(
        `Store "${name}" is a ${info.kind} store, not a ${type} store: ask for it with store("${name}", "${info.type}")`,
      );
    }
    const windowSizeMs = type === 'window' ? (this.#topology.storeBuilder(name)!.spec.windowSizeMs ?? 0) : 0;
    return storeView<K, V, T>(new LocalStores(this, info), type, windowSizeMs);
  }

  /** The input topics of a store's sub-topology (a position bounding a read of the store is on one of them). */
  sourceTopics(info: QueryableStoreInfo): readonly string[] {
    return this.#plan().sourceTopics.get(info.subtopology) ?? [];
  }

  /** The partition of a key in a store's sub-topology. */
  partitionOf(info: QueryableStoreInfo, key: unknown, keySerde: Serde<unknown> = info.keySerde): number {
    const bytes = keySerde.serialize(info.serdeTopic, key);
    if (bytes === null)
      throw new StreamsException(`A null key has no partition: store "${info.name}" holds no null keys`);
    return partitionForKey(bytes, this.#partitions(info));
  }

  /** The local typed stores of a store, by partition. Throws while the instance is not RUNNING. */
  localStores(info: QueryableStoreInfo): Map<number, unknown> {
    const state = this.#host.state();
    if (state !== 'RUNNING') {
      throw new InvalidStateStoreException(
        `Store "${info.name}" cannot be queried while "${this.#host.applicationId}" is ${state}${state === 'REBALANCING' || state === 'CREATED' ? ': retry once it is RUNNING' : ''}`,
      );
    }
    const out = new Map<number, unknown>();
    for (const t of this.#host.activeTasks()) {
      if (t.subtopology !== info.subtopology) continue;
      const s = t.task.stores.get(info.name);
      if (s !== undefined) out.set(t.partition, s);
    }
    return out;
  }

  isLocal(info: QueryableStoreInfo, partition: number): boolean {
    if (this.#host.state() !== 'RUNNING') return false;
    return this.#host
      .activeTasks()
      .some((t) => t.subtopology === info.subtopology && t.partition === partition);
  }

  async queryMetadataForKey<K>(storeName: string, key: K, keySerde?: Serde<K>): Promise<KeyQueryMetadata> {
    const info = this.describeStore(storeName);
    const partition = this.partitionOf(info, key, keySerde);
    const local = this.isLocal(info, partition);
    if (local) return { partition, activeHost: this.#ownHost, local };
    const group = await this.#members.current();
    const owner = ownerOf(group, this.#plan().sourceTopics.get(info.subtopology) ?? [], partition);
    // Another stream thread of this instance (a worker) may run the task.
    return { partition, activeHost: owner?.hostInfo, local: owner?.local ?? false };
  }

  async allMetadata(): Promise<StreamsMetadata[]> {
    const plan = this.#plan();
    const group = await this.#members.current();
    return streamsMetadata(group, this.#topology.subtopologies(), plan.sourceTopics);
  }

  #plan(): TopicPlan {
    const plan = this.#host.plan();
    if (!plan)
      throw new InvalidStateStoreException(
        `"${this.#host.applicationId}" has not started: call start() before querying it`,
      );
    return plan;
  }

  #partitions(info: QueryableStoreInfo): number {
    const n = this.#plan().tasksPerSubtopology.get(info.subtopology);
    if (n === undefined)
      throw new StreamsException(
        `Sub-topology ${info.subtopology} of store "${info.name}" has no task count`,
      );
    return n;
  }
}
