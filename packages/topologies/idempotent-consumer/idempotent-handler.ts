/**
 * One event, processed at most once in effect: the Redis fast path, then one PostgreSQL
 * transaction that inserts the event's processed_events row and runs the business handler, then
 * the Redis "done" mark. A redelivered event either finds "done" in Redis or finds its row in
 * PostgreSQL, and has no second effect; an event whose transaction did not commit has had no
 * effect at all and is processed on its next attempt or delivery.
 *
 * While PostgreSQL is unreachable or restarting, attempts are retried with back-off until the
 * event's deadline (a little before the step's timeout): a short outage delays events but sends
 * none to the exception handler.
 */
import type { Headers } from '@kafka-pattern/streams-core';
import type { Pool, PoolClient } from 'pg';
import type { DedupCache } from './dedup-cache.ts';
import { createProcessedEventsTable, recordProcessed } from './processed-events.ts';
import { backoffMs, ConnectTimeoutError, isTransientPostgresError } from './transient-errors.ts';

/** What became of one delivery of an event. */
export interface EventOutcome<K> {
  eventId: string;
  key: K;
  /**
   * `applied`: the business effect was committed now. `duplicate-cache`: Redis knew the event
   * was done, nothing else ran. `duplicate-db`: PostgreSQL had its row, the handler did not run.
   */
  result: 'applied' | 'duplicate-cache' | 'duplicate-db';
  /** PostgreSQL transactions tried (0 for `duplicate-cache`). */
  attempts: number;
}

/** PostgreSQL stayed unavailable for as long as the event could wait; it had no effect. */
export class PostgresUnavailableError extends Error {
  override readonly name = 'PostgresUnavailableError';
}

/** The handler ended the transaction itself, or an error inside it was swallowed. */
export class TransactionNotCommittedError extends Error {
  override readonly name = 'TransactionNotCommittedError';
}

/** `eventId` did not give a usable id. */
export class InvalidEventIdError extends Error {
  override readonly name = 'InvalidEventIdError';
}

export interface IdempotentHandlerOptions<K, V> {
  consumerId: string;
  eventId: (value: V, key: K, headers: Headers) => string;
  postgres: Pool;
  handle: (value: V, db: PoolClient, key: K) => Promise<void>;
  cache: DedupCache;
  /** How long one event may take, retries included. */
  budgetMs: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class IdempotentHandler<K, V> {
  readonly #o: IdempotentHandlerOptions<K, V>;
  #table: Promise<void> | undefined;

  constructor(options: IdempotentHandlerOptions<K, V>) {
    this.#o = options;
  }

  async process(key: K, value: V, headers: Headers): Promise<EventOutcome<K>> {
    const o = this.#o;
    const eventId = o.eventId(value, key, headers);
    if (typeof eventId !== 'string' || eventId.length === 0)
      throw new InvalidEventIdError(
        `eventId() returned ${eventId === '' ? 'an empty string' : typeof eventId} for the record with key ${describeKey(key)}: ` +
          'it must return a non-empty string that is the same on every delivery of the event (an id the producer put in the value or the headers)',
      );
    const deadline = Date.now() + o.budgetMs;
    if ((await o.cache.check(eventId)) === 'done')
      return { eventId, key, result: 'duplicate-cache', attempts: 0 };
    for (let attempt = 1; ; attempt++) {
      try {
        const applied = await this.#transaction(eventId, key, value, deadline);
        await o.cache.markDone(eventId);
        return { eventId, key, result: applied ? 'applied' : 'duplicate-db', attempts: attempt };
      } catch (error) {
        if (!isTransientPostgresError(error)) throw error;
        const wait = backoffMs(attempt);
        if (Date.now() + wait >= deadline)
          throw new PostgresUnavailableError(
            `PostgreSQL was unavailable for event "${eventId}" of consumer "${o.consumerId}" through ${attempt} attempts in ${o.budgetMs} ms (last: ${messageOf(error)}); ` +
              'the event had no effect and goes to the processing exception handler: re-drive it from the dead-letter topic once PostgreSQL is back (it is applied once), or raise timeoutMs to wait longer',
            { cause: error },
          );
        await sleep(wait);
      }
    }
  }

  /** One attempt: true when the event was applied, false when PostgreSQL had it already. */
  async #transaction(eventId: string, key: K, value: V, deadline: number): Promise<boolean> {
    const o = this.#o;
    await this.#ensureTable();
    const db = await connectBefore(o.postgres, deadline);
    // A checked-out client that loses its connection between queries emits 'error'; with no
    // listener that would end the process. The failure shows in the next query instead.
    const onError = () => {};
    db.on('error', onError);
    let broken: Error | undefined;
    try {
      // The statement timeout keeps a hung server or a lock held by another attempt of the same
      // event from outliving the deadline.
      const remaining = Math.max(1, deadline - Date.now());
      await db.query(`BEGIN; SET LOCAL statement_timeout = ${remaining}`);
      if (!(await recordProcessed(db, o.consumerId, eventId))) {
        await db.query('ROLLBACK');
        return false;
      }
      await o.handle(value, db, key);
      const commit = await db.query('COMMIT');
      // COMMIT of a transaction in which a statement failed rolls back and says so only in its
      // command tag: the event must then not be reported (nor cached) as done.
      if (commit.command !== 'COMMIT')
        throw new TransactionNotCommittedError(
          `the transaction of event "${eventId}" of consumer "${o.consumerId}" was rolled back at COMMIT (PostgreSQL answered ${commit.command}): ` +
            'a statement inside handle() failed and its error was caught; let handle() reject instead, or use a SAVEPOINT around a statement that may fail',
        );
      return true;
    } catch (error) {
      try {
        await db.query('ROLLBACK');
      } catch (rollbackError) {
        // The connection is gone or unusable: it must not go back to the pool.
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw error;
    } finally {
      db.off('error', onError);
      db.release(broken);
    }
  }

  #ensureTable(): Promise<void> {
    this.#table ??= createProcessedEventsTable(this.#o.postgres).catch((error: unknown) => {
      this.#table = undefined;
      throw error;
    });
    return this.#table;
  }
}

/** A pooled connection, or a ConnectTimeoutError at the deadline (the late one goes back to the pool). */
async function connectBefore(pool: Pool, deadline: number): Promise<PoolClient> {
  const connecting = pool.connect();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ConnectTimeoutError('no PostgreSQL connection could be had before the deadline')),
      Math.max(0, deadline - Date.now()),
    );
  });
  try {
    return await Promise.race([connecting, late]);
  } catch (error) {
    connecting.then(
      (db) => db.release(),
      () => {},
    );
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function describeKey(key: unknown): string {
  try {
    return typeof key === 'string' ? JSON.stringify(key) : (JSON.stringify(key) ?? String(key));
  } catch {
    return String(key);
  }
}

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return messageOf(error.errors[0]);
  return error instanceof Error ? error.message : String(error);
}
