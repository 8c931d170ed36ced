// SqliteKeyValueStore: a key-value store that is one table of the task's SQLite database.
// Keys are BLOB primary keys of a WITHOUT ROWID table; SQLite orders BLOBs with memcmp, which
// is exactly compareBytes, so ranges are index range scans in byte order.
//
// Writes since the last commit wait in a write buffer (as RocksDB's memtable): a key updated
// many times between commits is one statement at the commit, and reading a key just written is
// a map lookup. The buffer goes into the open SQLite transaction before every commit, before
// every range read (so scans see it), when it grows past its bounds, and is dropped by a
// rollback together with the transaction it belongs to. Values committed or read lately stay in
// a bounded cache of committed values (as RocksDB's block cache), so that a store updated under
// short commit intervals does not go to SQLite for every read.

import type Database from 'better-sqlite3';
import { type KeyValueBytes, prefixUpperBound } from '../bytes.ts';
import type { KeyValueBytesStore } from '../key-value/key-value-bytes-store.ts';
import { storeClosedError } from '../store.ts';
import { PAGE_SIZE, paged, type SqliteStoreContext, tableName } from './sqlite-store-context.ts';

type LowerOp = '' | '>=' | '>';

/** The write buffer goes into SQLite once it holds this many keys or bytes. */
const MAX_PENDING_ENTRIES = 10_000;
const MAX_PENDING_BYTES = 8 * 1024 * 1024;
/** Bytes counted per buffered key beside its key and value (map entry, object, string). */
const PENDING_ENTRY_OVERHEAD = 64;
/** The cache of committed values keeps at most this many keys or bytes, the oldest going first. */
const MAX_COMMITTED_ENTRIES = 20_000;
const MAX_COMMITTED_BYTES = 16 * 1024 * 1024;
type UpperOp = '' | '<=' | '<';

export class SqliteKeyValueStore implements KeyValueBytesStore {
  readonly name: string;
  readonly kind = 'key-value' as const;
  readonly persistent = true;
  #open = true;
  readonly #context: SqliteStoreContext;
  readonly #table: string;
  readonly #get: Database.Statement;
  readonly #put: Database.Statement;
  readonly #delete: Database.Statement;
  readonly #count: Database.Statement;
  readonly #rangeStatements = new Map<string, Database.Statement>();
  /** Writes not yet in SQLite, by the key's bytes as a latin1 string; null deletes. */
  readonly #pending = new Map<string, { key: Buffer; value: Buffer | null }>();
  #pendingBytes = 0;
  /** Committed values (null: no such key), oldest first, for reads the write buffer does not answer. */
  readonly #committed = new Map<string, Buffer | null>();
  #committedBytes = 0;
  /** Buffered writes went into SQLite before the commit: reads from SQLite may be uncommitted. */
  #flushedInTransaction = false;

  /** Created by SqliteDatabase.keyValueStore(). */
  constructor(name: string, context: SqliteStoreContext) {
    this.name = name;
    this.#context = context;
    this.#table = tableName('key-value', name);
    this.#ensureSchema();
    const db = context.db;
    this.#get = db.prepare(`SELECT value FROM ${this.#table} WHERE key = ?`).pluck();
    this.#put = db.prepare(
      `INSERT INTO ${this.#table} (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    );
    this.#delete = db.prepare(`DELETE FROM ${this.#table} WHERE key = ?`);
    this.#count = db.prepare(`SELECT count(*) FROM ${this.#table}`).pluck();
    context.beforeCommit(() => this.#applyPending(true));
  }

  get isOpen(): boolean {
    return this.#open && this.#context.isOpen();
  }

  get(key: Buffer): Buffer | undefined {
    this.#check();
    return this.#read(key.toString('latin1'), key);
  }

  /** A read by the key and its buffer id: the write buffer, the committed values, then SQLite. */
  #read(id: string, key: Buffer): Buffer | undefined {
    const pending = this.#pending.get(id);
    if (pending !== undefined) return pending.value ?? undefined;
    const committed = this.#committed.get(id);
    if (committed !== undefined) return committed ?? undefined;
    const value = (this.#get.get(key) as Buffer | undefined) ?? null;
    // Only what no open transaction has changed is committed; the write buffer covers the rest.
    if (!this.#flushedInTransaction) this.#remember(id, value);
    return value ?? undefined;
  }

  put(key: Buffer, value: Buffer | null): void {
    this.#check();
    this.#buffer(key.toString('latin1'), key, value);
  }

  putIfAbsent(key: Buffer, value: Buffer): Buffer | undefined {
    this.#check();
    const id = key.toString('latin1');
    const existing = this.#read(id, key);
    if (existing === undefined) this.#buffer(id, key, value);
    return existing;
  }

  putAll(entries: ReadonlyArray<readonly [Buffer, Buffer | null]>): void {
    for (const [key, value] of entries) this.put(key, value);
  }

  delete(key: Buffer): Buffer | undefined {
    this.#check();
    const id = key.toString('latin1');
    const old = this.#read(id, key);
    this.#buffer(id, key, null);
    return old;
  }

  range(from: Buffer | null, to: Buffer | null): Iterable<KeyValueBytes> {
    this.#check();
    return this.#range(from, from === null ? '' : '>=', to, to === null ? '' : '<=', false);
  }

  reverseRange(from: Buffer | null, to: Buffer | null): Iterable<KeyValueBytes> {
    this.#check();
    return this.#range(from, from === null ? '' : '>=', to, to === null ? '' : '<=', true);
  }

  prefixScan(prefix: Buffer): Iterable<KeyValueBytes> {
    this.#check();
    const upper = prefixUpperBound(prefix);
    return this.#range(prefix, '>=', upper, upper === null ? '' : '<', false);
  }

  all(): Iterable<KeyValueBytes> {
    this.#check();
    return this.#range(null, '', null, '', false);
  }

  reverseAll(): Iterable<KeyValueBytes> {
    this.#check();
    return this.#range(null, '', null, '', true);
  }

  /** Exact (a count(*) scan), so cheap only for small tables; the runtime calls it rarely. */
  approximateNumEntries(): number {
    this.#check();
    this.#applyPending();
    return this.#count.get() as number;
  }

  /** Applies the records inside the open write transaction; the caller commits them with the restored offset. */
  restoreBatch(records: Iterable<{ key: Buffer; value: Buffer | null }>): void {
    this.#check();
    this.#applyPending();
    this.#forgetCommitted();
    this.#flushedInTransaction = true;
    this.#context.beginWrite();
    for (const { key, value } of records) {
      if (value === null) this.#delete.run(key);
      else this.#put.run(key, value);
    }
  }

  /** Commits the task database: every store of the task, not only this one. */
  flush(): void {
    this.#check();
    this.#context.commit();
  }

  /** Closes this view only; the table and uncommitted writes belong to the task database. */
  close(): void {
    this.#open = false;
  }

  /** @internal Reopened by SqliteDatabase when the store is asked for again after close(). */
  reopen(): void {
    this.#open = true;
  }

  /** @internal Drops the buffered writes with the rolled-back transaction; recreates the table if the rollback removed it. */
  reloadAfterRollback(): void {
    this.#pending.clear();
    this.#pendingBytes = 0;
    this.#flushedInTransaction = false;
    this.#ensureSchema();
  }

  /** Buffers a write; the task's write transaction opens with the first, so a rollback drops it. */
  #buffer(id: string, key: Buffer, value: Buffer | null): void {
    this.#context.beginWrite();
    const previous = this.#pending.get(id);
    if (previous !== undefined) this.#pendingBytes -= previous.value?.length ?? 0;
    else this.#pendingBytes += key.length + PENDING_ENTRY_OVERHEAD;
    this.#pending.set(id, { key, value });
    this.#pendingBytes += value?.length ?? 0;
    if (this.#pending.size >= MAX_PENDING_ENTRIES || this.#pendingBytes >= MAX_PENDING_BYTES)
      this.#applyPending();
  }

  /**
   * Writes the buffer into the open SQLite transaction. At a commit its values become the
   * committed ones; before that, the cache must not answer for the keys SQLite now holds newer.
   */
  #applyPending(committing = false): void {
    if (committing) this.#flushedInTransaction = false;
    if (this.#pending.size === 0) return;
    this.#context.beginWrite();
    for (const [id, { key, value }] of this.#pending) {
      if (value === null) this.#delete.run(key);
      else this.#put.run(key, value);
      if (committing) this.#remember(id, value);
      else this.#forget(id);
    }
    if (!committing) this.#flushedInTransaction = true;
    this.#pending.clear();
    this.#pendingBytes = 0;
  }

  /** `id` is the key's bytes one character each, so its length is the key's size. */
  #remember(id: string, value: Buffer | null): void {
    this.#forget(id);
    this.#committed.set(id, value);
    this.#committedBytes += id.length + (value?.length ?? 0) + PENDING_ENTRY_OVERHEAD;
    while (this.#committed.size > MAX_COMMITTED_ENTRIES || this.#committedBytes > MAX_COMMITTED_BYTES) {
      const oldest = this.#committed.keys().next().value as string;
      this.#forget(oldest);
    }
  }

  #forget(id: string): void {
    const value = this.#committed.get(id);
    if (value === undefined) return;
    this.#committed.delete(id);
    this.#committedBytes -= id.length + (value?.length ?? 0) + PENDING_ENTRY_OVERHEAD;
  }

  #forgetCommitted(): void {
    this.#committed.clear();
    this.#committedBytes = 0;
  }

  #ensureSchema(): void {
    this.#context.db.exec(
      `CREATE TABLE IF NOT EXISTS ${this.#table} (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID`,
    );
  }

  #range(
    from: Buffer | null,
    lowerOp: LowerOp,
    to: Buffer | null,
    upperOp: UpperOp,
    reverse: boolean,
  ): Iterable<KeyValueBytes> {
    if (from !== null && to !== null) {
      const c = Buffer.compare(from, to);
      if (c > 0 || (c === 0 && (lowerOp === '>' || upperOp === '<'))) return [];
    }
    return paged<KeyValueBytes>((after) => {
      // The cursor tightens the bound on the side the scan moves away from.
      if (after === undefined) return this.#page(lowerOp, from, upperOp, to, reverse);
      return reverse
        ? this.#page(lowerOp, from, '<', after.key, true)
        : this.#page('>', after.key, upperOp, to, false);
    });
  }

  #page(
    lowerOp: LowerOp,
    lower: Buffer | null,
    upperOp: UpperOp,
    upper: Buffer | null,
    reverse: boolean,
  ): KeyValueBytes[] {
    this.#check();
    this.#applyPending();
    const statement = this.#rangeStatement(lowerOp, upperOp, reverse);
    const params: Buffer[] = [];
    if (lowerOp !== '') params.push(lower as Buffer);
    if (upperOp !== '') params.push(upper as Buffer);
    return statement.all(...params) as KeyValueBytes[];
  }

  #rangeStatement(lowerOp: LowerOp, upperOp: UpperOp, reverse: boolean): Database.Statement {
    const id = `${lowerOp}|${upperOp}|${reverse}`;
    let statement = this.#rangeStatements.get(id);
    if (statement === undefined) {
      const conditions: string[] = [];
      if (lowerOp !== '') conditions.push(`key ${lowerOp} ?`);
      if (upperOp !== '') conditions.push(`key ${upperOp} ?`);
      const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
      statement = this.#context.db.prepare(
        `SELECT key, value FROM ${this.#table} ${where} ORDER BY key ${reverse ? 'DESC' : 'ASC'} LIMIT ${PAGE_SIZE}`,
      );
      this.#rangeStatements.set(id, statement);
    }
    return statement;
  }

  #check(): void {
    if (!this.isOpen) throw storeClosedError(this.name);
  }
}
