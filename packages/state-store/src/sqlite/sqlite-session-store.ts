// SqliteSessionStore: a session store that is one table of the task's SQLite database, keyed by
// (key BLOB, end_time, start_time), so one key's sessions are contiguous and ordered by end.
// An index on end_time makes dropping an expired segment one range delete. Stream time is saved
// in kp_store at each commit.

import type Database from 'better-sqlite3';
import { compareBytes } from '../bytes.ts';
import { Retention } from '../retention.ts';
import type {
  SessionBytes,
  SessionBytesStore,
  SessionBytesStoreOptions,
  SessionRestoreRecord,
} from '../session/session-bytes-store.ts';
import { storeClosedError } from '../store.ts';
import { PAGE_SIZE, paged, type SqliteStoreContext, sqlTime, tableName } from './sqlite-store-context.ts';

export class SqliteSessionStore implements SessionBytesStore {
  readonly name: string;
  readonly kind = 'session' as const;
  readonly persistent = true;
  readonly retentionMs: number;
  #open = true;
  readonly #context: SqliteStoreContext;
  readonly #table: string;
  readonly #options: SessionBytesStoreOptions;
  #retention: Retention;
  #persistedStreamTime: number;
  readonly #put: Database.Statement;
  readonly #delete: Database.Statement;
  readonly #fetchSession: Database.Statement;
  readonly #findSessions: Database.Statement;
  readonly #purge: Database.Statement;
  readonly #readStreamTime: Database.Statement;
  readonly #writeStreamTime: Database.Statement;
  readonly #scanStatements = new Map<string, Database.Statement>();

  /** Created by SqliteDatabase.sessionStore(). */
  constructor(name: string, options: SessionBytesStoreOptions, context: SqliteStoreContext) {
    this.name = name;
    this.retentionMs = options.retentionMs;
    this.#options = options;
    this.#context = context;
    this.#table = tableName('session', name);
    this.#ensureSchema();
    const db = context.db;
    const t = this.#table;
    this.#put = db.prepare(
      `INSERT INTO ${t} (key, end_time, start_time, value) VALUES (?, ?, ?, ?)
       ON CONFLICT (key, end_time, start_time) DO UPDATE SET value = excluded.value`,
    );
    this.#delete = db.prepare(`DELETE FROM ${t} WHERE key = ? AND end_time = ? AND start_time = ?`);
    this.#fetchSession = db
      .prepare(`SELECT value FROM ${t} WHERE key = ? AND end_time = ? AND start_time = ?`)
      .pluck();
    this.#findSessions = db.prepare(
      `SELECT key, start_time AS start, end_time AS "end", value FROM ${t}
       WHERE key = ? AND end_time >= ? AND start_time <= ? ORDER BY end_time, start_time`,
    );
    this.#purge = db.prepare(`DELETE FROM ${t} WHERE end_time < ?`);
    this.#readStreamTime = db.prepare('SELECT stream_time FROM kp_store WHERE name = ?').pluck();
    this.#writeStreamTime = db.prepare('UPDATE kp_store SET stream_time = ? WHERE name = ?');
    this.#retention = new Retention(options.retentionMs, options.segmentIntervalMs);
    this.#persistedStreamTime = this.#retention.streamTime;
    this.#load();
    context.beforeCommit(() => {
      if (this.#retention.streamTime === this.#persistedStreamTime) return;
      this.#context.beginWrite();
      this.#writeStreamTime.run(this.#retention.streamTime, this.name);
      this.#persistedStreamTime = this.#retention.streamTime;
    });
  }

  get isOpen(): boolean {
    return this.#open && this.#context.isOpen();
  }

  observedStreamTime(): number {
    return this.#retention.streamTime;
  }

  /** Materialised: one key's live sessions are a bounded set. */
  findSessions(
    key: Buffer,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): Iterable<SessionBytes> {
    this.#check();
    const minEnd = Math.max(earliestSessionEndTime, this.#retention.minLiveTime);
    return this.#findSessions.all(key, sqlTime(minEnd), sqlTime(latestSessionStartTime)) as SessionBytes[];
  }

  findSessionsKeyRange(
    keyFrom: Buffer | null,
    keyTo: Buffer | null,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): Iterable<SessionBytes> {
    this.#check();
    if (keyFrom !== null && keyTo !== null && compareBytes(keyFrom, keyTo) > 0) return [];
    return paged<SessionBytes>((after) => {
      this.#check();
      const minEnd = sqlTime(Math.max(earliestSessionEndTime, this.#retention.minLiveTime));
      const params: Array<Buffer | number> = [];
      if (after !== undefined) params.push(after.key, after.end, after.start);
      else if (keyFrom !== null) params.push(keyFrom);
      if (keyTo !== null) params.push(keyTo);
      params.push(minEnd, sqlTime(latestSessionStartTime));
      return this.#scanStatement(
        after !== undefined,
        after === undefined && keyFrom !== null,
        keyTo !== null,
      ).all(...params) as SessionBytes[];
    });
  }

  fetchSession(key: Buffer, start: number, end: number): Buffer | undefined {
    this.#check();
    if (this.#retention.isExpired(end)) return undefined;
    return this.#fetchSession.get(key, end, start) as Buffer | undefined;
  }

  fetch(key: Buffer): Iterable<SessionBytes> {
    return this.findSessions(key, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
  }

  put(key: Buffer, start: number, end: number, value: Buffer | null): void {
    this.#check();
    this.#write(key, start, end, value);
  }

  remove(key: Buffer, start: number, end: number): void {
    this.put(key, start, end, null);
  }

  /** Applies the records inside the open write transaction; the caller commits them with the restored offset. */
  restoreBatch(records: Iterable<SessionRestoreRecord>): void {
    this.#check();
    for (const { key, start, end, value } of records) this.#write(key, start, end, value);
  }

  /** Commits the task database: every store of the task, not only this one. */
  flush(): void {
    this.#check();
    this.#context.commit();
  }

  close(): void {
    this.#open = false;
  }

  /** @internal Reopened by SqliteDatabase when the store is asked for again after close(). */
  reopen(): void {
    this.#open = true;
  }

  /** @internal Recreates the table if needed and re-reads stream time. */
  reloadAfterRollback(): void {
    this.#ensureSchema();
    this.#retention = new Retention(this.#options.retentionMs, this.#options.segmentIntervalMs);
    this.#load();
  }

  #load(): void {
    const streamTime = this.#readStreamTime.get(this.name) as number | null | undefined;
    if (streamTime !== null && streamTime !== undefined) this.#retention.restore(streamTime);
    this.#persistedStreamTime = this.#retention.streamTime;
  }

  #ensureSchema(): void {
    const t = this.#table;
    const index = tableName('session', `${this.name}:end_time`);
    this.#context.db.exec(`
      CREATE TABLE IF NOT EXISTS ${t} (
        key BLOB NOT NULL,
        end_time INTEGER NOT NULL,
        start_time INTEGER NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (key, end_time, start_time)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS ${index} ON ${t} (end_time);
    `);
  }

  #write(key: Buffer, start: number, end: number, value: Buffer | null): void {
    this.#context.beginWrite();
    // A delete moves stream time too, as in Kafka Streams: a session aggregate that becomes null
    // (a reduce of a null value) still expires older sessions, which then can no longer be merged.
    const purgeBelow = this.#retention.advance(end);
    if (purgeBelow !== undefined) this.#purge.run(sqlTime(purgeBelow));
    if (value === null) {
      this.#delete.run(key, end, start);
      return;
    }
    if (this.#retention.isExpired(end)) return;
    this.#put.run(key, end, start, value);
  }

  #scanStatement(cursor: boolean, lower: boolean, upper: boolean): Database.Statement {
    const id = `${cursor}|${lower}|${upper}`;
    let statement = this.#scanStatements.get(id);
    if (statement === undefined) {
      const conditions: string[] = [];
      if (cursor) conditions.push('(key, end_time, start_time) > (?, ?, ?)');
      if (lower) conditions.push('key >= ?');
      if (upper) conditions.push('key <= ?');
      conditions.push('end_time >= ?', 'start_time <= ?');
      statement = this.#context.db.prepare(
        `SELECT key, start_time AS start, end_time AS "end", value FROM ${this.#table}
         WHERE ${conditions.join(' AND ')} ORDER BY key, end_time, start_time LIMIT ${PAGE_SIZE}`,
      );
      this.#scanStatements.set(id, statement);
    }
    return statement;
  }

  #check(): void {
    if (!this.isOpen) throw storeClosedError(this.name);
  }
}
