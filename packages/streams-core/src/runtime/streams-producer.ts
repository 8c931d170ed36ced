/**
 * Producing and committing, the one place where the two processing guarantees differ.
 *
 * at_least_once: outputs are sent with an idempotent producer while the thread polls and
 * processes the next batches (one send in flight, so outputs keep their order); a commit first
 * waits for every send, then checkpoints the stores and commits the consumed offsets. An offset
 * is therefore committed only once everything before it was acknowledged.
 *
 * exactly_once_v2: outputs, changelog records and consumed offsets go into one Kafka
 * transaction; the stores' SQLite transactions commit right after Kafka's, or roll back with an
 * abort. An empty transaction is never sent to the broker.
 */
import { isRetriable, isSecurityError, RebalanceError } from '../client/errors.ts';
import type {
  ConsumerPort,
  KafkaClientFactory,
  ProducedOffset,
  ProducedRecord,
  ProducerPort,
  TransactionPort,
} from '../client/port.ts';
import type { StreamsConfig } from '../config/streams-config.ts';
import { errorMessage, StreamsException } from '../errors/exception-handlers.ts';
import { diagnostics } from '../observability/diagnostics.ts';
import type { Logger } from '../observability/logger.ts';
import type { RecordBuffer } from './record-buffer.ts';
import type { TaskManager } from './task-manager.ts';
import type { ThreadMetrics } from './thread-metrics.ts';

export interface StreamsProducerOptions {
  readonly applicationId: string;
  readonly clients: KafkaClientFactory;
  readonly clientId: string;
  /** exactly_once_v2 only. */
  readonly transactionalId: string;
  readonly transactionTimeoutMs: number;
  readonly productionExceptionHandler: StreamsConfig['productionExceptionHandler'];
  readonly buffer: RecordBuffer;
  readonly tasks: TaskManager;
  readonly metrics: ThreadMetrics;
  readonly logger: Logger;
  /** A send was acknowledged (or failed) while outputs wait in the buffer: the thread should send them. */
  readonly onSendAcknowledged?: () => void;
}

/** What a commit did: nothing to commit, committed, or (exactly-once) aborted and to be redone. */
export type CommitOutcome = 'idle' | 'committed' | 'aborted';

export interface StreamsProducer {
  /** Before the first poll. */
  init(): Promise<void>;
  /**
   * Starts producing what the buffer holds, once the send in flight is acknowledged; a failure
   * of that earlier send is thrown here.
   */
  send(): Promise<void>;
  /** Commits what was processed since the last commit. */
  commit(consumer: ConsumerPort): Promise<CommitOutcome>;
  /**
   * Before the tasks close (revocation, shutdown): makes what they processed durable where the
   * guarantee allows it. Returns whether their local state is committed (else it is rolled back).
   */
  prepareClose(): Promise<boolean>;
  /** Drops unsent and uncommitted work (exactly-once: aborts the open transaction). */
  discard(): Promise<void>;
  close(): Promise<void>;
}

export function createStreamsProducer(eos: boolean, options: StreamsProducerOptions): StreamsProducer {
  return eos ? new ExactlyOnceProducer(options) : new AtLeastOnceProducer(options);
}

/**
 * While a send is in flight, outputs wait in the buffer (up to this many bytes) and go in the next
 * send, as the Java producer's accumulator fills batches while earlier ones are acknowledged.
 */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/**
 * One send in flight at a time, so outputs keep their order; the thread does not wait for it:
 * it processes the next batches while the broker acknowledges, and what they produce goes in the
 * next send. The first failure is kept until the next `send()` or `settle()`.
 */
abstract class PipelinedSends {
  protected readonly o: StreamsProducerOptions;
  #inFlight: Promise<void> | undefined;
  #failure: unknown;
  #failed = false;

  constructor(options: StreamsProducerOptions) {
    this.o = options;
  }

  protected abstract produce(records: ProducedRecord[]): Promise<ProducedOffset[] | undefined>;

  /**
   * Starts producing what the buffer holds, unless a send is in flight: then its records wait for
   * the next send (the thread is woken when that one is acknowledged), or, once the buffer holds
   * MAX_BUFFERED_BYTES, this waits for it.
   */
  async send(): Promise<void> {
    this.#throwFailure();
    if (this.o.buffer.size === 0) return;
    if (this.#inFlight !== undefined) {
      if (this.o.buffer.bytes < MAX_BUFFERED_BYTES) return;
      await this.#inFlight;
      this.#throwFailure();
    }
    await this.#start();
  }

  /** Produces everything buffered and waits until all of it is acknowledged; throws the first failure. */
  protected async settle(): Promise<void> {
    for (;;) {
      await this.#inFlight;
      this.#throwFailure();
      if (this.o.buffer.size === 0) return;
      await this.#start();
    }
  }

  /** Waits for the send in flight and forgets its outcome. */
  protected async abandon(): Promise<void> {
    await this.#inFlight;
    this.#failed = false;
    this.#failure = undefined;
  }

  async #start(): Promise<void> {
    if (this.o.buffer.encoding) await this.o.buffer.encoded();
    const records = this.o.buffer.drain();
    if (records.length === 0) return;
    this.#inFlight = this.produce(records).then(
      (offsets) => {
        this.#inFlight = undefined;
        if (offsets) {
          this.o.metrics.produced += records.length;
          this.o.tasks.recordChangelogOffsets(offsets);
        }
        if (this.o.buffer.size > 0) this.o.onSendAcknowledged?.();
      },
      (error: unknown) => {
        this.#inFlight = undefined;
        this.#failed = true;
        this.#failure = error;
        this.o.onSendAcknowledged?.();
      },
    );
  }

  #throwFailure(): void {
    if (!this.#failed) return;
    const failure = this.#failure;
    this.#failed = false;
    this.#failure = undefined;
    throw failure;
  }

  protected commitTook(
    started: number,
    offsets: number,
    guarantee: 'at_least_once' | 'exactly_once_v2',
  ): void {
    const durationMs = performance.now() - started;
    this.o.metrics.commitTook(durationMs);
    if (diagnostics.commit.hasSubscribers)
      diagnostics.commit.publish({ applicationId: this.o.applicationId, guarantee, offsets, durationMs });
  }
}

class AtLeastOnceProducer extends PipelinedSends implements StreamsProducer {
  readonly #producer: ProducerPort;

  constructor(options: StreamsProducerOptions) {
    super(options);
    this.#producer = options.clients.producer({ clientId: `${options.clientId}-producer`, idempotent: true });
  }

  async init(): Promise<void> {}

  protected async produce(records: ProducedRecord[]): Promise<ProducedOffset[] | undefined> {
    try {
      return await this.#producer.send(records);
    } catch (error) {
      // A broker that is away is waited out by the thread, not judged by the handler; a refused
      // login or TLS connection says nothing about these records and stops the thread.
      if (isRetriable(error) || isSecurityError(error)) throw error;
      const choice = this.o.productionExceptionHandler ?? 'fail';
      const decision = typeof choice === 'function' ? choice(error, records.length) : choice;
      if (decision !== 'continue') {
        throw new StreamsException(`Producing ${records.length} records failed: ${errorMessage(error)}`, {
          cause: error,
        });
      }
      this.o.metrics.productionErrors += records.length;
      this.o.logger.warn(
        { records: records.length },
        `dropped ${records.length} records the broker refused: ${errorMessage(error)}`,
      );
      return undefined;
    }
  }

  async commit(consumer: ConsumerPort): Promise<CommitOutcome> {
    const started = performance.now();
    const { tasks } = this.o;
    await this.#flushAndCheckpoint();
    const offsets = tasks.consumedOffsets();
    if (offsets.length > 0) {
      try {
        await consumer.commit(offsets);
      } catch (error) {
        if (!(error instanceof RebalanceError)) throw error;
        // The partitions moved on: their new owner reprocesses from the last commit.
      }
    }
    tasks.committedOffsets(offsets);
    this.commitTook(started, offsets.length, 'at_least_once');
    return 'committed';
  }

  async prepareClose(): Promise<boolean> {
    await this.#flushAndCheckpoint();
    return true;
  }

  /** Folded cache updates are produced, every send is acknowledged, then the stores checkpoint. */
  async #flushAndCheckpoint(): Promise<void> {
    const { tasks } = this.o;
    tasks.flushCaches();
    await this.send();
    await this.settle();
    for (const t of tasks.tasks.values()) tasks.checkpoint(t);
  }

  async discard(): Promise<void> {
    this.o.buffer.clear();
    await this.abandon();
  }

  async close(): Promise<void> {
    await this.abandon();
    await this.#producer.close().catch(() => {});
  }
}

class ExactlyOnceProducer extends PipelinedSends implements StreamsProducer {
  readonly #producer: ProducerPort;
  #transaction: TransactionPort | undefined;
  /** The open transaction holds records or offsets (an empty one is never sent to the broker). */
  #dirty = false;

  constructor(options: StreamsProducerOptions) {
    super(options);
    this.#producer = options.clients.producer({
      clientId: `${options.clientId}-producer`,
      idempotent: true,
      transactionalId: options.transactionalId,
      transactionTimeoutMs: options.transactionTimeoutMs,
    });
  }

  /**
   * Registering the transactional id first fences an earlier incarnation and aborts the
   * transaction it left open, so the committed offsets this instance is about to read are not
   * held back until that transaction times out.
   */
  async init(): Promise<void> {
    this.#transaction = await this.#producer.beginTransaction();
  }

  protected async produce(records: ProducedRecord[]): Promise<ProducedOffset[]> {
    this.#transaction ??= await this.#producer.beginTransaction();
    this.#dirty = true;
    return this.#transaction.send(records);
  }

  async commit(consumer: ConsumerPort): Promise<CommitOutcome> {
    const started = performance.now();
    const { tasks } = this.o;
    // Folded updates leave the caches now, so they are produced with this commit.
    tasks.flushCaches();
    const offsets = tasks.consumedOffsets();
    try {
      await this.send();
      await this.settle();
      if (!this.#dirty && offsets.length === 0) return 'idle';
      this.#transaction ??= await this.#producer.beginTransaction();
      this.#dirty = true;
      if (offsets.length > 0) await this.#transaction.sendOffsets(consumer, offsets);
      tasks.prepareCheckpoints();
      await this.#transaction.commit();
      this.#transaction = undefined;
      this.#dirty = false;
    } catch (error) {
      await this.discard();
      if (diagnostics.abort.hasSubscribers)
        diagnostics.abort.publish({ applicationId: this.o.applicationId, reason: errorMessage(error) });
      // A rebalance voided the work: the thread restarts the tasks from what Kafka committed.
      if (error instanceof RebalanceError) return 'aborted';
      throw error;
    }
    // Local state becomes durable only once Kafka has committed the same work.
    tasks.commitStores();
    tasks.committedOffsets(offsets);
    this.commitTook(started, offsets.length, 'exactly_once_v2');
    return 'committed';
  }

  async prepareClose(): Promise<boolean> {
    await this.discard();
    return false;
  }

  /**
   * Aborts the open transaction if anything went into it. An empty one stays open: it exists
   * only in the client, and the producer allows one open transaction at a time.
   */
  async discard(): Promise<void> {
    this.o.buffer.clear();
    await this.abandon();
    const tx = this.#transaction;
    if (!tx || !this.#dirty) return;
    this.#transaction = undefined;
    this.#dirty = false;
    await tx.abort().catch(() => {});
  }

  async close(): Promise<void> {
    await this.discard();
    await this.#producer.close().catch(() => {});
  }
}
