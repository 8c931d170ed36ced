// SqliteWindowStore: a window store that is one table of the task's SQLite database, keyed by
// (key BLOB, window_start, seqnum) so key-then-time order is the primary key order. An index on
// window_start makes dropping an expired segment one range delete. Stream time is saved in
// kp_store at each commit, so it moves in step with the data.

import type Database from 'better-sqlite3';
import { compareBytes } from '../bytes.ts';
import { Retention } from '../retention.ts';
import { storeClosedError } from '../store.ts';
import type {
  WindowBytesStore,
  WindowBytesStoreOptions,
  WindowedKeyValue,
  WindowedValue,
  WindowRestoreRecord,
} from '../window/window-bytes-store.ts';
import { PAGE_SIZE, paged, type SqliteStoreContext, sqlTime, tableName } from './sqlite-store-context.ts';

interface WindowRow {
  key: Buffer;
  windowStart: number;
  seqnum: number;
  value: Buffer;
}

export class SqliteWindowStore implements WindowBytesStore {
  readonly name: string;
  readonly kind = 'window' as const;
  readonly persistent = true;
  readonly retentionMs: number;
  readonly windowSizeMs: number;
  readonly retainDuplicates: boolean;
  #open = true;
  readonly #context: SqliteStoreContext;
  readonly #table: string;
  readonly #options: WindowBytesStoreOptions;
  #retention: Retention;
  #persistedStreamTime: number;
  #seqnum = 0;
  readonly #put: Database.Statement;
  readonly #delete: Database.Statement;
  readonly #fetch: Database.Statement;
  readonly #fetchRange: Database.Statement;
  readonly #backwardFetchRange: Database.Statement;
  readonly #purge: Database.Statement;
  readonly #readStreamTime: Database.Statement;
  readonly #writeStreamTime: Database.Statement;
  readonly #maxSeqnum: Database.Statement;
  readonly #scanStatements = new Map<string, Database.Statement>();

  /** Created by SqliteDatabase.windowStore(). */
  constructor(name: string, options: WindowBytesStoreOptions, context: SqliteStoreContext) {
    this.name = name;
    this.retentionMs = options.retentionMs;
    this.windowSizeMs = options.windowSizeMs;
    this.retainDuplicates = options.retainDuplicates ?? false;
    this.#options = options;
    this.#context = context;
    this.#table = tableName('window', name);
    this.#ensureSchema();
    const db = context.db;
    const t = this.#table;
    this.#put = db.prepare(
      `INSERT INTO ${t} (key, window_start, seqnum, value) VALUES (?, ?, ?, ?)
       ON CONFLICT (key, window_start, seqnum) DO UPDATE SET value = excluded.value`,
    );
    this.#delete = db.prepare(`DELETE FROM ${t} WHERE key = ? AND window_start = ? AND seqnum = 0`);
    this.#fetch = db
      .prepare(`SELECT value FROM ${t} WHERE key = ? AND window_start = ? ORDER BY seqnum LIMIT 1`)
      .pluck();
    const select = `SELECT window_start AS windowStart, value FROM ${t} WHERE key = ? AND window_start >= ? AND window_start <= ?`;
    this.#fetchRange = db.prepare(`${select} ORDER BY window_start, seqnum`);
    this.#backwardFetchRange = db.prepare(`${select} ORDER BY window_start DESC, seqnum DESC`);
    this.#purge = db.prepare(`DELETE FROM ${t} WHERE window_start < ?`);
    this.#readStreamTime = db.prepare('SELECT stream_time FROM kp_store WHERE name = ?').pluck();
    this.#writeStreamTime = db.prepare('UPDATE kp_store SET stream_time = ? WHERE name = ?');
    this.#maxSeqnum = db.prepare(`SELECT max(seqnum) FROM ${t}`).pluck();
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

  put(key: Buffer, value: Buffer | null, windowStart: number): boolean {
    this.#check();
    return this.#write(key, value, windowStart, undefined);
  }

  fetch(key: Buffer, windowStart: number): Buffer | undefined {
    this.#check();
    if (this.#retention.isExpired(windowStart)) return undefined;
    return this.#fetch.get(key, windowStart) as Buffer | undefined;
  }

  /** Materialised: one key's windows within retention is a bounded set. */
  fetchRange(key: Buffer, timeFrom: number, timeTo: number): Iterable<WindowedValue> {
    this.#check();
    const from = Math.max(timeFrom, this.#retention.minLiveTime);
    if (from > timeTo) return [];
    return this.#fetchRange.all(key, sqlTime(from), sqlTime(timeTo)) as WindowedValue[];
  }

  backwardFetchRange(key: Buffer, timeFrom: number, timeTo: number): Iterable<WindowedValue> {
    this.#check();
    const from = Math.max(timeFrom, this.#retention.minLiveTime);
    if (from > timeTo) return [];
    return this.#backwardFetchRange.all(key, sqlTime(from), sqlTime(timeTo)) as WindowedValue[];
  }

  fetchKeyRange(
    keyFrom: Buffer | null,
    keyTo: Buffer | null,
    timeFrom: number,
    timeTo: number,
  ): Iterable<WindowedKeyValue> {
    this.#check();
    return this.#scan(keyFrom, keyTo, timeFrom, timeTo);
  }

  fetchAll(timeFrom: number, timeTo: number): Iterable<WindowedKeyValue> {
    this.#check();
    return this.#scan(null, null, timeFrom, timeTo);
  }

  all(): Iterable<WindowedKeyValue> {
    this.#check();
    return this.#scan(null, null, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
  }

  /** Applies the records inside the open write transaction; the caller commits them with the restored offset. */
  restoreBatch(records: Iterable<WindowRestoreRecord>): void {
    this.#check();
    for (const record of records) this.#write(record.key, record.value, record.windowStart, record.seqnum);
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

  /** @internal Recreates the table if needed and re-reads stream time and sequence numbers. */
  reloadAfterRollback(): void {
    this.#ensureSchema();
    this.#retention = new Retention(this.#options.retentionMs, this.#options.segmentIntervalMs);
    this.#load();
  }

  #load(): void {
    const streamTime = this.#readStreamTime.get(this.name) as number | null | undefined;
    if (streamTime !== null && streamTime !== undefined) this.#retention.restore(streamTime);
    this.#persistedStreamTime = this.#retention.streamTime;
    const maxSeqnum = this.#maxSeqnum.get() as number | null;
    this.#seqnum = maxSeqnum === null ? 0 : maxSeqnum + 1;
  }

  #ensureSchema(): void {
    const t = this.#table;
    const index = tableName('window', `${this.name}:window_start`);
    this.#context.db.exec(`
      CREATE TABLE IF NOT EXISTS ${t} (
        key BLOB NOT NULL,
        window_start INTEGER NOT NULL,
        seqnum INTEGER NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (key, window_start, seqnum)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS ${index} ON ${t} (window_start);
    `);
  }

  #write(
    key: Buffer,
    value: Buffer | null,
    windowStart: number,
    restoredSeqnum: number | undefined,
  ): boolean {
    this.#context.beginWrite();
    const purgeBelow = this.#retention.advance(windowStart);
    if (purgeBelow !== undefined) this.#purge.run(sqlTime(purgeBelow));
    if (this.#retention.isExpired(windowStart)) return false;
    if (this.retainDuplicates) {
      if (value === null) return false;
      let seqnum: number;
      if (restoredSeqnum === undefined) {
        seqnum = this.#seqnum++;
      } else {
        seqnum = restoredSeqnum;
        if (seqnum >= this.#seqnum) this.#seqnum = seqnum + 1;
      }
      this.#put.run(key, windowStart, seqnum, value);
      return true;
    }
    if (value === null) this.#delete.run(key, windowStart);
    else this.#put.run(key, windowStart, 0, value);
    return true;
  }

  #scan(
    keyFrom: Buffer | null,
    keyTo: Buffer | null,
    timeFrom: number,
    timeTo: number,
  ): Iterable<WindowedKeyValue> {
    if (keyFrom !== null && keyTo !== null && compareBytes(keyFrom, keyTo) > 0) return [];
    const rows = paged<WindowRow>((after) => {
      this.#check();
      // Re-evaluated per page: stream time may advance while the caller iterates.
      const from = sqlTime(Math.max(timeFrom, this.#retention.minLiveTime));
      const to = sqlTime(timeTo);
      if (from > to) return [];
      const params: Array<Buffer | number> = [];
      if (after !== undefined) params.push(after.key, after.windowStart, after.seqnum);
      else if (keyFrom !== null) params.push(keyFrom);
      if (keyTo !== null) params.push(keyTo);
      params.push(from, to);
      return this.#scanStatement(
        after !== undefined,
        after === undefined && keyFrom !== null,
        keyTo !== null,
      ).all(...params) as WindowRow[];
    });
    return stripSeqnum(rows);
  }

  #scanStatement(cursor: boolean, lower: boolean, upper: boolean): Database.Statement {
    const id = `${cursor}|${lower}|${upper}`;
    let statement = this.#scanStatements.get(id);
    if (statement === undefined) {
      const conditions: string[] = [];
      if (cursor) conditions.push('(key, window_start, seqnum) > (?, ?, ?)');
      if (lower) conditions.push('key >= ?');
      if (upper) conditions.push('key <= ?');
      conditions.push('window_start >= ?', 'window_start <= ?');
      statement = this.#context.db.prepare(
        `SELECT key, window_start AS windowStart, seqnum, value FROM ${this.#table}
         WHERE ${conditions.join(' AND ')} ORDER BY key, window_start, seqnum LIMIT ${PAGE_SIZE}`,
      );
      this.#scanStatements.set(id, statement);
    }
    return statement;
  }

  #check(): void {
    if (!this.isOpen) throw storeClosedError(this.name);
  }
}

function* stripSeqnum(rows: Iterable<WindowRow>): Generator<WindowedKeyValue> {
  for (const row of rows) yield { key: row.key, windowStart: row.windowStart, value: row.value };
}
