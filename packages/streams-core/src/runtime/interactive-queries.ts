/**
 * Interactive queries: read-only views of a running instance's local stores, and which instance
 * holds a key.
 *
 * A store exists once per task of its sub-topology; a view spans the tasks this instance runs
 * now and looks them up on every call, so it stays valid across rebalances. Point lookups go to
 * the task of the key's partition (murmur2 over the sub-topology's task count, as the producer
 * placed the key); range scans merge every local task in key-byte order.
 *
 * Where the other partitions are comes from the consumer group: every instance puts its query
 * address in its subscription userData, and the coordinator's description of the group pairs
 * each member's address with its assignment. That description is cached and read again after
 * every rebalance.
 */
import { randomUUID } from 'node:crypto';
import type { AdminPort, GroupDescription, TopicPartition } from '../client/port.ts';
import { StreamsException } from '../errors/exception-handlers.ts';
import { partitionForKey } from '../partitioning/partitioner.ts';
import type { KeyValue } from '../processor/api/record.ts';
import type { Serde } from '../serdes/serde.ts';
import type { Windowed } from '../serdes/windowed.ts';
import { PlainValueView, type ReadOnlyKeyValueStore } from '../state/key-value-store.ts';
import type { ReadOnlySessionStore } from '../state/session-store.ts';
import { changelogTopicName, type StoreKind } from '../state/store-builder.ts';
import type { ValueAndTimestamp } from '../state/value-and-timestamp.ts';
import { PlainWindowValueView, type ReadOnlyWindowStore, type WindowedValue } from '../state/window-store.ts';
import type { Topology } from '../topology/topology.ts';
import type { TopicPlan } from './internal-topics.ts';
import type { StreamsState } from './kafka-streams.ts';
import {
  decodeSubscriptionInfo,
  encodeSubscriptionInfo,
  type HostInfo,
  parseHostInfo,
} from './subscription-info.ts';
import type { ActiveTask } from './task-manager.ts';

export type { HostInfo } from './subscription-info.ts';

/** The store does not exist in the topology. */
export class UnknownStateStoreException extends StreamsException {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownStateStoreException';
  }
}

/** The store exists but cannot be read now (the instance is not RUNNING): retry later. */
export class InvalidStateStoreException extends StreamsException {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidStateStoreException';
  }
}

/** How a store is read: key-value (plain or timestamped), window (plain or timestamped), session. */
export type QueryableStoreType = 'keyValue' | 'window' | 'session';

export interface QueryableStoreTypes<K, V> {
  keyValue: ReadOnlyKeyValueStore<K, V>;
  window: ReadOnlyWindowStore<K, V>;
  session: ReadOnlySessionStore<K, V>;
}

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

/** What the views need to know about a store. */
export interface QueryableStoreInfo {
  readonly name: string;
  readonly type: QueryableStoreType;
  readonly kind: StoreKind;
  readonly subtopology: number;
  readonly keySerde: Serde<unknown>;
  /** The topic name the store's serdes are given: its changelog topic. */
  readonly serdeTopic: string;
}

/** The parts of a KafkaStreams instance interactive queries read. */
export interface InteractiveQueriesHost {
  readonly applicationId: string;
  readonly topology: Topology;
  readonly applicationServer: string | undefined;
  readonly defaultKeySerde: Serde<unknown> | undefined;
  state(): StreamsState;
  activeTasks(): ActiveTask[];
  plan(): TopicPlan | undefined;
  admin(): AdminPort | undefined;
  onStateChange(listener: (state: StreamsState) => void): void;
}

interface MemberView {
  readonly clientId: string;
  readonly applicationServer: string | undefined;
  readonly hostInfo: HostInfo | undefined;
  readonly local: boolean;
  readonly partitions: TopicPartition[];
}

interface GroupView {
  /** The group was Stable: every member's assignment is in the answer. */
  readonly stable: boolean;
  readonly members: MemberView[];
}

const STABLE_WAIT_MS = 5_000;
const STOPPED = new Set<StreamsState>(['PENDING_SHUTDOWN', 'NOT_RUNNING', 'PENDING_ERROR', 'ERROR']);
const STABLE_POLL_MS = 200;

export class InteractiveQueries {
  readonly #host: InteractiveQueriesHost;
  readonly #instanceId = randomUUID();
  readonly #ownHost: HostInfo | undefined;
  readonly #stores = new Map<string, QueryableStoreInfo>();
  #group: Promise<GroupView> | undefined;

  constructor(host: InteractiveQueriesHost) {
    this.#host = host;
    this.#ownHost = host.applicationServer === undefined ? undefined : parseHostInfo(host.applicationServer);
    host.onStateChange((state) => {
      // Assignments change only through a rebalance: forget the old answer when one starts and
      // ask again once this instance has its new tasks.
      if (state === 'RUNNING') this.#group = this.#describeGroup();
      else this.#group = undefined;
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
    const topology = this.#host.topology;
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
    const info = this.describeStore(name);
    if (info.type !== type) {
      throw new InvalidStateStoreException(
        `Store "${name}" is a ${info.kind} store, not a ${type} store: ask for it with store("${name}", "${info.type}")`,
      );
    }
    const source = new LocalStores(this, info);
    const view =
      type === 'keyValue'
        ? new KeyValueView(source)
        : type === 'window'
          ? new WindowView(source, this.#host.topology.storeBuilder(name)!.spec.windowSizeMs ?? 0)
          : new SessionView(source);
    return view as unknown as QueryableStoreTypes<K, V>[T];
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
    const group = await this.#currentGroup();
    const sources = new Set(this.#plan().sourceTopics.get(info.subtopology) ?? []);
    const owner = group.members.find((m) =>
      m.partitions.some((tp) => tp.partition === partition && sources.has(tp.topic)),
    );
    return { partition, activeHost: owner?.hostInfo, local };
  }

  async allMetadata(): Promise<StreamsMetadata[]> {
    const plan = this.#plan();
    const group = await this.#currentGroup();
    const subtopologies = this.#host.topology.subtopologies();
    return group.members.map((m) => {
      const tasks = new Set<string>();
      const stores = new Set<string>();
      for (const s of subtopologies) {
        const sources = new Set(plan.sourceTopics.get(s.id) ?? []);
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

  async #currentGroup(): Promise<GroupView> {
    const cached = this.#group;
    const pending = cached ?? this.#describeGroup();
    if (!cached) this.#group = pending;
    const view = await pending;
    // A half-formed answer is returned but not kept: the next question asks the coordinator again.
    if (!view.stable && this.#group === pending) this.#group = undefined;
    return view;
  }

  async #describeGroup(): Promise<GroupView> {
    const admin = this.#host.admin();
    if (!admin) return { stable: false, members: [] };
    const deadline = performance.now() + STABLE_WAIT_MS;
    for (;;) {
      // A stopping instance has closed its admin client: nothing more to learn.
      if (STOPPED.has(this.#host.state())) return { stable: false, members: [] };
      let description: GroupDescription | undefined;
      try {
        description = await admin.describeGroup(this.#host.applicationId);
      } catch (error) {
        // The coordinator may be moving; an empty answer now is better than a failed query.
        if (performance.now() >= deadline) {
          console.warn(
            `[kafka-pattern] could not describe group "${this.#host.applicationId}" for interactive queries: ${(error as Error).message}`,
          );
          return { stable: false, members: [] };
        }
        await sleep(STABLE_POLL_MS);
        continue;
      }
      const stable = description?.state === 'Stable';
      if (stable || performance.now() >= deadline) {
        const members = (description?.members ?? []).map((m): MemberView => {
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
            applicationServer: info?.applicationServer,
            hostInfo,
            local: info?.instanceId === this.#instanceId,
            partitions: m.assignment,
          };
        });
        return { stable, members };
      }
      await sleep(STABLE_POLL_MS);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function compareTaskIds(a: string, b: string): number {
  const [sa, pa] = a.split('_').map(Number) as [number, number];
  const [sb, pb] = b.split('_').map(Number) as [number, number];
  return sa - sb || pa - pb;
}

/** The typed stores of one store name on this instance, looked up afresh on every call. */
class LocalStores {
  readonly info: QueryableStoreInfo;
  readonly #queries: InteractiveQueries;

  constructor(queries: InteractiveQueries, info: QueryableStoreInfo) {
    this.#queries = queries;
    this.info = info;
  }

  /** The store holding `key`, or undefined when its partition is not local. */
  forKey<S>(key: unknown): S | undefined {
    const stores = this.#queries.localStores(this.info);
    return this.#plain(stores.get(this.#queries.partitionOf(this.info, key))) as S | undefined;
  }

  all<S>(): S[] {
    const stores = this.#queries.localStores(this.info);
    return [...stores.keys()].sort((a, b) => a - b).map((p) => this.#plain(stores.get(p)) as S);
  }

  keyBytes(key: unknown): Buffer {
    return this.info.keySerde.serialize(this.info.serdeTopic, key) ?? Buffer.alloc(0);
  }

  /** Timestamped stores are shown with plain values, as the test driver shows them. */
  #plain(store: unknown): unknown {
    if (store === undefined) return undefined;
    if (this.info.kind === 'timestampedKeyValue')
      return new PlainValueView(store as ReadOnlyKeyValueStore<unknown, ValueAndTimestamp<unknown>>);
    if (this.info.kind === 'timestampedWindow')
      return new PlainWindowValueView(store as ReadOnlyWindowStore<unknown, ValueAndTimestamp<unknown>>);
    return store;
  }

  /**
   * Merges per-task answers into one in key-byte order (reversed when asked); entries of one
   * key keep the order their task gave them.
   */
  merge<E>(lists: E[][], keyOf: (entry: E) => unknown, reverse = false): E[] {
    if (lists.length === 1) return lists[0]!;
    const tagged: Array<{ bytes: Buffer; entry: E; list: number; index: number }> = [];
    for (let list = 0; list < lists.length; list++) {
      const entries = lists[list]!;
      for (let index = 0; index < entries.length; index++) {
        const entry = entries[index]!;
        tagged.push({ bytes: this.keyBytes(keyOf(entry)), entry, list, index });
      }
    }
    tagged.sort((a, b) => {
      const c = Buffer.compare(a.bytes, b.bytes);
      if (c !== 0) return reverse ? -c : c;
      return a.list - b.list || a.index - b.index;
    });
    return tagged.map((t) => t.entry);
  }
}

class KeyValueView<K, V> implements ReadOnlyKeyValueStore<K, V> {
  readonly name: string;
  readonly #source: LocalStores;

  constructor(source: LocalStores) {
    this.#source = source;
    this.name = source.info.name;
  }

  get(key: K): V | undefined {
    return this.#source.forKey<ReadOnlyKeyValueStore<K, V>>(key)?.get(key);
  }

  range(from: K | null, to: K | null): KeyValue<K, V>[] {
    return this.#merge((s) => s.range(from, to), false);
  }

  reverseRange(from: K | null, to: K | null): KeyValue<K, V>[] {
    return this.#merge((s) => s.reverseRange(from, to), true);
  }

  all(): KeyValue<K, V>[] {
    return this.#merge((s) => s.all(), false);
  }

  reverseAll(): KeyValue<K, V>[] {
    return this.#merge((s) => s.reverseAll(), true);
  }

  approximateNumEntries(): number {
    let n = 0;
    for (const s of this.#source.all<ReadOnlyKeyValueStore<K, V>>()) n += s.approximateNumEntries();
    return n;
  }

  #merge(read: (s: ReadOnlyKeyValueStore<K, V>) => KeyValue<K, V>[], reverse: boolean): KeyValue<K, V>[] {
    return this.#source.merge(
      this.#source.all<ReadOnlyKeyValueStore<K, V>>().map(read),
      (e) => e.key,
      reverse,
    );
  }
}

class WindowView<K, V> implements ReadOnlyWindowStore<K, V> {
  readonly name: string;
  readonly windowSizeMs: number;
  readonly #source: LocalStores;

  constructor(source: LocalStores, windowSizeMs: number) {
    this.#source = source;
    this.name = source.info.name;
    this.windowSizeMs = windowSizeMs;
  }

  fetch(key: K, windowStart: number): V | undefined;
  fetch(key: K, timeFrom: number, timeTo: number): WindowedValue<V>[];
  fetch(key: K, timeFrom: number, timeTo?: number): V | undefined | WindowedValue<V>[] {
    const store = this.#source.forKey<ReadOnlyWindowStore<K, V>>(key);
    if (timeTo === undefined) return store?.fetch(key, timeFrom);
    return store?.fetch(key, timeFrom, timeTo) ?? [];
  }

  backwardFetch(key: K, timeFrom: number, timeTo: number): WindowedValue<V>[] {
    return this.#source.forKey<ReadOnlyWindowStore<K, V>>(key)?.backwardFetch(key, timeFrom, timeTo) ?? [];
  }

  fetchRange(
    keyFrom: K | null,
    keyTo: K | null,
    timeFrom: number,
    timeTo: number,
  ): KeyValue<Windowed<K>, V>[] {
    return this.#merge((s) => s.fetchRange(keyFrom, keyTo, timeFrom, timeTo));
  }

  fetchAll(timeFrom: number, timeTo: number): KeyValue<Windowed<K>, V>[] {
    return this.#merge((s) => s.fetchAll(timeFrom, timeTo));
  }

  all(): KeyValue<Windowed<K>, V>[] {
    return this.#merge((s) => s.all());
  }

  #merge(read: (s: ReadOnlyWindowStore<K, V>) => KeyValue<Windowed<K>, V>[]): KeyValue<Windowed<K>, V>[] {
    return this.#source.merge(this.#source.all<ReadOnlyWindowStore<K, V>>().map(read), (e) => e.key.key);
  }
}

class SessionView<K, V> implements ReadOnlySessionStore<K, V> {
  readonly name: string;
  readonly #source: LocalStores;

  constructor(source: LocalStores) {
    this.#source = source;
    this.name = source.info.name;
  }

  fetch(key: K): KeyValue<Windowed<K>, V>[] {
    return this.#source.forKey<ReadOnlySessionStore<K, V>>(key)?.fetch(key) ?? [];
  }

  findSessions(
    key: K,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): KeyValue<Windowed<K>, V>[] {
    return (
      this.#source
        .forKey<ReadOnlySessionStore<K, V>>(key)
        ?.findSessions(key, earliestSessionEndTime, latestSessionStartTime) ?? []
    );
  }

  findSessionsRange(
    keyFrom: K | null,
    keyTo: K | null,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): KeyValue<Windowed<K>, V>[] {
    const lists = this.#source
      .all<ReadOnlySessionStore<K, V>>()
      .map((s) => s.findSessionsRange(keyFrom, keyTo, earliestSessionEndTime, latestSessionStartTime));
    return this.#source.merge(lists, (e) => e.key.key);
  }

  fetchSession(key: K, sessionStart: number, sessionEnd: number): V | undefined {
    return this.#source.forKey<ReadOnlySessionStore<K, V>>(key)?.fetchSession(key, sessionStart, sessionEnd);
  }
}
