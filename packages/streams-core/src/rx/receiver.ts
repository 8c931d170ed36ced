/**
 * KafkaReceiver: a consumer group member as an RxJS Observable, on the client port the runtime
 * uses (`KafkaClientFactory`).
 *
 * Each subscription to one of the `receive*` Observables creates its own consumer, joins the
 * group, and leaves it when the subscription ends. A loop polls the consumer, commits between
 * polls, and hands records to the subscriber; the subscriber's demand is its acknowledgements:
 * per partition, at most `maxBufferedPerPartition` records are delivered and not yet committable
 * (unacknowledged, or acknowledged behind an unacknowledged one). A partition at that bound, or
 * with fetched records it cannot deliver yet, is paused, so nothing more is fetched for it until
 * the subscriber catches up.
 */
import {
  concat,
  concatMap,
  defer,
  EMPTY,
  from,
  lastValueFrom,
  mergeMap,
  Observable,
  type ObservableInput,
  Subject,
  tap,
  toArray,
} from 'rxjs';
import { RebalanceError } from '../client/errors.ts';
import { createPlatformaticClientFactory } from '../client/platformatic/factory.ts';
import type {
  ConsumedRecord,
  ConsumerPort,
  IsolationLevel,
  KafkaClientFactory,
  TopicPartition,
  TopicPartitionOffset,
} from '../client/port.ts';
import { topicPartitionKey } from '../client/port.ts';
import type { Headers } from '../processor/api/headers.ts';
import type { Deserializer } from '../serdes/serde.ts';
import { PartitionOffsets } from './offset-tracker.ts';
import type { SenderRecord, SenderResult, TransactionalKafkaSender } from './sender.ts';

/** Where the clients come from: a broker list, or a factory shared with other components. */
export type ClientSource =
  | { bootstrapServers: string[]; clientFactory?: never }
  | { clientFactory: KafkaClientFactory; bootstrapServers?: never };

export type ReceiverOptions<K, V> = ClientSource & {
  groupId: string;
  topics: string[];
  keyDeserializer: Deserializer<K>;
  valueDeserializer: Deserializer<V>;
  /** Client id prefix of the consumers. Default: the group id. */
  clientId?: string;
  /**
   * Most records per partition delivered and not yet committable, plus fetched and not yet
   * delivered, before fetching pauses (default 1000). Out-of-order acknowledgements count here
   * until the gap before them is acknowledged (Reactor Kafka's maxDeferredCommits).
   */
  maxBufferedPerPartition?: number;
  /** Commit acknowledged offsets at least this often while there are any (default 1000 ms). */
  commitIntervalMs?: number;
  /** Commit as soon as this many acknowledgements arrived since the last commit (default 100). */
  commitBatchSize?: number;
  /** Default 'read_committed'. */
  isolationLevel?: IsolationLevel;
  /** Where a partition without a committed offset starts (default 'earliest'). */
  autoOffsetReset?: 'earliest' | 'latest';
  /** Longest a poll waits for records; also how late an interval commit may be (default 100 ms). */
  pollTimeoutMs?: number;
  /** Records one poll hands out at most, over all partitions (default 500). */
  maxPollRecords?: number;
  /** Bytes fetched per partition per request (default 1 MiB): what a paused partition may hold in the client. */
  maxBytesPerPartition?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
};

/** A received record's place in its partition, and the way to say it is processed. */
export interface ReceiverOffset extends TopicPartition {
  readonly offset: bigint;
  /**
   * The record is processed: its offset may be committed once every earlier record of its
   * partition is acknowledged too. Frees its place in the partition's buffer. Idempotent; a
   * no-op for a record of a partition revoked since it was delivered.
   */
  acknowledge(): void;
  /**
   * Acknowledges and resolves once an offset commit covering this record has succeeded (which
   * needs every earlier record of the partition acknowledged). Rejects with `RebalanceError`
   * when the partition is revoked first, or with the commit's error.
   */
  commit(): Promise<void>;
}

export interface ReceiverRecord<K, V> {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly timestamp: number;
  readonly key: K | null;
  readonly value: V | null;
  readonly headers: Headers;
  readonly receiverOffset: ReceiverOffset;
}

/** A group-membership change as the receiver saw it, inside a poll (see `RebalanceListener`). */
export interface PartitionsEvent {
  readonly partitions: TopicPartition[];
}

/** An offset commit that succeeded: the next offsets to read, per partition. */
export interface CommitEvent {
  readonly offsets: TopicPartitionOffset[];
}

/** One transaction of `receiveExactlyOnce`: the input it consumed and what it produced. */
export interface ExactlyOnceBatch<R> {
  /** The consumed records' next offsets, committed in the transaction. */
  readonly offsets: TopicPartitionOffset[];
  readonly records: number;
  readonly results: SenderResult<R>[];
}

/** What one partition holds right now, for monitoring and tests. */
export interface PartitionBufferStats extends TopicPartition {
  /** Fetched, not delivered yet. */
  readonly buffered: number;
  /** Delivered, not committable yet. */
  readonly outstanding: number;
  readonly paused: boolean;
  /** Last committed offset (next to read) in this assignment, if any. */
  readonly committed: bigint | undefined;
}

export interface ReceiverStats {
  readonly partitions: PartitionBufferStats[];
  /** Highest `buffered + outstanding` any partition reached since the receiver was created. */
  readonly maxHeldPerPartition: number;
  readonly commits: number;
}

interface PartitionState {
  readonly tp: TopicPartition;
  readonly key: string;
  readonly offsets: PartitionOffsets;
  buffer: ConsumedRecord[];
  bufferHead: number;
  paused: boolean;
  committed: bigint | undefined;
  /** Commit at least this (next offset) at the next commit: at-most-once commits ahead of delivery. */
  forced: bigint | undefined;
}

interface CommitWaiter {
  state: PartitionState;
  next: bigint;
  resolve: () => void;
  reject: (error: unknown) => void;
}

type Mode = 'acknowledged' | 'exactly-once';

export class KafkaReceiver<K, V> {
  readonly #options: ReceiverOptions<K, V>;
  readonly #factory: KafkaClientFactory;
  readonly #sessions = new Set<ReceiverSession<K, V>>();
  readonly #assigned = new Subject<PartitionsEvent>();
  readonly #revoked = new Subject<PartitionsEvent>();
  readonly #commits = new Subject<CommitEvent>();
  /** Shared by the sessions, for `stats()`. */
  readonly counters = { maxHeld: 0, commits: 0 };
  #sessionCount = 0;

  /** Partitions assigned to a session of this receiver, after each rebalance (all of them: rebalances are eager). */
  readonly assignments$: Observable<PartitionsEvent> = this.#assigned.asObservable();
  /**
   * Partitions revoked from a session of this receiver: their undelivered records were dropped,
   * and acknowledging their delivered ones does nothing any more (the new owner receives them
   * again from the last commit).
   */
  readonly revocations$: Observable<PartitionsEvent> = this.#revoked.asObservable();
  /** Every successful offset commit. */
  readonly commits$: Observable<CommitEvent> = this.#commits.asObservable();

  private constructor(options: ReceiverOptions<K, V>) {
    this.#options = options;
    this.#factory =
      options.clientFactory ??
      createPlatformaticClientFactory({
        bootstrapServers: options.bootstrapServers!,
        clientId: options.clientId ?? options.groupId,
      });
  }

  static create<K, V>(options: ReceiverOptions<K, V>): KafkaReceiver<K, V> {
    for (const [name, value] of [
      ['maxBufferedPerPartition', options.maxBufferedPerPartition],
      ['commitBatchSize', options.commitBatchSize],
      ['maxPollRecords', options.maxPollRecords],
    ] as const) {
      if (value !== undefined && (!Number.isInteger(value) || value < 1))
        throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
    if (options.topics.length === 0) throw new RangeError('topics is empty: give at least one topic');
    return new KafkaReceiver(options);
  }

  /**
   * Records one by one; acknowledge each (`record.receiverOffset.acknowledge()`) once processed.
   * Offsets are committed only for acknowledged records and only in order per partition, every
   * `commitIntervalMs` or `commitBatchSize` acknowledgements. At least once: a record whose
   * commit did not happen before a crash or a rebalance is received again.
   */
  receive(): Observable<ReceiverRecord<K, V>> {
    return this.#deliveries('acknowledged').pipe(mergeMap((d) => d.records));
  }

  /**
   * Batches (what one poll made deliverable) handed to `handle` one at a time; a batch is
   * acknowledged when the Observable `handle` returned for it completes, and not at all when it
   * errors (the error ends the stream). At least once.
   */
  receiveAutoAck<T>(handle: (batch: Observable<ReceiverRecord<K, V>>) => ObservableInput<T>): Observable<T> {
    return this.#deliveries('acknowledged').pipe(
      concatMap((d) =>
        from(defer(() => handle(from(d.records)))).pipe(
          tap({
            complete: () => {
              for (const r of d.records) r.receiverOffset.acknowledge();
            },
          }),
        ),
      ),
    );
  }

  /**
   * Records handed to `handle` one at a time, each only after an offset commit past it has
   * succeeded (a batch's offsets are committed together before its first record is handled).
   * At most once: the records of a batch not handled before a crash are never received again.
   * A batch whose commit is refused by a rebalance is skipped (its new owner receives it).
   */
  receiveAtMostOnce<T>(handle: (record: ReceiverRecord<K, V>) => ObservableInput<T>): Observable<T> {
    return this.#deliveries('acknowledged').pipe(
      concatMap((d) =>
        defer(() => d.commitAhead()).pipe(
          concatMap((committed) => (committed ? from(d.records) : EMPTY)),
          concatMap((record) =>
            concat(
              from(defer(() => handle(record))),
              defer(() => {
                record.receiverOffset.acknowledge();
                return EMPTY;
              }),
            ),
          ),
        ),
      ),
    );
  }

  /**
   * One transaction per poll: `process` maps the batch to output records, which `sender` sends
   * inside a transaction together with the batch's offsets (committed if and only if the
   * transaction commits). Emits one `ExactlyOnceBatch` per committed transaction. A transaction
   * overtaken by a rebalance is aborted and its input received again by the partitions' owner;
   * any other failure aborts it and ends the stream with the error. With read_committed
   * downstream consumers, each input record's outputs appear exactly once.
   */
  receiveExactlyOnce<R, KO, VO>(
    sender: TransactionalKafkaSender<KO, VO>,
    process: (batch: ReceiverRecord<K, V>[]) => ObservableInput<SenderRecord<KO, VO, R>>,
  ): Observable<ExactlyOnceBatch<R>> {
    return new Observable<ExactlyOnceBatch<R>>((subscriber) => {
      const session = this.#session('exactly-once');
      session.onExactlyOnce = async (records) => {
        const outputs = await lastValueFrom(from(process(records)).pipe(toArray()), { defaultValue: [] });
        const offsets = session.nextOffsets(records);
        const results = await sender.sendInTransaction(outputs, (tx) =>
          tx.sendOffsets(session.consumer, offsets),
        );
        subscriber.next({ offsets, records: records.length, results });
      };
      session.start({ deliver: () => {}, fail: (e) => subscriber.error(e) });
      return () => session.stop();
    });
  }

  /** What each partition holds now, over every running subscription. */
  stats(): ReceiverStats {
    const partitions: PartitionBufferStats[] = [];
    for (const s of this.#sessions) partitions.push(...s.stats());
    return { partitions, maxHeldPerPartition: this.counters.maxHeld, commits: this.counters.commits };
  }

  /** Ends every running subscription's loop: commits what is acknowledged and leaves the group. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#sessions].map((s) => s.stop()));
  }

  #deliveries(mode: Mode): Observable<Delivery<K, V>> {
    return new Observable<Delivery<K, V>>((subscriber) => {
      const session = this.#session(mode);
      session.start({ deliver: (d) => subscriber.next(d), fail: (e) => subscriber.error(e) });
      return () => session.stop();
    });
  }

  #session(mode: Mode): ReceiverSession<K, V> {
    const o = this.#options;
    const consumer = this.#factory.consumer({
      groupId: o.groupId,
      clientId: `${o.clientId ?? o.groupId}-rx-${++this.#sessionCount}`,
      topics: o.topics,
      isolationLevel: o.isolationLevel ?? 'read_committed',
      copartitionGroups: [],
      autoOffsetReset: o.autoOffsetReset ?? 'earliest',
      maxWaitMs: o.pollTimeoutMs ?? 100,
      maxPollRecords: o.maxPollRecords ?? 500,
      ...(o.maxBytesPerPartition !== undefined ? { maxBytesPerPartition: o.maxBytesPerPartition } : {}),
      ...(o.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: o.sessionTimeoutMs } : {}),
      ...(o.heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs: o.heartbeatIntervalMs } : {}),
    });
    const session = new ReceiverSession<K, V>(consumer, mode, o, {
      assigned: (p) => this.#assigned.next({ partitions: p }),
      revoked: (p) => this.#revoked.next({ partitions: p }),
      committed: (offsets) => {
        this.counters.commits++;
        this.#commits.next({ offsets });
      },
      held: (n) => {
        if (n > this.counters.maxHeld) this.counters.maxHeld = n;
      },
      ended: () => this.#sessions.delete(session),
    });
    this.#sessions.add(session);
    return session;
  }
}

/** Records made deliverable together, and the at-most-once commit ahead of them. */
interface Delivery<K, V> {
  readonly records: ReceiverRecord<K, V>[];
  /** Commits past every record of the delivery; false when a rebalance refused it. */
  commitAhead(): Promise<boolean>;
}

interface SessionEvents {
  assigned(partitions: TopicPartition[]): void;
  revoked(partitions: TopicPartition[]): void;
  committed(offsets: TopicPartitionOffset[]): void;
  held(count: number): void;
  ended(): void;
}

class ReceiverSession<K, V> {
  readonly consumer: ConsumerPort;
  readonly #mode: Mode;
  readonly #keys: Deserializer<K>;
  readonly #values: Deserializer<V>;
  readonly #maxBuffered: number;
  readonly #commitIntervalMs: number;
  readonly #commitBatchSize: number;
  readonly #events: SessionEvents;
  readonly #partitions = new Map<string, PartitionState>();
  #waiters: CommitWaiter[] = [];
  #ackedSinceCommit = 0;
  #lastCommitAt = Date.now();
  #stopping = false;
  #done: Promise<void> | undefined;
  #drainScheduled = false;
  /** A failure outside the loop (a deserializer called from an acknowledgement's drain): ends it. */
  #failure: { error: unknown } | undefined;
  #sink: { deliver(d: Delivery<K, V>): void; fail(e: unknown): void } | undefined;
  onExactlyOnce: ((records: ReceiverRecord<K, V>[]) => Promise<void>) | undefined;

  constructor(consumer: ConsumerPort, mode: Mode, options: ReceiverOptions<K, V>, events: SessionEvents) {
    this.consumer = consumer;
    this.#mode = mode;
    this.#keys = options.keyDeserializer;
    this.#values = options.valueDeserializer;
    this.#maxBuffered = options.maxBufferedPerPartition ?? 1000;
    this.#commitIntervalMs = options.commitIntervalMs ?? 1000;
    this.#commitBatchSize = options.commitBatchSize ?? 100;
    this.#events = events;
  }

  start(sink: { deliver(d: Delivery<K, V>): void; fail(e: unknown): void }): void {
    this.#sink = sink;
    this.consumer.onRebalance({
      revoked: (tps) => this.#onRevoked(tps),
      assigned: (tps) => this.#onAssigned(tps),
    });
    this.#done = this.#run();
  }

  /** Stops the loop; resolves once the last commit was tried and the consumer has left the group. */
  stop(): Promise<void> {
    this.#stopping = true;
    this.consumer.wakeup();
    return this.#done ?? Promise.resolve();
  }

  stats(): PartitionBufferStats[] {
    return [...this.#partitions.values()].map((s) => ({
      ...s.tp,
      buffered: s.buffer.length - s.bufferHead,
      outstanding: s.offsets.outstanding,
      paused: s.paused,
      committed: s.committed,
    }));
  }

  nextOffsets(records: ReceiverRecord<K, V>[]): TopicPartitionOffset[] {
    const next = new Map<string, TopicPartitionOffset>();
    for (const r of records)
      next.set(topicPartitionKey(r), { topic: r.topic, partition: r.partition, offset: r.offset + 1n });
    return [...next.values()];
  }

  async #run(): Promise<void> {
    let failure: unknown;
    try {
      while (!this.#stopping) {
        if (this.#mode === 'acknowledged') await this.#commitIfDue(false);
        const batches = await this.consumer.poll();
        if (this.#stopping) break;
        if (this.#mode === 'exactly-once') {
          await this.#exactlyOnce(batches);
          continue;
        }
        for (const b of batches) {
          const state = this.#partitions.get(topicPartitionKey(b));
          if (!state) continue;
          for (const r of b.records) state.buffer.push(r);
        }
        this.#drain();
      }
    } catch (error) {
      failure = error;
    }
    if (this.#failure) failure ??= this.#failure.error;
    this.#stopping = true;
    try {
      // Also after a failure: what was acknowledged is processed.
      if (this.#mode === 'acknowledged') await this.#commitIfDue(true);
    } catch (error) {
      failure ??= error;
    }
    for (const w of this.#waiters.splice(0))
      w.reject(failure ?? new RebalanceError('The receiver stopped before this commit', [w.state.tp]));
    await this.consumer.close().catch((error) => {
      failure ??= error;
    });
    this.#events.ended();
    if (failure !== undefined) this.#sink?.fail(failure);
  }

  async #exactlyOnce(
    batches: { topic: string; partition: number; records: ConsumedRecord[] }[],
  ): Promise<void> {
    if (batches.length === 0) return;
    const records: ReceiverRecord<K, V>[] = [];
    for (const b of batches) {
      const state = this.#partitions.get(topicPartitionKey(b));
      if (!state) continue;
      for (const r of b.records) records.push(this.#toRecord(state, r));
    }
    if (records.length === 0) return;
    try {
      await this.onExactlyOnce!(records);
    } catch (error) {
      // The aborted transaction's input is read again from the committed offsets: by this member
      // after the rebalance's callbacks, or by the partitions' new owner.
      if (error instanceof RebalanceError) return;
      throw error;
    }
  }

  #onAssigned(tps: TopicPartition[]): void {
    for (const tp of tps) {
      const key = topicPartitionKey(tp);
      this.#partitions.set(key, {
        tp: { topic: tp.topic, partition: tp.partition },
        key,
        offsets: new PartitionOffsets(),
        buffer: [],
        bufferHead: 0,
        paused: false,
        committed: undefined,
        forced: undefined,
      });
    }
    this.#events.assigned(tps);
  }

  async #onRevoked(tps: TopicPartition[]): Promise<void> {
    // The eager protocol has already moved the group on: this commit is refused unless the new
    // generation has not formed yet. What it cannot commit is received again by the new owner.
    if (this.#mode === 'acknowledged') await this.#commitIfDue(true).catch(() => {});
    const revoked = new Set(tps.map(topicPartitionKey));
    for (const key of revoked) this.#partitions.delete(key);
    const kept: CommitWaiter[] = [];
    for (const w of this.#waiters) {
      if (revoked.has(w.state.key) || this.#partitions.get(w.state.key) !== w.state) {
        w.reject(
          new RebalanceError(
            `Partition ${w.state.key} was revoked before offset ${w.next} was committed: its new owner receives the records from the last commit`,
            [w.state.tp],
          ),
        );
      } else kept.push(w);
    }
    this.#waiters = kept;
    this.#events.revoked(tps);
  }

  #toRecord(state: PartitionState, r: ConsumedRecord): ReceiverRecord<K, V> {
    const key = this.#keys.deserialize(r.topic, r.key, r.headers);
    const value = this.#values.deserialize(r.topic, r.value, r.headers);
    const session = this;
    let acknowledged = false;
    const receiverOffset: ReceiverOffset = {
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      acknowledge() {
        if (acknowledged) return;
        acknowledged = true;
        session.#acknowledge(state, r.offset);
      },
      commit() {
        this.acknowledge();
        return session.#requestCommit(state, r.offset + 1n);
      },
    };
    return {
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      timestamp: r.timestamp,
      key,
      value,
      headers: r.headers,
      receiverOffset,
    };
  }

  #current(state: PartitionState): boolean {
    return !this.#stopping && this.#partitions.get(state.key) === state;
  }

  #acknowledge(state: PartitionState, offset: bigint): void {
    if (this.#partitions.get(state.key) !== state) return;
    state.offsets.acknowledge(offset);
    this.#ackedSinceCommit++;
    if (this.#ackedSinceCommit >= this.#commitBatchSize) this.consumer.wakeup();
    this.#scheduleDrain();
  }

  #requestCommit(state: PartitionState, next: bigint): Promise<void> {
    if (!this.#current(state)) {
      return Promise.reject(
        new RebalanceError(`Partition ${state.key} is no longer assigned to this receiver`, [state.tp]),
      );
    }
    if (state.committed !== undefined && state.committed >= next) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ state, next, resolve, reject });
      this.consumer.wakeup();
    });
  }

  #scheduleDrain(): void {
    if (this.#drainScheduled || this.#stopping) return;
    this.#drainScheduled = true;
    queueMicrotask(() => {
      this.#drainScheduled = false;
      if (this.#stopping) return;
      try {
        this.#drain();
      } catch (error) {
        this.#failure = { error };
        this.stop();
      }
    });
  }

  /** Delivers what each partition's bound allows, then pauses or resumes fetching per partition. */
  #drain(): void {
    const records: ReceiverRecord<K, V>[] = [];
    const toPause: TopicPartition[] = [];
    const toResume: TopicPartition[] = [];
    let failed: { error: unknown } | undefined;
    for (const state of this.#partitions.values()) {
      while (
        !failed &&
        state.bufferHead < state.buffer.length &&
        state.offsets.outstanding < this.#maxBuffered
      ) {
        const r = state.buffer[state.bufferHead]!;
        try {
          records.push(this.#toRecord(state, r));
        } catch (error) {
          // The records before it are still delivered; the stream then ends with the error.
          failed = { error };
          break;
        }
        state.bufferHead++;
        state.offsets.deliver(r.offset);
      }
      if (state.bufferHead === state.buffer.length) {
        state.buffer = [];
        state.bufferHead = 0;
      }
      const buffered = state.buffer.length - state.bufferHead;
      this.#events.held(buffered + state.offsets.outstanding);
      const pause = buffered > 0 || state.offsets.outstanding >= this.#maxBuffered;
      if (pause !== state.paused) {
        state.paused = pause;
        (pause ? toPause : toResume).push(state.tp);
      }
    }
    if (toPause.length > 0) this.consumer.pause(toPause);
    if (toResume.length > 0) {
      this.consumer.resume(toResume);
      this.consumer.wakeup();
    }
    if (records.length > 0) {
      const commitAhead = () => this.#commitAhead(records);
      this.#sink?.deliver({ records, commitAhead });
    }
    if (failed) throw failed.error;
  }

  async #commitAhead(records: ReceiverRecord<K, V>[]): Promise<boolean> {
    const waits: Promise<void>[] = [];
    for (const o of this.nextOffsets(records)) {
      const state = this.#partitions.get(topicPartitionKey(o));
      if (!state || state.offsets.lastDelivered === undefined || state.offsets.lastDelivered < o.offset - 1n)
        return false;
      if (state.forced === undefined || state.forced < o.offset) state.forced = o.offset;
      waits.push(this.#requestCommit(state, o.offset));
    }
    try {
      await Promise.all(waits);
      return true;
    } catch (error) {
      if (error instanceof RebalanceError) return false;
      throw error;
    }
  }

  /** Commits acknowledged offsets when due (or `force`); resolves the commit waiters it satisfies. */
  async #commitIfDue(force: boolean): Promise<void> {
    const due =
      force ||
      this.#waiters.length > 0 ||
      this.#ackedSinceCommit >= this.#commitBatchSize ||
      (this.#ackedSinceCommit > 0 && Date.now() - this.#lastCommitAt >= this.#commitIntervalMs);
    if (!due) return;
    const offsets: TopicPartitionOffset[] = [];
    const states: PartitionState[] = [];
    for (const state of this.#partitions.values()) {
      let target = state.offsets.committable;
      if (state.forced !== undefined && (target === undefined || state.forced > target))
        target = state.forced;
      if (target === undefined || (state.committed !== undefined && target <= state.committed)) continue;
      offsets.push({ ...state.tp, offset: target });
      states.push(state);
    }
    this.#ackedSinceCommit = 0;
    this.#lastCommitAt = Date.now();
    if (offsets.length > 0) {
      try {
        await this.consumer.commit(offsets);
      } catch (error) {
        // A rebalance: the next poll's callbacks revoke the partitions and reject their waiters.
        if (error instanceof RebalanceError) return;
        throw error;
      }
      offsets.forEach((o, i) => {
        const state = states[i]!;
        if (state.committed === undefined || o.offset > state.committed) state.committed = o.offset;
      });
      this.#events.committed(offsets);
    }
    const pending: CommitWaiter[] = [];
    for (const w of this.#waiters) {
      if (w.state.committed !== undefined && w.state.committed >= w.next) w.resolve();
      else pending.push(w);
    }
    this.#waiters = pending;
  }
}
