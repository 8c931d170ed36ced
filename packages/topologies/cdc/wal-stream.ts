/**
 * The replication slot's stream of decoded changes, through pg-logical-replication's
 * LogicalReplicationService and pgoutput parser, with the values kept as PostgreSQL's text (the
 * mapping to Debezium's forms is column-values.ts's job) and a TOASTed value that a change did
 * not carry kept apart from NULL.
 *
 * Messages come out in the order PostgreSQL sent them, each with the LSN of its WAL record, and
 * PostgreSQL's keepalives among them, so that a keepalive's position is only acted on after every
 * change sent before it. When the reader falls behind, the socket is paused (bounded memory);
 * PostgreSQL then waits. Nothing is confirmed here: the slot's position moves only through
 * `confirm`, which the capture calls once Kafka has what came before.
 */
import type { Readable } from 'node:stream';
import type pg from 'pg';
import { LogicalReplicationService, type Pgoutput, PgoutputPlugin } from 'pg-logical-replication';
import { formatLsn, parseLsn } from './lsn.ts';

export type WalMessage =
  | { kind: 'change'; lsn: bigint; message: Pgoutput.Message }
  /** PostgreSQL has sent everything before `walEnd`. */
  | { kind: 'keepalive'; walEnd: bigint };

/** pgoutput with every column's value left as text: `undefined` marks an unchanged TOAST value. */
class TextPgoutputPlugin extends PgoutputPlugin {
  override parse(buffer: Buffer): Pgoutput.Message {
    const message = super.parse(buffer);
    if (message.tag === 'relation')
      for (const column of message.columns) column.parser = (raw: string) => raw;
    return message;
  }
}

export interface WalStreamOptions {
  connection: pg.ClientConfig;
  slot: string;
  publication: string;
  /** Messages held before the socket is paused. */
  maxBuffered?: number;
}

export class WalStream {
  readonly #options: WalStreamOptions;
  readonly #service: LogicalReplicationService;
  readonly #buffer: WalMessage[] = [];
  #waiter: (() => void) | undefined;
  #paused = false;
  #failure: Error | undefined;
  #ended = false;
  #confirmed = 0n;

  constructor(options: WalStreamOptions) {
    this.#options = options;
    this.#service = new LogicalReplicationService(options.connection, {
      acknowledge: { auto: false, timeoutSeconds: 0 },
    });
    this.#service.on('data', (lsn: string, message: Pgoutput.Message) =>
      this.#push({ kind: 'change', lsn: parseLsn(lsn), message }),
    );
    this.#service.on('heartbeat', (lsn: string, _timestamp: number, shouldRespond: boolean) => {
      this.#push({ kind: 'keepalive', walEnd: parseLsn(lsn) });
      // PostgreSQL drops a standby that does not answer within wal_sender_timeout.
      if (shouldRespond) void this.#sendStatus();
    });
    this.#service.on('error', (e: Error) => this.#fail(e));
  }

  /**
   * Starts streaming from the slot's confirmed position (or `from`, when later). Resolves once
   * PostgreSQL has accepted START_REPLICATION; a failure later surfaces from `next()`.
   */
  async start(from?: bigint): Promise<void> {
    const plugin = new TextPgoutputPlugin({ protoVersion: 1, publicationNames: [this.#options.publication] });
    const started = new Promise<void>((resolve) => this.#service.once('start', () => resolve()));
    const streaming = this.#service.subscribe(plugin, this.#options.slot, formatLsn(from ?? 0n));
    streaming.then(
      () => this.#fail(new Error('PostgreSQL ended the replication stream')),
      (e: unknown) => this.#fail(e instanceof Error ? e : new Error(String(e))),
    );
    await Promise.race([started, streaming.then(() => undefined)]);
    if (this.#failure) throw this.#failure;
  }

  /** The next message, waiting for one; rejects once the stream has failed or was stopped. */
  async next(): Promise<WalMessage> {
    for (;;) {
      const message = this.#buffer.shift();
      if (message) {
        if (this.#paused && this.#buffer.length < (this.#options.maxBuffered ?? 20_000) / 2) this.#resume();
        return message;
      }
      if (this.#failure) throw this.#failure;
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
    }
  }

  /**
   * Tells PostgreSQL that everything before `lsn` is safely in Kafka: the slot's confirmed_flush_lsn
   * moves there, and WAL before it may be recycled.
   */
  confirm(lsn: bigint): void {
    if (lsn <= this.#confirmed) return;
    this.#confirmed = lsn;
    void this.#sendStatus();
  }

  /** Repeats the last confirmation: a standby status update PostgreSQL counts as a sign of life. */
  async #sendStatus(ping = false): Promise<void> {
    if (this.#confirmed === 0n || this.#ended) return;
    try {
      // The library reports the LSN it is given plus one as flushed.
      await this.#service.acknowledge(formatLsn(this.#confirmed - 1n), ping);
    } catch (e) {
      this.#fail(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /**
   * A status update that asks PostgreSQL for a keepalive in return: its position lets a quiet
   * capture confirm WAL that other tables wrote, so the slot does not hold it back.
   */
  heartbeat(): Promise<void> {
    return this.#sendStatus(true);
  }

  async stop(): Promise<void> {
    if (this.#ended) return;
    await this.#sendStatus();
    this.#ended = true;
    this.#fail(new StreamStopped());
    await this.#service.destroy().catch(() => undefined);
  }

  #push(message: WalMessage): void {
    if (this.#ended) return;
    this.#buffer.push(message);
    if (!this.#paused && this.#buffer.length >= (this.#options.maxBuffered ?? 20_000)) this.#pause();
    this.#wake();
  }

  #fail(e: Error): void {
    this.#failure ??= e;
    this.#wake();
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  /** The replication connection's socket: pausing it makes PostgreSQL wait (TCP back-pressure). */
  #socket(): Readable | undefined {
    return (this.#service as unknown as { _connection?: { stream?: Readable } })._connection?.stream;
  }

  #pause(): void {
    this.#paused = true;
    this.#socket()?.pause();
  }

  #resume(): void {
    this.#paused = false;
    this.#socket()?.resume();
  }
}

/** `next()` after `stop()`: not a failure of PostgreSQL. */
export class StreamStopped extends Error {
  constructor() {
    super('the replication stream was stopped');
  }
}
