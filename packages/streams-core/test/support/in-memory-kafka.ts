/**
 * An in-memory Kafka cluster behind the client port, for runtime tests without a broker.
 *
 * What it models, as Kafka does:
 * - topics → partitions → logs with offsets; a log start offset (`truncate`) for retention;
 * - consumer groups with eager rebalances: a membership change (or `rebalance()`) starts a new
 *   generation at once, and every member runs `revoked` (all it owned) then `assigned` (its new
 *   set) inside its next `poll()`; commits and transactional offsets of an older generation fail
 *   with `RebalanceError` and rewind the member to its committed offsets, as the adapter does;
 *   partition N of co-partitioned topics goes to one member;
 * - session timeouts (`expire()`): the coordinator removes a member that stopped heartbeating and
 *   the others get a new generation. The member is not told. Its offset commits carry its
 *   generation and member id and the coordinator checks them as Kafka's does (UNKNOWN_MEMBER_ID,
 *   ILLEGAL_GENERATION; a transactional commit without a generation is not checked at all). Once
 *   refused, or once a new generation is pending, the member owns nothing (`assignment()` is empty,
 *   `poll()` returns nothing) until the next generation's callbacks have run; an expired member's
 *   next heartbeat (one heartbeat interval later, the `'heartbeat'` hook) makes it rejoin;
 * - committed offsets per group, read with require-stable semantics (a pending transactional
 *   offset commit is waited for);
 * - transactions: records are written at once but invisible to read_committed readers until the
 *   commit marker; an abort writes abort markers and drops the transaction's offsets; markers take
 *   an offset like any record; the last stable offset stops at the first open transaction;
 * - producer epochs: initialising a transactional id again (a second producer, or `fence()`)
 *   aborts the open transaction of the previous epoch and fences that producer.
 *
 * What a test can script: `intercept(op, fn)` runs `fn` at an operation (throw to fail it, await
 * to hold it: `'ack'` holds a send's acknowledgement after its records are written), `failNext`
 * for one-off errors, `rebalance()` (optionally with a chosen assignment), `fence()`, `expire()`, the
 * `'poll'` hook that decides which records one consumer poll returns. And what it can inspect:
 * `records()`, `log()` (markers included), `committed()`, `transactions()`, `events`, `clients`.
 */
import { Headers, partitionForKey } from '@kafka-pattern/streams-core';
import {
  type AdminPort,
  type ConsumedRecord,
  type ConsumerOptions,
  type ConsumerPort,
  CoordinatorUnavailableError,
  type GroupDescription,
  type GroupMetadata,
  type IsolationLevel,
  KafkaClientError,
  type KafkaClientFactory,
  OffsetOutOfRangeError,
  type PartitionBatch,
  type PartitionRange,
  type PartitionReaderOptions,
  type PartitionReaderPort,
  type ProducedOffset,
  type ProducedRecord,
  ProducerFencedError,
  type ProducerOptions,
  type ProducerPort,
  type RawHeaders,
  RebalanceError,
  type RebalanceListener,
  TopicNotFoundError,
  type TopicPartition,
  type TopicPartitionOffset,
  TopicPartitionsMismatchError,
  type TopicSpec,
  type TransactionPort,
  topicPartitionKey,
} from '@kafka-pattern/streams-core/client';

/** Where one produced record went: what the cluster's send events record for inspection. */
export interface RecordMetadata {
  topic: string;
  partition: number;
  offset: bigint;
}

/** The port's answer to a send: the last offset written per partition. */
function lastOffsets(metadata: readonly RecordMetadata[]): ProducedOffset[] {
  const last = new Map<string, ProducedOffset>();
  for (const m of metadata)
    last.set(topicPartitionKey(m), { topic: m.topic, partition: m.partition, lastOffset: m.offset });
  return [...last.values()];
}

/** The port's shape of a poll: one batch per partition, in the order the records came. */
function toBatches(records: readonly ConsumedRecord[]): PartitionBatch[] {
  const byPartition = new Map<string, PartitionBatch>();
  for (const r of records) {
    const k = topicPartitionKey(r);
    let batch = byPartition.get(k);
    if (!batch) {
      batch = { topic: r.topic, partition: r.partition, records: [] };
      byPartition.set(k, batch);
    }
    batch.records.push(r);
  }
  return [...byPartition.values()];
}

// ---------------------------------------------------------------------------------------------
// Logs

export interface StoredRecord {
  readonly kind: 'record';
  readonly offset: bigint;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly headers: RawHeaders;
  /** The transaction that wrote it, if any. */
  readonly transaction: Transaction | undefined;
}

export interface ControlMarker {
  readonly kind: 'marker';
  readonly offset: bigint;
  readonly commit: boolean;
  readonly transaction: Transaction;
}

export type LogEntry = StoredRecord | ControlMarker;

class PartitionLog {
  readonly topic: string;
  readonly partition: number;
  entries: LogEntry[] = [];
  startOffset = 0n;
  /** Open transactions writing here, with the offset of their first record. */
  readonly open = new Map<Transaction, bigint>();

  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }

  get highWatermark(): bigint {
    return this.startOffset + BigInt(this.entries.length);
  }

  get lastStableOffset(): bigint {
    let lso = this.highWatermark;
    for (const first of this.open.values()) if (first < lso) lso = first;
    return lso;
  }

  end(isolation: IsolationLevel): bigint {
    return isolation === 'read_committed' ? this.lastStableOffset : this.highWatermark;
  }

  at(offset: bigint): LogEntry | undefined {
    return this.entries[Number(offset - this.startOffset)];
  }

  append(entry: Omit<StoredRecord, 'offset'> | Omit<ControlMarker, 'offset'>): bigint {
    const offset = this.highWatermark;
    this.entries.push({ ...entry, offset } as LogEntry);
    return offset;
  }

  /**
   * Records from `from` up to `until` (exclusive, capped by what `isolation` may read), at most
   * `max`. `next` is where reading continues: past markers and aborted records too.
   */
  read(
    from: bigint,
    isolation: IsolationLevel,
    max: number,
    until?: bigint,
  ): { records: ConsumedRecord[]; next: bigint } {
    let end = this.end(isolation);
    if (until !== undefined && until < end) end = until;
    const records: ConsumedRecord[] = [];
    let next = from;
    while (next < end && records.length < max) {
      const e = this.at(next)!;
      next++;
      if (e.kind === 'marker') continue;
      if (isolation === 'read_committed' && e.transaction && e.transaction.state !== 'committed') continue;
      records.push({
        topic: this.topic,
        partition: this.partition,
        offset: e.offset,
        timestamp: e.timestamp,
        key: e.key,
        value: e.value,
        headers: Headers.wrap([...e.headers]),
      });
    }
    return { records, next };
  }
}

interface Topic {
  readonly name: string;
  readonly partitions: PartitionLog[];
  readonly configs: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------
// Transactions

export interface Transaction {
  readonly id: number;
  readonly transactionalId: string;
  readonly producerEpoch: number;
  state: 'open' | 'committed' | 'aborted';
  /** Where its records went, in order. */
  readonly records: RecordMetadata[];
  /** Offsets it commits, by group, by `topic:partition`. */
  readonly offsets: Map<string, Map<string, bigint>>;
  readonly partitions: Set<PartitionLog>;
}

interface TransactionalIdState {
  epoch: number;
  open: Transaction | undefined;
}

// ---------------------------------------------------------------------------------------------
// Groups

interface Member {
  readonly memberId: string;
  readonly consumer: InMemoryConsumer;
}

interface Group {
  readonly id: string;
  generation: number;
  readonly members: Member[];
  readonly committed: Map<string, bigint>;
  /** Assignment of the current generation, by member id. */
  assignment: Map<string, TopicPartition[]>;
}

export interface MemberView {
  readonly memberId: string;
  readonly clientId: string;
  readonly assignment: TopicPartition[];
}

// ---------------------------------------------------------------------------------------------
// Scripting

/** A send as the cluster sees it: partitions resolved. */
export interface SendRequest {
  readonly clientId: string;
  readonly transactionalId: string | undefined;
  readonly records: ReadonlyArray<ProducedRecord & { partition: number }>;
  /** Set for `'ack'`: where the records were written. */
  readonly metadata?: RecordMetadata[];
}

export interface PollContext {
  readonly clientId: string;
  readonly groupId: string;
  readonly memberId: string;
  readonly generationId: number;
  /** What the poll would return. Return the records to deliver (a prefix per partition). */
  readonly records: ConsumedRecord[];
}

export interface OperationContexts {
  /** Before a send's records are written: throw to refuse it, nothing is written. */
  send: SendRequest;
  /** After a send's records are written, before it is acknowledged: await to hold the ack. */
  ack: SendRequest;
  beginTransaction: { clientId: string; transactionalId: string };
  sendOffsets: { transactionalId: string; groupId: string; offsets: TopicPartitionOffset[] };
  commitTransaction: { transactionalId: string; transaction: Transaction | undefined };
  abortTransaction: { transactionalId: string; transaction: Transaction | undefined };
  commit: { clientId: string; groupId: string; offsets: TopicPartitionOffset[] };
  committed: { clientId: string; groupId: string; partitions: TopicPartition[] };
  /** Before a consumer poll (after the group join, before rebalance callbacks). */
  poll: { clientId: string; groupId: string };
  /** The heartbeat of an expired member, before it rejoins: await to keep it a zombie. */
  heartbeat: { clientId: string; groupId: string };
  readerPoll: { clientId: string };
  describeGroup: { groupId: string };
  listOffsets: { partitions: TopicPartition[]; which: 'earliest' | 'latest' };
  createTopics: { topics: TopicSpec[] };
}

export type Operation = keyof OperationContexts;
export type Interceptor<O extends Operation> = (context: OperationContexts[O]) => void | Promise<void>;

export type KafkaEvent =
  | { type: 'send'; clientId: string; transactionalId: string | undefined; records: RecordMetadata[] }
  | { type: 'ack'; clientId: string; transactionalId: string | undefined; records: RecordMetadata[] }
  | { type: 'commit'; groupId: string; memberId: string; offsets: TopicPartitionOffset[] }
  | {
      type: 'transaction';
      transactionalId: string;
      outcome: 'commit' | 'abort';
      records: RecordMetadata[];
      offsets: TopicPartitionOffset[];
    }
  | { type: 'rebalance'; groupId: string; generation: number; members: MemberView[] }
  | { type: 'fence'; transactionalId: string; epoch: number }
  | { type: 'readerAssign'; clientId: string; ranges: PartitionRange[] };

export interface ClientRecord {
  readonly kind: 'admin' | 'producer' | 'consumer' | 'partitionReader';
  readonly clientId: string;
  readonly transactionalId?: string;
  closed: boolean;
}

export interface InMemoryKafkaOptions {
  /** Records one poll returns per partition, at most. Default 500. */
  maxRecordsPerPartition?: number;
  /** How long committed() waits for a pending transactional offset commit. Default 10 s. */
  stableWaitMs?: number;
}

// ---------------------------------------------------------------------------------------------
// The cluster

export class InMemoryKafka {
  readonly #topics = new Map<string, Topic>();
  readonly #groups = new Map<string, Group>();
  readonly #transactionalIds = new Map<string, TransactionalIdState>();
  readonly #transactions: Transaction[] = [];
  readonly #interceptors = new Map<Operation, Array<Interceptor<Operation>>>();
  readonly #waiters = new Set<() => void>();
  #memberSeq = 0;
  #transactionSeq = 0;
  #overrides = new Map<string, Map<string, TopicPartition[]>>();
  readonly maxRecordsPerPartition: number;
  readonly stableWaitMs: number;
  /** What happened, in order. */
  readonly events: KafkaEvent[] = [];
  /** Every client the factory created. */
  readonly clients: ClientRecord[] = [];

  constructor(options: InMemoryKafkaOptions = {}) {
    this.maxRecordsPerPartition = options.maxRecordsPerPartition ?? 500;
    this.stableWaitMs = options.stableWaitMs ?? 10_000;
  }

  /** The factory to hand to `new KafkaStreams(..., { clientFactory })`. */
  factory(): KafkaClientFactory {
    return {
      admin: () => new InMemoryAdmin(this, this.#client({ kind: 'admin', clientId: 'admin', closed: false })),
      producer: (options) =>
        new InMemoryProducer(
          this,
          options,
          this.#client({
            kind: 'producer',
            clientId: options.clientId,
            ...(options.transactionalId !== undefined ? { transactionalId: options.transactionalId } : {}),
            closed: false,
          }),
        ),
      consumer: (options) =>
        new InMemoryConsumer(
          this,
          options,
          this.#client({ kind: 'consumer', clientId: options.clientId, closed: false }),
        ),
      partitionReader: (options) =>
        new InMemoryPartitionReader(
          this,
          options,
          this.#client({ kind: 'partitionReader', clientId: options.clientId, closed: false }),
        ),
    };
  }

  #client(record: ClientRecord): ClientRecord {
    this.clients.push(record);
    return record;
  }

  // --- topics -----------------------------------------------------------------------------

  createTopic(name: string, partitions: number, configs: Record<string, string> = {}): string {
    const existing = this.#topics.get(name);
    if (existing) {
      if (existing.partitions.length !== partitions)
        throw new TopicPartitionsMismatchError(name, partitions, existing.partitions.length);
      return name;
    }
    this.#topics.set(name, {
      name,
      partitions: Array.from({ length: partitions }, (_, p) => new PartitionLog(name, p)),
      configs: { ...configs },
    });
    return name;
  }

  hasTopic(name: string): boolean {
    return this.#topics.has(name);
  }

  topicNames(): string[] {
    return [...this.#topics.keys()].sort();
  }

  topicConfigs(name: string): Record<string, string> | undefined {
    const t = this.#topics.get(name);
    return t ? { ...t.configs } : undefined;
  }

  deleteTopic(name: string): void {
    this.#topics.delete(name);
  }

  /** Partition count of a topic, or undefined. */
  partitions(name: string): number | undefined {
    return this.#topics.get(name)?.partitions.length;
  }

  partitionLog(topic: string, partition: number): PartitionLog {
    const t = this.#topics.get(topic);
    if (!t) throw new TopicNotFoundError([topic]);
    const log = t.partitions[partition];
    if (!log)
      throw new KafkaClientError(
        `Topic "${topic}" has ${t.partitions.length} partitions, not ${partition + 1}`,
      );
    return log;
  }

  /** Deletes a partition's records before `offset` (retention): its log start offset moves there. */
  truncate(topic: string, partition: number, offset: bigint): void {
    const log = this.partitionLog(topic, partition);
    if (offset <= log.startOffset) return;
    const drop = Number((offset > log.highWatermark ? log.highWatermark : offset) - log.startOffset);
    log.entries = log.entries.slice(drop);
    log.startOffset += BigInt(drop);
  }

  /** Writes records straight to the log (no producer, no hooks), as an outside producer would. */
  produce(records: ProducedRecord[]): RecordMetadata[] {
    const out = records.map((r) => {
      const partition = this.resolvePartition(r, 0);
      const offset = this.partitionLog(r.topic, partition).append({
        kind: 'record',
        key: r.key,
        value: r.value,
        timestamp: r.timestamp ?? Date.now(),
        headers: r.headers ?? [],
        transaction: undefined,
      });
      return { topic: r.topic, partition, offset };
    });
    this.notify();
    return out;
  }

  resolvePartition(record: ProducedRecord, roundRobin: number): number {
    const topic = this.#topics.get(record.topic);
    if (!topic) throw new TopicNotFoundError([record.topic]);
    const n = topic.partitions.length;
    const p = record.partition ?? (record.key === null ? roundRobin % n : partitionForKey(record.key, n));
    if (p < 0 || p >= n)
      throw new KafkaClientError(
        `Topic "${record.topic}" has ${n} partitions: partition ${p} does not exist`,
      );
    return p;
  }

  // --- inspection -------------------------------------------------------------------------

  /** Every entry of a partition's log, markers and aborted records included. */
  log(topic: string, partition = 0): LogEntry[] {
    return [...this.partitionLog(topic, partition).entries];
  }

  /** The records a reader with this isolation level sees, partition by partition, in offset order. */
  records(topic: string, options: { isolation?: IsolationLevel; partition?: number } = {}): ConsumedRecord[] {
    const t = this.#topics.get(topic);
    if (!t) throw new TopicNotFoundError([topic]);
    const isolation = options.isolation ?? 'read_committed';
    const logs =
      options.partition === undefined ? t.partitions : [this.partitionLog(topic, options.partition)];
    return logs.flatMap((log) => log.read(log.startOffset, isolation, Number.MAX_SAFE_INTEGER).records);
  }

  endOffset(topic: string, partition: number, isolation: IsolationLevel = 'read_uncommitted'): bigint {
    return this.partitionLog(topic, partition).end(isolation);
  }

  /** A group's committed offsets by `topic:partition`. */
  committed(groupId: string): Map<string, bigint> {
    return new Map(this.#groups.get(groupId)?.committed ?? []);
  }

  committedOffset(groupId: string, topic: string, partition: number): bigint | undefined {
    return this.#groups.get(groupId)?.committed.get(topicPartitionKey({ topic, partition }));
  }

  /** Transactions that wrote records or offsets, oldest first. */
  transactions(transactionalId?: string): Transaction[] {
    return this.#transactions.filter(
      (t) => transactionalId === undefined || t.transactionalId === transactionalId,
    );
  }

  transactionalIds(): string[] {
    return [...this.#transactionalIds.keys()].sort();
  }

  members(groupId: string): MemberView[] {
    const g = this.#groups.get(groupId);
    if (!g) return [];
    return g.members.map((m) => ({
      memberId: m.memberId,
      clientId: m.consumer.clientId,
      assignment: (g.assignment.get(m.memberId) ?? []).map((tp) => ({ ...tp })),
    }));
  }

  generation(groupId: string): number {
    return this.#groups.get(groupId)?.generation ?? 0;
  }

  // --- scripting --------------------------------------------------------------------------

  /** Runs `fn` at every `op` until the returned function is called. */
  intercept<O extends Operation>(op: O, fn: Interceptor<O>): () => void {
    const list = this.#interceptors.get(op) ?? [];
    const entry = fn as Interceptor<Operation>;
    list.push(entry);
    this.#interceptors.set(op, list);
    return () => {
      const i = list.indexOf(entry);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** The next `times` (default 1) `op`s for which `when` holds fail with `error`. */
  failNext<O extends Operation>(
    op: O,
    error: Error | (() => Error),
    options: { times?: number; when?: (context: OperationContexts[O]) => boolean } = {},
  ): void {
    let left = options.times ?? 1;
    const remove = this.intercept(op, (context) => {
      if (left <= 0 || (options.when && !options.when(context))) return;
      left--;
      if (left === 0) remove();
      throw typeof error === 'function' ? error() : error;
    });
  }

  /** Hook deciding which records each consumer poll returns. */
  pollFilter: ((poll: PollContext) => ConsumedRecord[]) | undefined;

  async run<O extends Operation>(op: O, context: OperationContexts[O]): Promise<void> {
    for (const fn of [...(this.#interceptors.get(op) ?? [])]) await fn(context);
  }

  /**
   * Starts a new generation of the group: every member revokes everything and is assigned its new
   * set on its next poll. `assignment` (by member client id) replaces the assignor for this
   * generation; members it leaves out get nothing.
   */
  rebalance(groupId: string, assignment?: Record<string, TopicPartition[]>): void {
    const g = this.#groups.get(groupId);
    if (!g) throw new KafkaClientError(`Group "${groupId}" does not exist`);
    if (assignment) {
      const byMember = new Map<string, TopicPartition[]>();
      for (const m of g.members) byMember.set(m.memberId, assignment[m.consumer.clientId] ?? []);
      this.#overrides.set(groupId, byMember);
    }
    this.#newGeneration(g);
  }

  /**
   * The session of the member whose consumer is `clientId` times out, as when its process is
   * frozen: the coordinator removes it from its groups and the other members get a new
   * generation. The member goes on with what it had until a commit is refused or its next
   * heartbeat makes it rejoin.
   */
  expire(clientId: string): void {
    for (const g of this.#groups.values()) {
      const i = g.members.findIndex((m) => m.consumer.clientId === clientId);
      if (i < 0) continue;
      const [gone] = g.members.splice(i, 1);
      g.assignment.delete(gone!.memberId);
      this.#newGeneration(g);
      gone!.consumer.sessionExpired();
    }
  }

  /**
   * Initialises `transactionalId` as a new producer would: its epoch goes up, the open
   * transaction of the previous epoch is aborted, and the producer holding that epoch is fenced.
   */
  fence(transactionalId: string): number {
    return this.initProducerId(transactionalId);
  }

  // --- internals used by the clients -------------------------------------------------------

  notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }

  /** Resolves on the next change to the cluster, or after `ms`. */
  changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.#waiters.add(done);
    });
  }

  topic(name: string): Topic | undefined {
    return this.#topics.get(name);
  }

  group(groupId: string): Group | undefined {
    return this.#groups.get(groupId);
  }

  join(consumer: InMemoryConsumer): string {
    let g = this.#groups.get(consumer.groupId);
    if (!g) {
      g = { id: consumer.groupId, generation: 0, members: [], committed: new Map(), assignment: new Map() };
      this.#groups.set(g.id, g);
    }
    const memberId = `${consumer.clientId}-${++this.#memberSeq}`;
    g.members.push({ memberId, consumer });
    this.#newGeneration(g);
    return memberId;
  }

  leave(consumer: InMemoryConsumer): void {
    const g = this.#groups.get(consumer.groupId);
    if (!g) return;
    const i = g.members.findIndex((m) => m.consumer === consumer);
    if (i < 0) return;
    g.members.splice(i, 1);
    g.assignment.delete(consumer.memberId);
    this.#newGeneration(g);
  }

  #newGeneration(g: Group): void {
    g.generation++;
    const override = this.#overrides.get(g.id);
    this.#overrides.delete(g.id);
    g.assignment = override ?? assignCopartitioned(g.members, this);
    for (const m of g.members) {
      m.consumer.pendingJoin({
        generationId: g.generation,
        memberId: m.memberId,
        assignment: (g.assignment.get(m.memberId) ?? []).map((tp) => ({ ...tp })),
      });
    }
    this.events.push({
      type: 'rebalance',
      groupId: g.id,
      generation: g.generation,
      members: this.members(g.id),
    });
    this.notify();
  }

  /** A pending transactional offset commit for any of these partitions of the group. */
  unstable(groupId: string, partitions: TopicPartition[]): boolean {
    const keys = new Set(partitions.map(topicPartitionKey));
    for (const s of this.#transactionalIds.values()) {
      const pending = s.open?.offsets.get(groupId);
      if (pending && [...pending.keys()].some((k) => keys.has(k))) return true;
    }
    return false;
  }

  async stableCommitted(groupId: string, partitions: TopicPartition[]): Promise<Map<string, bigint>> {
    const deadline = Date.now() + this.stableWaitMs;
    while (this.unstable(groupId, partitions)) {
      if (Date.now() > deadline)
        throw new CoordinatorUnavailableError(
          `Group "${groupId}" still has a pending transactional offset commit after ${this.stableWaitMs} ms`,
        );
      await this.changed(50);
    }
    const g = this.#groups.get(groupId);
    const out = new Map<string, bigint>();
    for (const tp of partitions) {
      const k = topicPartitionKey(tp);
      const o = g?.committed.get(k);
      if (o !== undefined) out.set(k, o);
    }
    return out;
  }

  /**
   * The coordinator's check of an offset commit's group metadata (Kafka's classic group): a
   * member it knows, in the current generation. Without a generation (-1, no member id) a plain
   * commit is accepted only by an empty group, and a transactional one always: the older
   * TxnOffsetCommit versions carry no generation, so there is nothing to check it against.
   */
  validateOffsetCommit(meta: GroupMetadata, transactional: boolean): void {
    const g = this.#groups.get(meta.groupId);
    if (meta.generationId < 0 && meta.memberId === '') {
      if (transactional || !g || g.members.length === 0) return;
      throw new RebalanceError(
        `UNKNOWN_MEMBER_ID: group "${meta.groupId}" has members, a commit without a generation is refused`,
      );
    }
    if (!g?.members.some((m) => m.memberId === meta.memberId))
      throw new RebalanceError(
        `UNKNOWN_MEMBER_ID: the coordinator of group "${meta.groupId}" does not know member "${meta.memberId}"`,
      );
    if (meta.generationId !== g.generation)
      throw new RebalanceError(
        `ILLEGAL_GENERATION: group "${meta.groupId}" is in generation ${g.generation}, not ${meta.generationId}`,
      );
  }

  /** The admin's offset change: creates the group when it has never existed. */
  alterOffsets(groupId: string, offsets: TopicPartitionOffset[]): void {
    const g = this.#groups.get(groupId);
    if (g && g.members.length > 0)
      throw new KafkaClientError(`Group "${groupId}" has active members: its offsets cannot be altered`);
    if (!g)
      this.#groups.set(groupId, {
        id: groupId,
        generation: 0,
        members: [],
        committed: new Map(),
        assignment: new Map(),
      });
    this.commitOffsets(groupId, offsets);
  }

  commitOffsets(groupId: string, offsets: TopicPartitionOffset[]): void {
    const g = this.#groups.get(groupId);
    if (!g) throw new KafkaClientError(`Group "${groupId}" does not exist`);
    for (const o of offsets) g.committed.set(topicPartitionKey(o), o.offset);
    this.notify();
  }

  groupIds(): string[] {
    return [...this.#groups.keys()];
  }

  deleteGroup(groupId: string): void {
    this.#groups.delete(groupId);
  }

  initProducerId(transactionalId: string): number {
    const s = this.#transactionalIds.get(transactionalId) ?? { epoch: -1, open: undefined };
    this.#transactionalIds.set(transactionalId, s);
    if (s.open) this.endTransaction(s.open, false);
    s.epoch++;
    this.events.push({ type: 'fence', transactionalId, epoch: s.epoch });
    this.notify();
    return s.epoch;
  }

  currentEpoch(transactionalId: string): number | undefined {
    return this.#transactionalIds.get(transactionalId)?.epoch;
  }

  /** The open transaction of this id and epoch, registered on first use. */
  transactionFor(transactionalId: string, epoch: number): Transaction {
    const s = this.#transactionalIds.get(transactionalId)!;
    if (s.open) return s.open;
    const t: Transaction = {
      id: ++this.#transactionSeq,
      transactionalId,
      producerEpoch: epoch,
      state: 'open',
      records: [],
      offsets: new Map(),
      partitions: new Set(),
    };
    s.open = t;
    this.#transactions.push(t);
    return t;
  }

  openTransaction(transactionalId: string): Transaction | undefined {
    return this.#transactionalIds.get(transactionalId)?.open;
  }

  endTransaction(t: Transaction, commit: boolean): void {
    if (t.state !== 'open') return;
    for (const log of t.partitions) {
      log.append({ kind: 'marker', commit, transaction: t });
      log.open.delete(t);
    }
    t.state = commit ? 'committed' : 'aborted';
    const offsets: TopicPartitionOffset[] = [];
    if (commit) {
      for (const [groupId, byTp] of t.offsets) {
        const g = this.#groups.get(groupId);
        for (const [k, offset] of byTp) {
          g?.committed.set(k, offset);
          const at = k.lastIndexOf(':');
          offsets.push({ topic: k.slice(0, at), partition: Number(k.slice(at + 1)), offset });
        }
      }
    }
    const s = this.#transactionalIds.get(t.transactionalId);
    if (s?.open === t) s.open = undefined;
    this.events.push({
      type: 'transaction',
      transactionalId: t.transactionalId,
      outcome: commit ? 'commit' : 'abort',
      records: [...t.records],
      offsets,
    });
    this.notify();
  }

  /** Writes a send (inside `transaction` when given) and acknowledges it, running the hooks. */
  async write(
    clientId: string,
    records: ProducedRecord[],
    roundRobin: () => number,
    transactional?: { transactionalId: string; epoch: number },
  ): Promise<RecordMetadata[]> {
    if (records.length === 0) return [];
    const resolved = records.map((r) => ({ ...r, partition: this.resolvePartition(r, roundRobin()) }));
    const request: SendRequest = {
      clientId,
      transactionalId: transactional?.transactionalId,
      records: resolved,
    };
    await this.run('send', request);
    if (transactional && this.currentEpoch(transactional.transactionalId) !== transactional.epoch)
      throw new ProducerFencedError(transactional.transactionalId);
    const tx = transactional
      ? this.transactionFor(transactional.transactionalId, transactional.epoch)
      : undefined;
    const metadata = resolved.map((r) => {
      const log = this.partitionLog(r.topic, r.partition);
      const offset = log.append({
        kind: 'record',
        key: r.key,
        value: r.value,
        timestamp: r.timestamp ?? Date.now(),
        headers: r.headers ?? [],
        transaction: tx,
      });
      if (tx) {
        if (!log.open.has(tx)) log.open.set(tx, offset);
        tx.partitions.add(log);
        tx.records.push({ topic: r.topic, partition: r.partition, offset });
      }
      return { topic: r.topic, partition: r.partition, offset };
    });
    this.events.push({
      type: 'send',
      clientId,
      transactionalId: transactional?.transactionalId,
      records: metadata,
    });
    this.notify();
    await this.run('ack', { ...request, metadata });
    this.events.push({
      type: 'ack',
      clientId,
      transactionalId: transactional?.transactionalId,
      records: metadata,
    });
    return metadata;
  }
}

/**
 * The adapter's assignor: "partition N of a co-partition group" is one unit, handed in order to
 * the eligible member with the fewest units so far, ties to the lowest member id.
 */
function assignCopartitioned(members: Member[], kafka: InMemoryKafka): Map<string, TopicPartition[]> {
  const ids = members.map((m) => m.memberId).sort();
  const subscriptions = new Map(members.map((m) => [m.memberId, new Set(m.consumer.topics)]));
  const topics = new Set(members.flatMap((m) => m.consumer.topics).filter((t) => kafka.hasTopic(t)));
  const grouped = new Set<string>();
  const groups: string[][] = [];
  for (const group of members[0]?.consumer.copartitionGroups ?? []) {
    const present = group.filter((t) => topics.has(t) && !grouped.has(t));
    for (const t of present) grouped.add(t);
    if (present.length > 0) groups.push(present);
  }
  for (const t of [...topics].sort()) if (!grouped.has(t)) groups.push([t]);
  const load = new Map(ids.map((id) => [id, 0]));
  const result = new Map<string, TopicPartition[]>(ids.map((id) => [id, []]));
  for (const group of groups) {
    const counts = group.map((t) => kafka.partitions(t) ?? 0);
    for (let p = 0; p < Math.max(0, ...counts); p++) {
      const unit = group.filter((_, i) => (counts[i] ?? 0) > p);
      const eligible = ids.filter((id) => unit.every((t) => subscriptions.get(id)?.has(t)));
      let chosen: string | undefined;
      for (const id of eligible) if (chosen === undefined || load.get(id)! < load.get(chosen)!) chosen = id;
      if (chosen === undefined) continue;
      load.set(chosen, load.get(chosen)! + 1);
      for (const topic of unit) result.get(chosen)!.push({ topic, partition: p });
    }
  }
  for (const list of result.values()) list.sort(compareTopicPartitions);
  return result;
}

function compareTopicPartitions(a: TopicPartition, b: TopicPartition): number {
  return a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1;
}

function latestPerPartition(offsets: TopicPartitionOffset[]): TopicPartitionOffset[] {
  const latest = new Map<string, TopicPartitionOffset>();
  for (const o of offsets) {
    const k = topicPartitionKey(o);
    const current = latest.get(k);
    if (!current || current.offset < o.offset)
      latest.set(k, { topic: o.topic, partition: o.partition, offset: o.offset });
  }
  return [...latest.values()];
}

// ---------------------------------------------------------------------------------------------
// Admin

class InMemoryAdmin implements AdminPort {
  readonly #kafka: InMemoryKafka;
  readonly #record: ClientRecord;

  constructor(kafka: InMemoryKafka, record: ClientRecord) {
    this.#kafka = kafka;
    this.#record = record;
  }

  async createTopics(topics: TopicSpec[]): Promise<void> {
    this.#open();
    await this.#kafka.run('createTopics', { topics });
    for (const t of topics) this.#kafka.createTopic(t.name, t.partitions, t.configs);
  }

  async describeTopics(names: string[]): Promise<Map<string, { partitions: number } | undefined>> {
    this.#open();
    return new Map(
      names.map((n) => {
        const p = this.#kafka.partitions(n);
        return [n, p === undefined ? undefined : { partitions: p }];
      }),
    );
  }

  async listOffsets(
    partitions: TopicPartition[],
    which: 'earliest' | 'latest',
    isolationLevel: IsolationLevel = 'read_uncommitted',
  ): Promise<Map<string, bigint>> {
    this.#open();
    await this.#kafka.run('listOffsets', { partitions, which });
    const out = new Map<string, bigint>();
    for (const tp of partitions) {
      const log = this.#kafka.partitionLog(tp.topic, tp.partition);
      out.set(topicPartitionKey(tp), which === 'earliest' ? log.startOffset : log.end(isolationLevel));
    }
    return out;
  }

  async describeTopicConfigs(topic: string): Promise<Record<string, string> | undefined> {
    this.#open();
    if (this.#kafka.partitions(topic) === undefined) return undefined;
    return { 'cleanup.policy': 'delete', 'retention.ms': '604800000', ...this.#kafka.topicConfigs(topic) };
  }

  async deleteTopics(names: string[]): Promise<void> {
    this.#open();
    for (const n of names) this.#kafka.deleteTopic(n);
  }

  async listTopics(): Promise<string[]> {
    this.#open();
    return this.#kafka.topicNames();
  }

  async offsetsForTimes(
    partitions: TopicPartition[],
    timestampMs: number,
  ): Promise<Map<string, bigint | undefined>> {
    this.#open();
    const out = new Map<string, bigint | undefined>();
    for (const tp of partitions) {
      const found = this.#kafka
        .partitionLog(tp.topic, tp.partition)
        .entries.find((e) => e.kind === 'record' && e.timestamp >= timestampMs);
      out.set(topicPartitionKey(tp), found?.offset);
    }
    return out;
  }

  async listGroups(): Promise<string[]> {
    this.#open();
    return this.#kafka.groupIds();
  }

  async alterGroupOffsets(
    groupId: string,
    offsets: { topic: string; partition: number; offset: bigint }[],
  ): Promise<void> {
    this.#open();
    this.#kafka.alterOffsets(groupId, offsets);
  }

  async groupOffsets(groupId: string, partitions: TopicPartition[]): Promise<Map<string, bigint>> {
    this.#open();
    return this.#kafka.stableCommitted(groupId, partitions);
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    this.#open();
    for (const g of groupIds) this.#kafka.deleteGroup(g);
  }

  async describeGroup(groupId: string): Promise<GroupDescription | undefined> {
    this.#open();
    await this.#kafka.run('describeGroup', { groupId });
    const g = this.#kafka.group(groupId);
    if (!g) return undefined;
    const members = g.members
      .map((m) => ({
        memberId: m.memberId,
        clientId: m.consumer.clientId,
        clientHost: '/127.0.0.1',
        userData: m.consumer.userData,
        assignment: (g.assignment.get(m.memberId) ?? []).map((tp) => ({ ...tp })),
      }))
      .sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
    return { groupId, state: members.length > 0 ? 'Stable' : 'Empty', members };
  }

  async close(): Promise<void> {
    this.#record.closed = true;
  }

  #open(): void {
    if (this.#record.closed) throw new KafkaClientError('The admin client is closed');
  }
}

// ---------------------------------------------------------------------------------------------
// Producer and transactions

class InMemoryProducer implements ProducerPort {
  readonly #kafka: InMemoryKafka;
  readonly #options: ProducerOptions;
  readonly #record: ClientRecord;
  #epoch: number | undefined;
  #transaction: InMemoryTransaction | undefined;
  #next = 0;

  constructor(kafka: InMemoryKafka, options: ProducerOptions, record: ClientRecord) {
    this.#kafka = kafka;
    this.#options = options;
    this.#record = record;
  }

  async send(records: ProducedRecord[]): Promise<ProducedOffset[]> {
    this.#open();
    if (this.#options.transactionalId !== undefined)
      throw new KafkaClientError(
        'A transactional producer sends inside a transaction: use beginTransaction().send()',
      );
    return lastOffsets(await this.#kafka.write(this.#options.clientId, records, () => this.#next++));
  }

  async beginTransaction(): Promise<TransactionPort> {
    this.#open();
    const transactionalId = this.#options.transactionalId;
    if (transactionalId === undefined)
      throw new KafkaClientError('beginTransaction() needs a producer created with a transactionalId');
    await this.#kafka.run('beginTransaction', { clientId: this.#options.clientId, transactionalId });
    if (this.#epoch === undefined) this.#epoch = this.#kafka.initProducerId(transactionalId);
    else this.checkEpoch();
    if (this.#transaction && !this.#transaction.done)
      throw new KafkaClientError(
        `Producer "${transactionalId}" already has an open transaction: commit or abort it first`,
      );
    this.#transaction = new InMemoryTransaction(this.#kafka, this, transactionalId, this.#epoch);
    return this.#transaction;
  }

  async close(): Promise<void> {
    this.#record.closed = true;
  }

  get clientId(): string {
    return this.#options.clientId;
  }

  nextRoundRobin(): number {
    return this.#next++;
  }

  checkEpoch(): void {
    const id = this.#options.transactionalId!;
    if (this.#kafka.currentEpoch(id) !== this.#epoch) throw new ProducerFencedError(id);
  }

  #open(): void {
    if (this.#record.closed) throw new KafkaClientError(`Producer "${this.#options.clientId}" is closed`);
  }
}

class InMemoryTransaction implements TransactionPort {
  readonly #kafka: InMemoryKafka;
  readonly #producer: InMemoryProducer;
  readonly #transactionalId: string;
  readonly #epoch: number;
  done = false;

  constructor(kafka: InMemoryKafka, producer: InMemoryProducer, transactionalId: string, epoch: number) {
    this.#kafka = kafka;
    this.#producer = producer;
    this.#transactionalId = transactionalId;
    this.#epoch = epoch;
  }

  async send(records: ProducedRecord[]): Promise<ProducedOffset[]> {
    this.#checkOpen();
    this.#producer.checkEpoch();
    return lastOffsets(
      await this.#kafka.write(this.#producer.clientId, records, () => this.#producer.nextRoundRobin(), {
        transactionalId: this.#transactionalId,
        epoch: this.#epoch,
      }),
    );
  }

  async sendOffsets(consumer: ConsumerPort, offsets: TopicPartitionOffset[]): Promise<void> {
    this.#checkOpen();
    if (!(consumer instanceof InMemoryConsumer) || consumer.kafka !== this.#kafka)
      throw new KafkaClientError('sendOffsets() needs a consumer created by the same client factory');
    const latest = latestPerPartition(offsets);
    if (latest.length === 0) return;
    try {
      await this.#kafka.run('sendOffsets', {
        transactionalId: this.#transactionalId,
        groupId: consumer.groupId,
        offsets: latest,
      });
      this.#producer.checkEpoch();
      consumer.fence(latest, true);
    } catch (error) {
      // As the adapter: a fenced offset commit voids every position of the generation.
      if (error instanceof RebalanceError) consumer.rewind();
      throw error;
    }
    const tx = this.#kafka.transactionFor(this.#transactionalId, this.#epoch);
    const byTp = tx.offsets.get(consumer.groupId) ?? new Map<string, bigint>();
    for (const o of latest) byTp.set(topicPartitionKey(o), o.offset);
    tx.offsets.set(consumer.groupId, byTp);
  }

  async commit(): Promise<void> {
    this.#checkOpen();
    const transaction = this.#kafka.openTransaction(this.#transactionalId);
    await this.#kafka.run('commitTransaction', { transactionalId: this.#transactionalId, transaction });
    this.#producer.checkEpoch();
    const open = this.#kafka.openTransaction(this.#transactionalId);
    if (open) this.#kafka.endTransaction(open, true);
    this.done = true;
  }

  async abort(): Promise<void> {
    if (this.done) return;
    const transaction = this.#kafka.openTransaction(this.#transactionalId);
    await this.#kafka.run('abortTransaction', { transactionalId: this.#transactionalId, transaction });
    this.#producer.checkEpoch();
    const open = this.#kafka.openTransaction(this.#transactionalId);
    if (open) this.#kafka.endTransaction(open, false);
    this.done = true;
  }

  #checkOpen(): void {
    if (this.done)
      throw new KafkaClientError(`The transaction of "${this.#transactionalId}" has already ended`);
  }
}

// ---------------------------------------------------------------------------------------------
// Consumer

interface PendingJoin {
  generationId: number;
  memberId: string;
  assignment: TopicPartition[];
}

class InMemoryConsumer implements ConsumerPort {
  readonly kafka: InMemoryKafka;
  readonly #options: ConsumerOptions;
  readonly #record: ClientRecord;
  readonly #listeners: RebalanceListener[] = [];
  #joined = false;
  #pending: PendingJoin | undefined;
  #owned: TopicPartition[] = [];
  #generationId = -1;
  memberId = '';
  /** The generation whose commit the coordinator refused: this member is no longer in it. */
  #lostGeneration: number | undefined;
  readonly #positions = new Map<string, bigint>();
  #unpositioned = new Set<string>();
  readonly #paused = new Set<string>();
  #woken = false;

  constructor(kafka: InMemoryKafka, options: ConsumerOptions, record: ClientRecord) {
    this.kafka = kafka;
    this.#options = options;
    this.#record = record;
  }

  get clientId(): string {
    return this.#options.clientId;
  }

  get groupId(): string {
    return this.#options.groupId;
  }

  get topics(): string[] {
    return this.#options.topics;
  }

  get copartitionGroups(): string[][] {
    return this.#options.copartitionGroups;
  }

  get userData(): Buffer | undefined {
    return this.#options.userData;
  }

  get closed(): boolean {
    return this.#record.closed;
  }

  pendingJoin(join: PendingJoin): void {
    this.#pending = join;
  }

  onRebalance(listener: RebalanceListener): void {
    this.#listeners.push(listener);
  }

  async poll(): Promise<PartitionBatch[]> {
    return toBatches(await this.#poll());
  }

  positions(): Map<string, bigint> {
    return new Map(this.#positions);
  }

  async #poll(): Promise<ConsumedRecord[]> {
    if (this.closed) throw new KafkaClientError('poll() on a closed consumer');
    if (!this.#joined) {
      this.#joined = true;
      this.memberId = this.kafka.join(this);
    }
    await this.kafka.run('poll', { clientId: this.clientId, groupId: this.groupId });
    while (this.#pending) await this.#applyRebalance(this.#pending);
    const maxWaitMs = this.#options.maxWaitMs ?? 500;
    if (this.#generationEnded()) {
      await this.kafka.changed(maxWaitMs);
      return [];
    }
    await this.#position();
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      if (this.closed || this.#pending) return [];
      const batch = this.#collect();
      if (batch.records.length > 0 || Date.now() >= deadline) {
        const records = this.kafka.pollFilter
          ? this.kafka.pollFilter({
              clientId: this.clientId,
              groupId: this.groupId,
              memberId: this.memberId,
              generationId: this.#generationId,
              records: batch.records,
            })
          : batch.records;
        this.#advance(batch, records);
        return records;
      }
      if (this.#woken) {
        this.#woken = false;
        return [];
      }
      await this.kafka.changed(deadline - Date.now());
    }
  }

  wakeup(): void {
    this.#woken = true;
    this.kafka.notify();
  }

  #collect(): { records: ConsumedRecord[]; next: Map<string, bigint> } {
    const records: ConsumedRecord[] = [];
    const next = new Map<string, bigint>();
    for (const tp of this.#owned) {
      const k = topicPartitionKey(tp);
      if (this.#paused.has(k)) continue;
      let position = this.#positions.get(k);
      if (position === undefined) continue;
      const log = this.kafka.partitionLog(tp.topic, tp.partition);
      if (position < log.startOffset || position > log.highWatermark) {
        // Out of range: auto.offset.reset, as the adapter does.
        position = this.#options.autoOffsetReset === 'latest' ? log.highWatermark : log.startOffset;
        this.#positions.set(k, position);
      }
      const read = log.read(position, this.#options.isolationLevel, this.kafka.maxRecordsPerPartition);
      records.push(...read.records);
      next.set(k, read.next);
    }
    return { records, next };
  }

  /** Moves positions past what is delivered: to the end of the scan where all of it was. */
  #advance(
    batch: { records: ConsumedRecord[]; next: Map<string, bigint> },
    delivered: ConsumedRecord[],
  ): void {
    const lastDelivered = new Map<string, bigint>();
    for (const r of delivered) lastDelivered.set(topicPartitionKey(r), r.offset);
    const lastAvailable = new Map<string, bigint>();
    for (const r of batch.records) lastAvailable.set(topicPartitionKey(r), r.offset);
    for (const [k, next] of batch.next) {
      const available = lastAvailable.get(k);
      const given = lastDelivered.get(k);
      if (available === undefined || given === available) this.#positions.set(k, next);
      else if (given !== undefined) this.#positions.set(k, given + 1n);
    }
  }

  assignment(): TopicPartition[] {
    if (this.#generationEnded()) return [];
    return this.#owned.map((tp) => ({ ...tp }));
  }

  /** As the adapter: a pending join, or a commit the coordinator refused for this generation. */
  #generationEnded(): boolean {
    return this.#pending !== undefined || this.#lostGeneration === this.#generationId;
  }

  /**
   * Its session expired without it knowing: the next heartbeat, one interval later, is answered
   * UNKNOWN_MEMBER_ID and the client rejoins with a new member id (the new generation's join is
   * applied by the next poll, as any).
   */
  sessionExpired(): void {
    const heartbeat = async () => {
      await this.kafka.run('heartbeat', { clientId: this.clientId, groupId: this.groupId });
      if (!this.closed) this.kafka.join(this);
    };
    setTimeout(() => void heartbeat(), this.#options.heartbeatIntervalMs ?? 1000).unref();
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (this.closed) throw new KafkaClientError('commit() on a closed consumer');
    const latest = latestPerPartition(offsets);
    if (latest.length === 0) return;
    try {
      await this.kafka.run('commit', { clientId: this.clientId, groupId: this.groupId, offsets: latest });
      this.fence(latest, false);
    } catch (error) {
      if (error instanceof RebalanceError) this.rewind();
      throw error;
    }
    this.kafka.commitOffsets(this.groupId, latest);
    this.kafka.events.push({
      type: 'commit',
      groupId: this.groupId,
      memberId: this.memberId,
      offsets: latest,
    });
  }

  async committed(partitions: TopicPartition[]): Promise<Map<string, bigint>> {
    await this.kafka.run('committed', { clientId: this.clientId, groupId: this.groupId, partitions });
    return this.kafka.stableCommitted(this.groupId, partitions);
  }

  seek(offsets: TopicPartitionOffset[]): void {
    for (const o of offsets) {
      const k = topicPartitionKey(o);
      if (!this.#owned.some((tp) => topicPartitionKey(tp) === k))
        throw new KafkaClientError(`seek(${k}): the partition is not assigned to this consumer`);
      this.#positions.set(k, o.offset);
      this.#unpositioned.delete(k);
    }
  }

  rewind(partitions: TopicPartition[] = this.#owned): void {
    for (const tp of partitions) {
      const k = topicPartitionKey(tp);
      if (!this.#owned.some((o) => topicPartitionKey(o) === k)) continue;
      this.#positions.delete(k);
      this.#unpositioned.add(k);
    }
  }

  pause(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.#paused.add(topicPartitionKey(tp));
  }

  resume(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.#paused.delete(topicPartitionKey(tp));
  }

  groupMetadata(): GroupMetadata {
    return { groupId: this.groupId, generationId: this.#generationId, memberId: this.memberId };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.#record.closed = true;
    if (this.#joined) this.kafka.leave(this);
    this.kafka.notify();
  }

  /**
   * Offsets of this generation's work can be committed only while it lasts, for owned partitions:
   * checked here as the adapter does, then by the coordinator on the generation and member id the
   * commit carries. A refusal by the coordinator ends the generation for this member.
   */
  fence(offsets: TopicPartition[], transactional: boolean): void {
    if (this.#generationEnded()) {
      throw new RebalanceError(
        `Generation ${this.#generationId} of group "${this.groupId}" has ended: its work cannot be committed`,
        offsets.map((o) => ({ topic: o.topic, partition: o.partition })),
      );
    }
    const owned = new Set(this.#owned.map(topicPartitionKey));
    const foreign = offsets.filter((o) => !owned.has(topicPartitionKey(o)));
    if (foreign.length > 0)
      throw new RebalanceError(
        `Partitions ${foreign.map(topicPartitionKey).join(', ')} are not assigned to this member of group "${this.groupId}"`,
        foreign.map((o) => ({ topic: o.topic, partition: o.partition })),
      );
    try {
      this.kafka.validateOffsetCommit(this.groupMetadata(), transactional);
    } catch (error) {
      this.#lostGeneration = this.#generationId;
      throw error;
    }
  }

  async #applyRebalance(join: PendingJoin): Promise<void> {
    this.#pending = undefined;
    const revoked = this.#owned;
    this.#positions.clear();
    this.#paused.clear();
    this.#owned = join.assignment;
    this.#generationId = join.generationId;
    this.memberId = join.memberId;
    this.#lostGeneration = undefined;
    this.#unpositioned = new Set(join.assignment.map(topicPartitionKey));
    if (revoked.length > 0)
      for (const l of this.#listeners) await l.revoked(revoked.map((tp) => ({ ...tp })));
    for (const l of this.#listeners) await l.assigned(this.#owned.map((tp) => ({ ...tp })));
  }

  async #position(): Promise<void> {
    if (this.#unpositioned.size === 0) return;
    const partitions = this.#owned.filter((tp) => this.#unpositioned.has(topicPartitionKey(tp)));
    const committed = await this.kafka.stableCommitted(this.groupId, partitions);
    for (const tp of partitions) {
      const k = topicPartitionKey(tp);
      const log = this.kafka.partitionLog(tp.topic, tp.partition);
      const reset = this.#options.autoOffsetReset === 'latest' ? log.highWatermark : log.startOffset;
      this.#positions.set(k, committed.get(k) ?? reset);
    }
    this.#unpositioned.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// Partition reader

interface ReaderPosition extends TopicPartition {
  offset: bigint;
  until?: bigint;
}

class InMemoryPartitionReader implements PartitionReaderPort {
  readonly #kafka: InMemoryKafka;
  readonly #options: PartitionReaderOptions;
  readonly #record: ClientRecord;
  readonly #positions = new Map<string, ReaderPosition>();

  constructor(kafka: InMemoryKafka, options: PartitionReaderOptions, record: ClientRecord) {
    this.#kafka = kafka;
    this.#options = options;
    this.#record = record;
  }

  assign(ranges: PartitionRange[]): void {
    this.#kafka.events.push({
      type: 'readerAssign',
      clientId: this.#options.clientId,
      ranges: ranges.map((r) => ({ ...r })),
    });
    for (const r of ranges) {
      this.#positions.set(topicPartitionKey(r), {
        topic: r.topic,
        partition: r.partition,
        offset: r.from,
        ...(r.until !== undefined ? { until: r.until } : {}),
      });
    }
  }

  unassign(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.#positions.delete(topicPartitionKey(tp));
  }

  async poll(): Promise<PartitionBatch[]> {
    return toBatches(await this.#poll());
  }

  async #poll(): Promise<ConsumedRecord[]> {
    if (this.#record.closed) throw new KafkaClientError('poll() on a closed partition reader');
    await this.#kafka.run('readerPoll', { clientId: this.#options.clientId });
    const maxWaitMs = this.#options.maxWaitMs ?? 500;
    const active = () =>
      [...this.#positions.values()].filter((p) => p.until === undefined || p.offset < p.until);
    if (active().length === 0) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(maxWaitMs, 50)));
      return [];
    }
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      const records: ConsumedRecord[] = [];
      let moved = false;
      for (const p of active()) {
        const log = this.#kafka.partitionLog(p.topic, p.partition);
        if (p.offset < log.startOffset)
          throw new OffsetOutOfRangeError([{ topic: p.topic, partition: p.partition }]);
        const read = log.read(
          p.offset,
          this.#options.isolationLevel,
          this.#kafka.maxRecordsPerPartition,
          p.until,
        );
        if (read.next !== p.offset) moved = true;
        p.offset = read.next;
        records.push(...read.records);
      }
      if (records.length > 0 || moved || Date.now() >= deadline || this.#record.closed) return records;
      await this.#kafka.changed(deadline - Date.now());
    }
  }

  positions(): Map<string, bigint> {
    return new Map([...this.#positions].map(([k, p]) => [k, p.offset]));
  }

  pending(): TopicPartition[] {
    return [...this.#positions.values()]
      .filter((p) => p.until !== undefined && p.offset < p.until)
      .map((p) => ({ topic: p.topic, partition: p.partition }))
      .sort((a, b) => topicPartitionKey(a).localeCompare(topicPartitionKey(b)));
  }

  async close(): Promise<void> {
    this.#record.closed = true;
  }
}
