/**
 * The client port: everything the runtime needs from Kafka, and nothing more.
 *
 * This module owns the contract between the streams runtime and a Kafka client: consuming as a
 * group member, reading partitions without a group (changelog restoration, standby replicas),
 * producing (plain, idempotent, transactional), committing offsets, and the admin calls the
 * framework makes for its internal topics. The only implementation lives in `./platformatic/`;
 * nothing else in the code base imports `@platformatic/kafka`.
 *
 * Offsets follow Kafka's committed-offset meaning everywhere: a committed or sought offset is the
 * next offset to read, i.e. the last processed record's offset + 1.
 *
 * Where this differs from the first sketch of the port, and why:
 * - `poll()` returns one batch at a time (not an async iterator) so that the runtime's loop decides
 *   when the next fetch happens, and rebalance callbacks can run inside `poll()` on that same loop.
 * - Rebalances are eager (the client speaks the classic protocol with an eager assignor): every
 *   rebalance revokes every partition the member owned and then assigns the new set. The callbacks
 *   run inside `poll()`, after the group has already moved on (the client cannot delay its rejoin),
 *   so a revoke is a notification that in-flight work is void, not a chance to finish it. See
 *   `RebalanceListener`.
 * - `commit()` and `TransactionPort.sendOffsets()` are fenced by the generation in which the
 *   records were polled, and fail with `RebalanceError` once a newer generation exists.
 * - The consumer can `seek`, `pause` and `resume` partitions: the adapter runs its own fetch loop,
 *   which the client's stream API could not offer.
 * - `ProducerOptions` has no `lingerMs`: the port's `send` takes a batch, so batching is the caller's.
 * - The partition reader reads ranges (`from` up to an optional exclusive `until`) and reports
 *   which ranges are finished, which is what restoration needs.
 */

import type { Headers } from '../processor/api/headers.ts';
import type { SecuritySettings } from './security.ts';

export type RawHeaders = ReadonlyArray<readonly [string, Buffer]>;

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** `offset` is the next offset to read (Kafka's committed-offset meaning). */
export interface TopicPartitionOffset extends TopicPartition {
  offset: bigint;
}

/**
 * A record as consumed, before deserialization: what tasks process, timestamp extractors see and
 * dead letters carry. Its headers wrap the fetched pairs without copying them.
 */
export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  /** Milliseconds since the epoch, as written by the producer (or the broker for LogAppendTime). */
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Headers;
}

/** One poll's records of one partition, in offset order (never empty). */
export interface PartitionBatch extends TopicPartition {
  readonly records: ConsumedRecord[];
}

/** A poll's records as one list, partition by partition: for readers that do not care which partition. */
export function recordsOf(batches: readonly PartitionBatch[]): ConsumedRecord[] {
  if (batches.length === 1) return batches[0]!.records;
  const out: ConsumedRecord[] = [];
  for (const b of batches) for (const r of b.records) out.push(r);
  return out;
}

export interface ProducedRecord {
  topic: string;
  /** Omit to let the Java-compatible partitioner pick one from the key (murmur2 & 0x7fffffff). */
  partition?: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp?: number;
  headers?: RawHeaders;
}

/** Where a send left a partition: the offset of the last record it wrote there. */
export interface ProducedOffset extends TopicPartition {
  lastOffset: bigint;
}

export type IsolationLevel = 'read_committed' | 'read_uncommitted';

export interface GroupMetadata {
  groupId: string;
  generationId: number;
  memberId: string;
}

/** The one map key for a topic-partition everywhere in the runtime: `${topic}:${partition}`. */
export function topicPartitionKey(tp: TopicPartition): string {
  return `${tp.topic}:${tp.partition}`;
}

/** The topic-partition a `topicPartitionKey` names (topics may contain ':'; partitions are numbers). */
export function parseTopicPartitionKey(key: string): TopicPartition {
  const at = key.lastIndexOf(':');
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
}

export interface ClientConfig extends SecuritySettings {
  bootstrapServers: string[];
  /** Prefix for every client id the factory creates. */
  clientId?: string;
}

export interface KafkaClientFactory {
  admin(): AdminPort;
  producer(options: ProducerOptions): ProducerPort;
  consumer(options: ConsumerOptions): ConsumerPort;
  partitionReader(options: PartitionReaderOptions): PartitionReaderPort;
}

export interface ProducerOptions {
  clientId: string;
  /**
   * Exactly-once per partition and session (acks=all, sequence numbers). Implied by transactionalId.
   * Every producer the framework creates sets it or a transactionalId. `false` lets a send that the
   * client retries after a lost acknowledgement write its batch twice: it exists only as the
   * unsafe baseline the idempotent-producer pattern compares against.
   */
  idempotent: boolean;
  /** Makes the producer transactional; one transactional id per producing unit (instance/thread). */
  transactionalId?: string;
  /**
   * How long the broker lets a transaction stay open before aborting it (and fencing this
   * producer's epoch). Keep it above the commit interval plus the longest batch processing time.
   */
  transactionTimeoutMs?: number;
}

export interface ConsumerOptions {
  groupId: string;
  clientId: string;
  topics: string[];
  isolationLevel: IsolationLevel;
  /** Topics whose partition N must be owned by the same member (joins, co-partitioned inputs). */
  copartitionGroups: string[][];
  /** Where to start a partition that has no committed offset. Default 'earliest'. */
  autoOffsetReset?: 'earliest' | 'latest';
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  /** Longest a `poll()` waits for records before returning an empty batch. */
  maxWaitMs?: number;
  /** Upper bound on bytes fetched per partition per fetch. */
  maxBytesPerPartition?: number;
  /**
   * Most records one `poll()` returns (Kafka's max.poll.records, default 1000); the rest of a
   * fetch waits for the next polls.
   */
  maxPollRecords?: number;
  /**
   * Opaque bytes every other member can read from this member's group subscription (Kafka's
   * subscription userData): how the instances of an application learn each other's
   * interactive-query address. Must not change the assignment.
   */
  userData?: Buffer;
}

/**
 * Rebalance callbacks. Both run inside `ConsumerPort.poll()`, on the runtime's loop, never while a
 * batch is being processed, and before any record of the new generation is returned: `revoked`
 * first (every partition owned in the previous generation), then `assigned` (every partition of
 * the new generation, including ones the member keeps).
 *
 * The client rejoins as soon as the broker announces a rebalance and cannot wait for the runtime,
 * so by the time `revoked` runs the partitions may already belong to another member:
 * - work polled in the previous generation can no longer be committed: `commit()` and
 *   `sendOffsets()` for it fail with `RebalanceError` (the broker would answer ILLEGAL_GENERATION);
 * - at_least_once: commit after every batch, before the next `poll()`; in `revoked`, flush and
 *   close the tasks (a failed commit only means their last records are processed again);
 * - exactly_once_v2: in `revoked`, abort the open transaction and roll back the tasks' uncommitted
 *   state, then close them; nothing of that work becomes visible.
 * After the callbacks every assigned partition resumes from its committed offset (read with
 * require-stable semantics, so a predecessor's pending transaction is waited for), unless
 * `assigned` called `seek` for it.
 */
export interface RebalanceListener {
  revoked(partitions: TopicPartition[]): Promise<void> | void;
  assigned(partitions: TopicPartition[]): Promise<void> | void;
}

export interface ConsumerPort {
  /**
   * The next records from the assigned, unpaused partitions, one batch per partition (possibly
   * none after `maxWaitMs`). Joins the group on the first call. Process a poll fully before polling
   * again: rebalance callbacks run inside this call.
   */
  poll(): Promise<PartitionBatch[]>;
  /**
   * The partitions this member owns in its generation: none once that generation has ended (a
   * rebalance is pending, or a commit was refused because the coordinator no longer knows this
   * member in it) until `poll()` has run the next generation's callbacks.
   */
  assignment(): TopicPartition[];
  /**
   * Next offset `poll()` hands out per assigned partition that has a position, by
   * `topicPartitionKey`: past transaction markers, so a caught-up partition's position equals
   * its end offset.
   */
  positions(): Map<string, bigint>;
  onRebalance(listener: RebalanceListener): void;
  /** Commits exactly these offsets (the next offset to read). Fenced by the poll's generation. */
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  /** Committed offsets by `topicPartitionKey`; partitions without a commit are absent. */
  committed(partitions: TopicPartition[]): Promise<Map<string, bigint>>;
  /** Next `poll()` reads these partitions from these offsets. */
  seek(offsets: TopicPartitionOffset[]): void;
  /**
   * Next `poll()` reads these partitions (default: all assigned) from their committed offsets.
   * After aborting a transaction, rewind the partitions whose records it held so they are
   * processed again. Happens by itself after a rebalance and after a fenced commit.
   */
  rewind(partitions?: TopicPartition[]): void;
  pause(partitions: TopicPartition[]): void;
  resume(partitions: TopicPartition[]): void;
  /**
   * Makes the `poll()` that is waiting for records (or the next one) return early with what it
   * holds, possibly nothing: work finished outside the loop (an asynchronous step) and is ready
   * to go on. A fetch in flight is kept for the next `poll()`; rebalance callbacks still run only
   * inside `poll()`.
   */
  wakeup(): void;
  groupMetadata(): GroupMetadata;
  /** Leaves the group (a clean handover, no session timeout to wait out). */
  close(): Promise<void>;
}

export interface ProducerPort {
  /**
   * Sends the batch in one request per broker and resolves when all records are acknowledged,
   * with the last offset written per partition. Not for transactional producers.
   */
  send(records: ProducedRecord[]): Promise<ProducedOffset[]>;
  /** Transactional producers only; one open transaction at a time. */
  beginTransaction(): Promise<TransactionPort>;
  close(): Promise<void>;
}

export interface TransactionPort {
  send(records: ProducedRecord[]): Promise<ProducedOffset[]>;
  /**
   * Adds the consumer's offsets to the transaction: they become committed if and only if the
   * transaction commits. Only the highest offset per partition is sent. Fenced by the generation
   * in which the records were polled.
   */
  sendOffsets(consumer: ConsumerPort, offsets: TopicPartitionOffset[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface PartitionReaderOptions {
  clientId: string;
  isolationLevel: IsolationLevel;
  maxWaitMs?: number;
  maxBytesPerPartition?: number;
}

/** A partition to read from `from` (inclusive) to `until` (exclusive; omit to follow the log). */
export interface PartitionRange extends TopicPartition {
  from: bigint;
  until?: bigint;
}

/** Group-less reads of chosen partitions: changelog restoration and standby replicas. */
export interface PartitionReaderPort {
  /** Adds or replaces ranges; a replaced range restarts at its new `from`. */
  assign(ranges: PartitionRange[]): void;
  unassign(partitions: TopicPartition[]): void;
  /**
   * Next records of the assigned ranges, one batch per partition (none after `maxWaitMs` with
   * nothing new); a bounded range's batches stop before its `until`.
   */
  poll(): Promise<PartitionBatch[]>;
  /** Next offset to read per assigned partition, by `topicPartitionKey`. */
  positions(): Map<string, bigint>;
  /** Assigned ranges with an `until` that have not been read to the end yet. */
  pending(): TopicPartition[];
  close(): Promise<void>;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Default: the broker's default.replication.factor. */
  replicationFactor?: number;
  configs?: Record<string, string>;
}

/** A consumer group as its coordinator describes it. */
export interface GroupDescription {
  groupId: string;
  /** Kafka's group state: 'Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead', ... */
  state: string;
  members: GroupMemberDescription[];
}

export interface GroupMemberDescription {
  memberId: string;
  clientId: string;
  clientHost: string;
  /** The member's subscription userData; absent while the group is not Stable. */
  userData: Buffer | undefined;
  /** Partitions assigned in the current generation; empty while the group is not Stable. */
  assignment: TopicPartition[];
}

export interface AdminPort {
  /**
   * Idempotent: an existing topic with the same partition count is fine; another count is a
   * `TopicPartitionsMismatchError`. A topic the broker refuses is a `TopicCreationError`.
   */
  createTopics(topics: TopicSpec[]): Promise<void>;
  /** `undefined` for a topic that does not exist. */
  describeTopics(names: string[]): Promise<Map<string, { partitions: number } | undefined>>;
  /** By `topicPartitionKey`. 'latest' under read_committed is the last stable offset. */
  listOffsets(
    partitions: TopicPartition[],
    which: 'earliest' | 'latest',
    isolationLevel?: IsolationLevel,
  ): Promise<Map<string, bigint>>;
  /**
   * The topic's effective configuration (`retention.ms`, `cleanup.policy`, ...), broker defaults
   * included; `undefined` when the topic does not exist.
   */
  describeTopicConfigs(topic: string): Promise<Record<string, string> | undefined>;
  deleteTopics(names: string[]): Promise<void>;
  /** The cluster's topics, without Kafka's own internal ones (`__consumer_offsets`, ...). */
  listTopics(): Promise<string[]>;
  /**
   * Per partition, by `topicPartitionKey`: the earliest offset whose record's timestamp is at or
   * after `timestampMs` (Kafka's offsetsForTimes); `undefined` when no record is that late.
   */
  offsetsForTimes(
    partitions: TopicPartition[],
    timestampMs: number,
  ): Promise<Map<string, bigint | undefined>>;
  listGroups(): Promise<string[]>;
  /** Sets a group's committed offsets; the group must have no active members. */
  alterGroupOffsets(
    groupId: string,
    offsets: { topic: string; partition: number; offset: bigint }[],
  ): Promise<void>;
  /** Committed offsets of any group, by `topicPartitionKey` (require-stable). */
  groupOffsets(groupId: string, partitions: TopicPartition[]): Promise<Map<string, bigint>>;
  deleteGroups(groupIds: string[]): Promise<void>;
  /** The group's members with their subscription userData and assignment; `undefined` when the group does not exist. */
  describeGroup(groupId: string): Promise<GroupDescription | undefined>;
  close(): Promise<void>;
}
