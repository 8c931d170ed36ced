/**
 * ConsumerPort on the client: group membership from the client's Consumer (classic protocol,
 * co-partitioning assignor, autocommit off), records from the adapter's own fetch loop.
 *
 * How the client signals rebalances, and what this adapter makes of it:
 * - `consumer:group:rebalance` fires when a heartbeat or commit learns that the group is
 *   rebalancing. The client rejoins at once; it cannot be held back. From then on `poll()`
 *   returns no records, but commits still go through under the old generation, which the broker
 *   accepts until the new generation forms.
 * - `consumer:group:join` fires after SyncGroup with the new generation and assignment. The
 *   adapter queues it; the next `poll()` runs `revoked` (everything owned before) and `assigned`
 *   (everything owned now), resets every position to the committed offset, and only then fetches.
 *   Records fetched across a generation change are dropped.
 * - An `error` event (a rejoin that failed after its retries) makes the next `poll()` throw.
 * A poll returns at most `maxPollRecords` records; the rest of a fetch is held back and returned
 * by the next polls before anything is fetched again, so one poll's work stays small however
 * large the backlog, and memory holds one fetch at most. A seek, rewind or rebalance drops what
 * is held back for the partitions concerned; a paused partition keeps it for later.
 * Work polled in a generation can only be committed in that generation: `commit()` and
 * `sendOffsets()` check it locally and carry it to the broker, which rejects a stale one. Once the
 * generation has ended (a new one is joined or pending, or the coordinator refused a commit because
 * it no longer knows this member in it: a member frozen past its session timeout), the member owns
 * nothing: `assignment()` is empty and `poll()` returns no records until the new generation's
 * callbacks have run.
 */
import { Admin, Consumer, FetchIsolationLevels } from '@platformatic/kafka';
import { KafkaClientError, OffsetOutOfRangeError, RebalanceError } from '../errors.ts';
import type {
  ConsumerOptions,
  ConsumerPort,
  GroupMetadata,
  PartitionBatch,
  RebalanceListener,
  TopicPartition,
  TopicPartitionOffset,
} from '../port.ts';
import { topicPartitionKey } from '../port.ts';
import { copartitionedAssigner } from './assignor.ts';
import { committedOffsets } from './committed.ts';
import { baseOptions, type ConnectionConfig, securityContext } from './connection.ts';
import { hasApiError, toPortError } from './errors.ts';
import { Fetcher } from './fetcher.ts';

const PROTOCOL = 'kafka-pattern-copartitioned';
/** The coordinator's answers to a commit from a member it removed, or from an older generation. */
const MEMBER_GONE_IDS = ['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'FENCED_INSTANCE_ID'];

interface PendingJoin {
  generationId: number;
  memberId: string;
  assignment: TopicPartition[];
}

/** What a transaction needs to commit offsets on behalf of a consumer. */
export interface TransactionContext {
  client: Consumer;
  groupId: string;
  generationId: number;
  memberId: string;
}

export class PlatformaticConsumer implements ConsumerPort {
  readonly #config: ConnectionConfig;
  readonly #options: Required<Omit<ConsumerOptions, 'copartitionGroups' | 'userData'>> &
    Pick<ConsumerOptions, 'copartitionGroups' | 'userData'>;
  readonly #group: Consumer;
  readonly #fetchClient: Consumer;
  readonly #admin: Admin;
  readonly #fetcher: Fetcher;
  readonly #listeners: RebalanceListener[] = [];
  #joining: Promise<void> | undefined;
  #pending: PendingJoin | undefined;
  #rebalancing = false;
  #owned: TopicPartition[] = [];
  #generationId = -1;
  #memberId = '';
  /** The generation whose commit the coordinator refused: this member is no longer in it. */
  #lostGeneration: number | undefined;
  #unpositioned = new Set<string>();
  #failure: Error | undefined;
  #closed = false;
  #wake: (() => void) | undefined;
  /** wakeup() was called: the next wait in poll() returns at once. */
  #wakeRequested = false;
  /** A fetch a woken poll() stopped waiting for; the next poll() picks its answer up. */
  #inflight: { generation: number; answer: Promise<PartitionBatch[]> } | undefined;
  /** Fetched records not handed out yet, per partition, in fetch order. */
  #held: PartitionBatch[] = [];

  constructor(config: ConnectionConfig, options: ConsumerOptions) {
    this.#config = config;
    this.#options = {
      autoOffsetReset: 'earliest',
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1_000,
      rebalanceTimeoutMs: 30_000,
      maxWaitMs: 500,
      maxBytesPerPartition: 1_048_576,
      maxPollRecords: 1000,
      ...options,
    };
    const isolationLevel =
      options.isolationLevel === 'read_committed'
        ? FetchIsolationLevels.READ_COMMITTED
        : FetchIsolationLevels.READ_UNCOMMITTED;
    this.#group = new Consumer({
      ...baseOptions(config, options.clientId),
      groupId: options.groupId,
      autocommit: false,
      isolationLevel,
      sessionTimeout: this.#options.sessionTimeoutMs,
      heartbeatInterval: this.#options.heartbeatIntervalMs,
      rebalanceTimeout: this.#options.rebalanceTimeoutMs,
    });
    // A second client so that a long fetch never queues behind, or in front of, group requests.
    this.#fetchClient = new Consumer({
      ...baseOptions(config, `${options.clientId}-fetch`),
      groupId: options.groupId,
      autocommit: false,
      isolationLevel,
      timeout: this.#options.maxWaitMs + 10_000,
    });
    this.#admin = new Admin(baseOptions(config, `${options.clientId}-offsets`));
    this.#fetcher = new Fetcher(this.#fetchClient, {
      isolationLevel: options.isolationLevel,
      maxWaitMs: this.#options.maxWaitMs,
      maxBytesPerPartition: this.#options.maxBytesPerPartition,
    });
    this.#group.on('consumer:group:rebalance', () => {
      this.#rebalancing = true;
    });
    this.#group.on('consumer:group:join', (payload) => {
      const topics = new Set(this.#options.topics);
      const assignment: TopicPartition[] = [];
      for (const a of payload.assignments ?? []) {
        if (!topics.has(a.topic)) continue;
        for (const partition of a.partitions) assignment.push({ topic: a.topic, partition });
      }
      assignment.sort((x, y) =>
        x.topic === y.topic ? x.partition - y.partition : x.topic < y.topic ? -1 : 1,
      );
      this.#pending = { generationId: payload.generationId ?? -1, memberId: payload.memberId, assignment };
      this.#rebalancing = false;
      this.#wake?.();
    });
    this.#group.on('error', (error: Error) => {
      this.#failure = toPortError(error, this.#context());
      this.#wake?.();
    });
  }

  onRebalance(listener: RebalanceListener): void {
    this.#listeners.push(listener);
  }

  async poll(): Promise<PartitionBatch[]> {
    if (this.#closed) throw new KafkaClientError('poll() on a closed consumer');
    this.#joining ??= this.#join();
    await this.#joining;
    this.#throwIfFailed();
    if (this.#pending && this.#inflight) {
      // A fetch a woken poll left in flight moves positions when it lands: let it land before the
      // new generation sets them, or it would move them past records no one handed out.
      await this.#inflight.answer.catch(() => {});
      this.#inflight = undefined;
    }
    while (this.#pending) await this.#applyRebalance(this.#pending);
    if (this.#rebalancing || this.#generationEnded()) {
      this.#held = [];
      await this.#sleep(this.#options.maxWaitMs);
      return [];
    }
    if (this.#held.some((b) => !this.#fetcher.paused.has(topicPartitionKey(b)))) return this.#take();
    await this.#position();
    if (this.#fetcher.active().length === 0) {
      await this.#sleep(this.#options.maxWaitMs);
      return [];
    }
    let batches: PartitionBatch[];
    let generation: number;
    try {
      this.#inflight ??= { generation: this.#generationId, answer: this.#fetcher.fetch() };
      const inflight = this.#inflight;
      generation = inflight.generation;
      const answer = await this.#untilWoken(inflight.answer);
      if (answer === undefined) return [];
      this.#inflight = undefined;
      batches = answer;
    } catch (error) {
      this.#inflight = undefined;
      if (this.#closed) return [];
      if (error instanceof OffsetOutOfRangeError) {
        await this.#reset(error.partitions.length > 0 ? error.partitions : this.#owned);
        return [];
      }
      throw toPortError(error, this.#context());
    }
    // A generation change while fetching voids the answer; the next poll() runs the callbacks.
    if (this.#closed || this.#pending || this.#rebalancing || generation !== this.#generationId) return [];
    this.#held.push(...batches);
    return this.#take();
  }

  /** Up to `maxPollRecords` of the held-back records, skipping paused partitions. */
  #take(): PartitionBatch[] {
    let budget = this.#options.maxPollRecords;
    const out: PartitionBatch[] = [];
    const kept: PartitionBatch[] = [];
    for (const batch of this.#held) {
      if (budget === 0 || this.#fetcher.paused.has(topicPartitionKey(batch))) {
        kept.push(batch);
        continue;
      }
      if (batch.records.length <= budget) {
        out.push(batch);
        budget -= batch.records.length;
        continue;
      }
      out.push({ topic: batch.topic, partition: batch.partition, records: batch.records.slice(0, budget) });
      kept.push({ topic: batch.topic, partition: batch.partition, records: batch.records.slice(budget) });
      budget = 0;
    }
    this.#held = kept;
    return out;
  }

  /** Drops held-back records of these partitions (they will be fetched again from the new position). */
  #drop(keys: ReadonlySet<string>): void {
    if (this.#held.length > 0) this.#held = this.#held.filter((b) => !keys.has(topicPartitionKey(b)));
  }

  positions(): Map<string, bigint> {
    const out = new Map<string, bigint>();
    for (const [key, p] of this.#fetcher.positions) out.set(key, p.offset);
    // Held-back records are not consumed yet: the position is the first of them.
    for (const b of this.#held) {
      const key = topicPartitionKey(b);
      const first = b.records[0]!.offset;
      const current = out.get(key);
      if (current === undefined || first < current) out.set(key, first);
    }
    return out;
  }

  assignment(): TopicPartition[] {
    // Partitions of an ended generation may be another member's already: nothing of them is to
    // be restarted or committed here, the next poll's callbacks say what this member owns.
    if (this.#generationEnded()) return [];
    return this.#ownedCopy();
  }

  #ownedCopy(): TopicPartition[] {
    return this.#owned.map((tp) => ({ ...tp }));
  }

  /** The generation this member's work belongs to is over, whether or not the new one is known yet. */
  #generationEnded(): boolean {
    return (
      this.#pending !== undefined ||
      this.#group.generationId !== this.#generationId ||
      this.#lostGeneration === this.#generationId
    );
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    const latest = latestPerPartition(offsets);
    if (latest.length === 0) return;
    this.#fence(latest);
    try {
      await this.#group.commit({ offsets: latest.map((o) => ({ ...o, leaderEpoch: -1 })) });
    } catch (error) {
      throw this.failedCommit(error);
    }
  }

  async committed(partitions: TopicPartition[]): Promise<Map<string, bigint>> {
    try {
      return await committedOffsets(
        this.#admin,
        this.#options.groupId,
        partitions,
        this.#options.rebalanceTimeoutMs + 60_000,
      );
    } catch (error) {
      throw toPortError(error, this.#context());
    }
  }

  seek(offsets: TopicPartitionOffset[]): void {
    for (const o of offsets) {
      const key = topicPartitionKey(o);
      if (!this.#owned.some((tp) => topicPartitionKey(tp) === key)) {
        throw new KafkaClientError(`seek(${key}): the partition is not assigned to this consumer`);
      }
      this.#fetcher.set({ topic: o.topic, partition: o.partition, offset: o.offset });
      this.#unpositioned.delete(key);
    }
    this.#drop(new Set(offsets.map(topicPartitionKey)));
  }

  rewind(partitions: TopicPartition[] = this.#owned): void {
    for (const tp of partitions) {
      const key = topicPartitionKey(tp);
      if (!this.#owned.some((o) => topicPartitionKey(o) === key)) continue;
      this.#fetcher.positions.delete(key);
      this.#unpositioned.add(key);
    }
    this.#drop(new Set(partitions.map(topicPartitionKey)));
  }

  pause(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.#fetcher.paused.add(topicPartitionKey(tp));
  }

  resume(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.#fetcher.paused.delete(topicPartitionKey(tp));
  }

  groupMetadata(): GroupMetadata {
    return { groupId: this.#options.groupId, generationId: this.#generationId, memberId: this.#memberId };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake?.();
    await Promise.allSettled([this.#joining]);
    const results = await Promise.allSettled([
      this.#group.close(),
      this.#fetchClient.close(),
      this.#admin.close(),
    ]);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw toPortError(failed.reason, this.#context());
  }

  /** Fences a transaction's offsets like `commit()` and hands over what the client needs. */
  transactionContext(offsets: TopicPartitionOffset[]): TransactionContext {
    this.#fence(offsets);
    // The coordinator checks a transactional offset commit without a generation against nothing:
    // it would commit whatever a zombie sends, so such a commit is never sent.
    if (this.#generationId < 0 || this.#memberId === '') {
      throw new RebalanceError(
        `Member of group "${this.#options.groupId}" has no generation yet: its offsets cannot be committed in a transaction; poll until the group has assigned it partitions`,
        offsets.map((o) => ({ topic: o.topic, partition: o.partition })),
      );
    }
    return {
      client: this.#group,
      groupId: this.#options.groupId,
      generationId: this.#generationId,
      memberId: this.#memberId,
    };
  }

  async #join(): Promise<void> {
    this.#group.topics.trackAll(...this.#options.topics);
    try {
      await this.#group.joinGroup({
        sessionTimeout: this.#options.sessionTimeoutMs,
        rebalanceTimeout: this.#options.rebalanceTimeoutMs,
        heartbeatInterval: this.#options.heartbeatIntervalMs,
        protocols: [
          this.#options.userData
            ? { name: PROTOCOL, version: 1, metadata: this.#options.userData }
            : { name: PROTOCOL, version: 1 },
        ],
        partitionAssigner: copartitionedAssigner(this.#options.copartitionGroups),
      });
    } catch (error) {
      this.#joining = undefined;
      throw toPortError(error, this.#context(this.#options.topics));
    }
  }

  async #applyRebalance(join: PendingJoin): Promise<void> {
    this.#pending = undefined;
    const revoked = this.#owned;
    this.#fetcher.clear();
    this.#held = [];
    this.#owned = join.assignment;
    this.#generationId = join.generationId;
    this.#memberId = join.memberId;
    this.#lostGeneration = undefined;
    this.#unpositioned = new Set(join.assignment.map(topicPartitionKey));
    if (revoked.length > 0)
      for (const l of this.#listeners) await l.revoked(revoked.map((tp) => ({ ...tp })));
    for (const l of this.#listeners) await l.assigned(this.#ownedCopy());
  }

  async #position(): Promise<void> {
    if (this.#unpositioned.size === 0) return;
    const partitions = this.#owned.filter((tp) => this.#unpositioned.has(topicPartitionKey(tp)));
    const committed = await this.committed(partitions);
    const missing: TopicPartition[] = [];
    for (const tp of partitions) {
      const offset = committed.get(topicPartitionKey(tp));
      if (offset === undefined) missing.push(tp);
      else this.#fetcher.set({ ...tp, offset });
    }
    if (missing.length > 0) await this.#reset(missing);
    this.#unpositioned.clear();
  }

  /** auto.offset.reset for partitions without a usable position. */
  async #reset(partitions: TopicPartition[]): Promise<void> {
    const byTopic = new Map<string, number[]>();
    for (const tp of partitions) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
    try {
      const offsets = await this.#group.listOffsets({
        topics: [...byTopic.keys()],
        partitions: Object.fromEntries(byTopic),
        timestamp: this.#options.autoOffsetReset === 'earliest' ? -2n : -1n,
      });
      for (const tp of partitions) {
        const offset = offsets.get(tp.topic)?.[tp.partition];
        if (offset !== undefined) this.#fetcher.set({ ...tp, offset });
      }
    } catch (error) {
      throw toPortError(error, this.#context([...byTopic.keys()]));
    }
  }

  /**
   * Maps a failed offset commit of work polled in `generationId`; a fenced one voids every
   * position of this generation, so the next poll resumes from what is committed rather than after
   * the work that was not. When the coordinator no longer knows this member in that generation,
   * the generation has ended for it: its partitions are lost until the client has rejoined.
   */
  failedCommit(error: unknown, generationId = this.#generationId): Error {
    const mapped = toPortError(error, this.#context());
    if (mapped instanceof RebalanceError) {
      if (generationId === this.#generationId && hasApiError(error, ...MEMBER_GONE_IDS))
        this.#lostGeneration = generationId;
      this.rewind();
    }
    return mapped;
  }

  #fence(offsets: TopicPartition[]): void {
    if (this.#generationEnded()) {
      this.rewind();
      throw new RebalanceError(
        `Generation ${this.#generationId} of group "${this.#options.groupId}" has ended: its work cannot be committed; abort it, the partitions' owner reprocesses from the committed offsets`,
        offsets.map((o) => ({ topic: o.topic, partition: o.partition })),
      );
    }
    const owned = new Set(this.#owned.map(topicPartitionKey));
    const foreign = offsets.filter((o) => !owned.has(topicPartitionKey(o)));
    if (foreign.length > 0) {
      throw new RebalanceError(
        `Partitions ${foreign.map(topicPartitionKey).join(', ')} are not assigned to this member of group "${this.#options.groupId}": their offsets cannot be committed here`,
        foreign,
      );
    }
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure;
  }

  wakeup(): void {
    this.#wakeRequested = true;
    this.#wake?.();
  }

  /** The answer, or undefined when wakeup() came first (the answer is kept for the next poll). */
  async #untilWoken(answer: Promise<PartitionBatch[]>): Promise<PartitionBatch[] | undefined> {
    if (this.#wakeRequested) {
      this.#wakeRequested = false;
      answer.catch(() => {});
      return undefined;
    }
    let woken = false;
    const wake = new Promise<void>((resolve) => {
      this.#wake = () => {
        woken = true;
        resolve();
      };
    });
    try {
      await Promise.race([answer, wake]);
    } finally {
      this.#wake = undefined;
    }
    if (woken) {
      this.#wakeRequested = false;
      // Its failure is seen by the poll that takes the answer up.
      answer.catch(() => {});
      return undefined;
    }
    return answer;
  }

  #sleep(ms: number): Promise<void> {
    if (this.#wakeRequested) {
      this.#wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.#wakeRequested = false;
        if (self.#wake === done) self.#wake = undefined;
        resolve();
      }
      this.#wake = done;
    });
  }

  #context(topics?: string[]) {
    return {
      bootstrapServers: this.#config.bootstrapServers,
      ...securityContext(this.#config),
      topics: topics ?? this.#options.topics,
    };
  }
}

export function latestPerPartition(offsets: TopicPartitionOffset[]): TopicPartitionOffset[] {
  const latest = new Map<string, TopicPartitionOffset>();
  for (const o of offsets) {
    const key = topicPartitionKey(o);
    const current = latest.get(key);
    if (!current || current.offset < o.offset)
      latest.set(key, { topic: o.topic, partition: o.partition, offset: o.offset });
  }
  return [...latest.values()];
}
