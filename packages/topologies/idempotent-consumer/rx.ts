/**
 * The idempotent consumer of ./topology.ts as a small reactive HTTP service written with RxJS:
 * `POST /events` takes a JSON event with an `eventId` and sends it into Kafka with a
 * `KafkaSender` (the response carries the send's result); a `KafkaReceiver` pipeline consumes the
 * topic and, for each record, checks Redis for the event id, runs the handler inside the
 * PostgreSQL transaction that inserts the event's `processed_events` row, marks Redis, and only
 * then acknowledges the record; `GET /events/:id` answers whether an event was processed.
 *
 * It reuses the topology's modules (the Redis fast path, the processed_events table, the retried
 * transaction), so both versions give one event one effect per consumer id, with PostgreSQL as
 * the source of truth. Records of one partition are processed one at a time, in offset order
 * (so one key's events, too); partitions run side by side.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KafkaReceiver, KafkaSender, ReceiverRecord } from '@kafka-pattern/streams-core/rx';
import type { Redis } from 'ioredis';
import type { Pool, PoolClient } from 'pg';
import {
  concatMap,
  defer,
  filter,
  firstValueFrom,
  groupBy,
  mergeMap,
  type Observable,
  of,
  retry,
  Subject,
  type Subscription,
  timer,
} from 'rxjs';
import { DedupCache } from './dedup-cache.ts';
import { type EventOutcome, IdempotentHandler } from './idempotent-handler.ts';
import { createProcessedEventsTable, PROCESSED_EVENTS_TABLE } from './processed-events.ts';
import { backoffMs } from './transient-errors.ts';

/** What the service accepts: a JSON object whose `eventId` names the event, stable across re-sends. */
export interface IncomingEvent {
  eventId: string;
  [field: string]: unknown;
}

/** What became of one delivery of an event. */
export interface RxOutcome {
  eventId: string;
  /**
   * `processed`: the handler's effect was committed now. `duplicate-redis`: Redis knew the event
   * was done, nothing else ran. `duplicate-postgres`: PostgreSQL had its row, the handler did not run.
   */
  outcome: 'processed' | 'duplicate-redis' | 'duplicate-postgres';
  partition: number;
  offset: bigint;
}

/** The sender the service needs: `KafkaSender.create({ keySerializer: Serdes.String(), valueSerializer: Serdes.JSON() })`. */
export type EventSender<E extends IncomingEvent> = Pick<KafkaSender<string, E>, 'send'>;
/** The receiver the service needs, subscribed to `topic`. */
export type EventReceiver<E extends IncomingEvent> = Pick<KafkaReceiver<string, E>, 'receive'>;

export interface RxIdempotentServiceOptions<E extends IncomingEvent> {
  /** Where `POST /events` sends the events, and what the receiver reads. */
  topic: string;
  sender: EventSender<E>;
  receiver: EventReceiver<E>;
  /** Names this consumer in `processed_events` and in the Redis keys. */
  consumerId: string;
  /** The fast path. Down, slow or flushed, it costs speed, never correctness. */
  redis: Redis;
  /** Holds `processed_events` (created when absent) and the business tables. */
  postgres: Pool;
  /**
   * The business effect, inside the transaction that records the event as processed: every
   * write that must happen once through `db`; neither commit nor roll back.
   */
  handle: (event: E, db: PoolClient) => Promise<void>;
  /** HTTP port; default 0 (any free port, see `start()`'s answer). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** How long Redis remembers a processed event; default one day. */
  ttlMs?: number;
  /** Longest one event may take, waiting for PostgreSQL included; default 8000 ms. */
  timeoutMs?: number;
  /** Largest request body accepted; default 1 MiB. */
  maxBodyBytes?: number;
}

/** Where the HTTP endpoint listens. */
export interface ServiceAddress {
  host: string;
  port: number;
  url: string;
}

/** What `GET /health` answers: `ok` when PostgreSQL answers; each dependency's state in words. */
export interface ServiceHealth {
  ok: boolean;
  postgres: string;
  redis: string;
}

/** The body of `POST /events` is not an event the service can take. */
export class InvalidEventError extends Error {
  override readonly name = 'InvalidEventError';
}

/** A dependency the service cannot work without did not answer at start. */
export class ServiceUnavailableError extends Error {
  override readonly name = 'ServiceUnavailableError';
}

const DAY_MS = 86_400_000;
const DEFAULT_TIMEOUT_MS = 8_000;
const REDIS_CALL_TIMEOUT_MS = 500;
const OUTCOME_NAMES = {
  applied: 'processed',
  'duplicate-cache': 'duplicate-redis',
  'duplicate-db': 'duplicate-postgres',
} as const satisfies Record<EventOutcome<string>['result'], RxOutcome['outcome']>;

/**
 * Parses and checks a request body: a JSON object with a non-empty string `eventId`. Throws
 * `InvalidEventError` saying what is wrong.
 */
export function parseEvent(body: string): IncomingEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw new InvalidEventError(
      `the body is not valid JSON (${error instanceof Error ? error.message : String(error)}): send one JSON object such as {"eventId":"e-1",...}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new InvalidEventError(
      `the body must be a JSON object with an "eventId", got ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}`,
    );
  const eventId = (parsed as { eventId?: unknown }).eventId;
  if (eventId === undefined)
    throw new InvalidEventError(
      'the event has no "eventId": give it the id that stays the same on every re-send',
    );
  if (typeof eventId !== 'string' || eventId.trim() === '')
    throw new InvalidEventError(
      `"eventId" must be a non-empty string, got ${typeof eventId === 'string' ? 'an empty string' : typeof eventId}`,
    );
  return parsed as IncomingEvent;
}

/**
 * The service: `start()` listens and starts consuming; `outcomes$` reports each delivery;
 * `errors$` each failure of the pipeline (the failed record is received again, after a back-off);
 * `close()` stops both.
 */
export class RxIdempotentService<E extends IncomingEvent> {
  readonly #o: RxIdempotentServiceOptions<E>;
  readonly #handler: IdempotentHandler<string, E>;
  readonly #outcomes = new Subject<RxOutcome>();
  readonly #errors = new Subject<Error>();
  #server: Server | undefined;
  #subscription: Subscription | undefined;
  #closed = false;
  /** Events whose processing runs: `close()` waits for them, so no transaction outlives it. */
  readonly #inFlight = new Set<Promise<unknown>>();

  /** One per delivered record, once it is settled and acknowledged. */
  readonly outcomes$: Observable<RxOutcome> = this.#outcomes.asObservable();
  /**
   * Failures of the consuming pipeline: PostgreSQL unavailable for longer than `timeoutMs`, or
   * the handler failed. The record had no effect and was not acknowledged; the pipeline
   * resubscribes after a back-off and receives it again from the last commit.
   */
  readonly errors$: Observable<Error> = this.#errors.asObservable();

  constructor(options: RxIdempotentServiceOptions<E>) {
    validate(options);
    this.#o = options;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const cache = new DedupCache({
      redis: options.redis,
      consumerId: options.consumerId,
      ttlMs: options.ttlMs ?? DAY_MS,
      claimMs: timeoutMs,
      callTimeoutMs: REDIS_CALL_TIMEOUT_MS,
    });
    this.#handler = new IdempotentHandler<string, E>({
      consumerId: options.consumerId,
      eventId: (event) => event.eventId,
      postgres: options.postgres,
      handle: (event, db) => options.handle(event, db),
      cache,
      budgetMs: timeoutMs,
    });
    if (options.postgres.listenerCount('error') === 0) options.postgres.on('error', () => {});
  }

  /**
   * Checks PostgreSQL (and creates `processed_events`), starts the consuming pipeline and the
   * HTTP endpoint. Rejects with `ServiceUnavailableError` when PostgreSQL does not answer.
   */
  async start(): Promise<ServiceAddress> {
    if (this.#closed) throw new Error('the service is closed: create a new one to start again');
    if (this.#server) throw new Error('the service is started already');
    try {
      await createProcessedEventsTable(this.#o.postgres);
    } catch (error) {
      throw new ServiceUnavailableError(
        `PostgreSQL did not answer (${messageOf(error)}): it holds processed_events, the record of which events are done, so the service cannot start without it; start PostgreSQL or fix the pool's connection settings, then call start() again`,
        { cause: error },
      );
    }
    const server = createServer((req, res) => {
      this.#route(req, res).catch((error: unknown) => reply(res, 500, { error: messageOf(error) }));
    });
    const host = this.#o.host ?? '127.0.0.1';
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.#o.port ?? 0, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      throw new ServiceUnavailableError(
        `the HTTP endpoint could not listen on ${host}:${this.#o.port ?? 0} (${messageOf(error)}): choose another port, or stop what holds it`,
        { cause: error },
      );
    }
    this.#server = server;
    this.#subscription = this.#pipeline().subscribe({
      next: (outcome) => this.#outcomes.next(outcome),
      error: (error: unknown) => this.#errors.next(asError(error)),
    });
    const { port } = server.address() as AddressInfo;
    return { host, port, url: `http://${host}:${port}` };
  }

  /**
   * Stops accepting requests, ends the pipeline and waits for the events being processed (their
   * transactions settle; what is acknowledged by then is committed by the receiver). Close the
   * receiver and the sender after it.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const server = this.#server;
    this.#server = undefined;
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await Promise.allSettled([...this.#inFlight]);
    this.#outcomes.complete();
    this.#errors.complete();
  }

  /** Whether PostgreSQL has the event as processed by this consumer (the source of truth). */
  async processedAt(eventId: string): Promise<Date | undefined> {
    const result = await this.#o.postgres.query<{ processed_at: Date }>(
      `SELECT processed_at FROM ${PROCESSED_EVENTS_TABLE} WHERE consumer_id = $1 AND event_id = $2`,
      [this.#o.consumerId, eventId],
    );
    return result.rows[0]?.processed_at;
  }

  /**
   * Records per partition one at a time (`groupBy` + `concatMap`), partitions side by side
   * (`mergeMap`). Each record: Redis, then the PostgreSQL transaction, then the Redis mark (all
   * in `IdempotentHandler.process`), then `acknowledge()`; the receiver commits acknowledged
   * offsets in order, so the commit never passes an event that is not done.
   */
  #pipeline(): Observable<RxOutcome> {
    return defer(() => this.#o.receiver.receive()).pipe(
      groupBy((record) => record.partition),
      mergeMap((partition$) => partition$.pipe(concatMap((record) => this.#tracked(this.#process(record))))),
      filter((outcome): outcome is RxOutcome => outcome !== undefined),
      retry({
        resetOnSuccess: true,
        delay: (error: unknown, failures: number) => {
          this.#errors.next(asError(error));
          return timer(backoffMs(failures) * 4);
        },
      }),
    );
  }

  #tracked<T>(work: Promise<T>): Promise<T> {
    this.#inFlight.add(work);
    const done = () => this.#inFlight.delete(work);
    work.then(done, done);
    return work;
  }

  async #process(record: ReceiverRecord<string, E>): Promise<RxOutcome | undefined> {
    const event = record.value;
    if (event === null || typeof event.eventId !== 'string' || event.eventId === '') {
      // Not an event of this service (a tombstone, or written by someone else): nothing to apply.
      record.receiverOffset.acknowledge();
      this.#errors.next(
        new InvalidEventError(
          `the record at ${record.topic}-${record.partition}@${record.offset} has no "eventId" and was skipped: only events that went through POST /events (or carry a string eventId) are applied`,
        ),
      );
      return undefined;
    }
    const settled = await this.#handler.process(record.key ?? event.eventId, event, record.headers);
    record.receiverOffset.acknowledge();
    return {
      eventId: settled.eventId,
      outcome: OUTCOME_NAMES[settled.result],
      partition: record.partition,
      offset: record.offset,
    };
  }

  /**
   * Whether the dependencies answer: PostgreSQL is required (`ok` false without it); Redis only
   * saves work, and without it every event takes the PostgreSQL path.
   */
  async health(): Promise<ServiceHealth> {
    let postgres = 'ready';
    try {
      await this.#o.postgres.query('SELECT 1');
    } catch (error) {
      postgres = `unavailable (${messageOf(error)}): events wait, and GET /events/:id cannot answer, until it is back`;
    }
    const status = this.#o.redis.status;
    const redis =
      status === 'ready'
        ? 'ready'
        : `unavailable (connection ${status}): duplicates are caught by PostgreSQL alone, one transaction each, until it is back`;
    return { ok: postgres === 'ready', postgres, redis };
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://service');
    if (url.pathname === '/health') {
      const health = await this.health();
      return reply(res, health.ok ? 200 : 503, health);
    }
    if (url.pathname === '/events') {
      if (req.method !== 'POST') return reply(res, 405, { error: 'use POST /events with a JSON event' });
      let event: IncomingEvent;
      try {
        event = parseEvent(await readBody(req, this.#o.maxBodyBytes ?? 1_048_576));
      } catch (error) {
        return reply(res, error instanceof PayloadTooLargeError ? 413 : 400, { error: messageOf(error) });
      }
      return this.#send(event as E, res);
    }
    const match = /^\/events\/([^/]+)$/.exec(url.pathname);
    if (match) {
      if (req.method !== 'GET') return reply(res, 405, { error: 'use GET /events/:eventId' });
      const eventId = decodeURIComponent(match[1]!);
      let at: Date | undefined;
      try {
        at = await this.processedAt(eventId);
      } catch (error) {
        return reply(res, 503, {
          error: `PostgreSQL did not answer (${messageOf(error)}): whether "${eventId}" was processed is unknown until it is back`,
        });
      }
      return at
        ? reply(res, 200, { eventId, processed: true, processedAt: at.toISOString() })
        : reply(res, 404, { eventId, processed: false });
    }
    return reply(res, 404, {
      error: `no route for ${req.method} ${url.pathname}: POST /events or GET /events/:eventId`,
    });
  }

  async #send(event: E, res: ServerResponse): Promise<void> {
    const topic = this.#o.topic;
    try {
      const result = await firstValueFrom(
        this.#o.sender.send(
          of({ topic, key: event.eventId, value: event, correlationMetadata: event.eventId }),
        ),
      );
      if (result.error) throw result.error;
      const m = result.recordMetadata!;
      reply(res, 202, {
        eventId: event.eventId,
        topic: m.topic,
        partition: m.partition,
        offset: `${m.offset}`,
      });
    } catch (error) {
      reply(res, 503, {
        error: `the event "${event.eventId}" could not be written to Kafka topic "${topic}" (${messageOf(error)}); it was not accepted: send it again (the same eventId is applied once)`,
      });
    }
  }
}

class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new PayloadTooLargeError(`the body is larger than ${limit} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function validate<E extends IncomingEvent>(o: RxIdempotentServiceOptions<E>): void {
  const fail = (message: string): never => {
    throw new TypeError(`RxIdempotentService: ${message}`);
  };
  if (typeof o.topic !== 'string' || o.topic === '') fail('topic must be a non-empty topic name');
  if (typeof o.consumerId !== 'string' || o.consumerId === '')
    fail('consumerId must be a non-empty string naming this consumer');
  if (typeof o.handle !== 'function') fail('handle must be a function applying the event in the transaction');
  if (typeof o.postgres?.connect !== 'function') fail('postgres must be a pg.Pool');
  if (typeof o.redis?.set !== 'function') fail('redis must be an ioredis client');
  if (typeof o.sender?.send !== 'function') fail('sender must be a KafkaSender');
  if (typeof o.receiver?.receive !== 'function') fail('receiver must be a KafkaReceiver');
  for (const name of ['ttlMs', 'timeoutMs'] as const) {
    const ms = o[name];
    if (ms !== undefined && !(Number.isInteger(ms) && ms > 0))
      fail(`${name} must be a positive whole number of milliseconds, got ${ms}`);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return messageOf(error.errors[0]);
  return error instanceof Error ? error.message : String(error);
}
