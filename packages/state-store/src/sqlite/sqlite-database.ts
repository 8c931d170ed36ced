// SqliteDatabase: the one SQLite file of a task. Every store of the task is a table in it, and
// the task's checkpoint (changelog offsets) is a table too, so a single SQLite transaction
// commits all of the task's local state together with the offsets it corresponds to. That is
// what lets exactly-once processing keep local state in step with Kafka after a crash, instead
// of wiping it and restoring from the changelog.
//
// Writes are batched: the first write after a commit opens a transaction that stays open until
// commit(), so a put is one prepared-statement step on the page cache, not a disk sync.
// Uncommitted writes are lost if the process dies (and rollback() / close() discard them):
// the runtime commits right after the Kafka side of a commit succeeded.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { SessionBytesStoreOptions } from '../session/session-bytes-store.ts';
import type { WindowBytesStoreOptions } from '../window/window-bytes-store.ts';
import { SqliteKeyValueStore } from './sqlite-key-value-store.ts';
import { SqliteSessionStore } from './sqlite-session-store.ts';
import type { SqliteStoreContext, StoreKind } from './sqlite-store-context.ts';
import { SqliteWindowStore } from './sqlite-window-store.ts';

/** File name of the task database inside a task directory. */
export const SQLITE_STATE_FILE = 'state.sqlite';

export interface SqliteDatabaseOptions {
  /** SQLite page cache per task database, in KiB. Default 16 MiB. */
  cacheSizeKiB?: number;
}

type AnyStore = SqliteKeyValueStore | SqliteWindowStore | SqliteSessionStore;

export class SqliteDatabase {
  readonly path: string;
  readonly #db: Database.Database;
  #open = true;
  #inTransaction = false;
  readonly #stores = new Map<string, AnyStore>();
  readonly #beforeCommit: Array<() => void> = [];
  readonly #context: SqliteStoreContext;
  readonly #begin: Database.Statement;
  readonly #commit: Database.Statement;
  readonly #rollback: Database.Statement;
  readonly #storeKind: Database.Statement;
  readonly #registerStore: Database.Statement;

  /** Opens (creating if needed) `<taskDir>/state.sqlite`. */
  static openInTaskDirectory(taskDir: string, options: SqliteDatabaseOptions = {}): SqliteDatabase {
    mkdirSync(taskDir, { recursive: true });
    return new SqliteDatabase(join(taskDir, SQLITE_STATE_FILE), options);
  }

  constructor(path: string, options: SqliteDatabaseOptions = {}) {
    this.path = path;
    this.#db = new Database(path);
    // WAL: readers never block the writer and a commit appends to the log instead of
    // rewriting pages in place. synchronous=NORMAL: a commit does not fsync; the WAL is synced
    // at checkpoints. The database can never be corrupted by this, but a power loss (not a
    // process crash) can drop the last commits. That is acceptable because the same state is
    // in the changelog topic and the checkpoint rolls back together with it, so restoration
    // replays whatever was lost. temp_store=MEMORY keeps sort/temp b-trees off disk.
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('temp_store = MEMORY');
    this.#db.pragma(`cache_size = -${Math.max(1024, Math.floor(options.cacheSizeKiB ?? 16 * 1024))}`);
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS kp_checkpoint (
        topic_partition TEXT PRIMARY KEY,
        offset INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS kp_store (
        name TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        stream_time INTEGER
      ) WITHOUT ROWID;
    `);
    this.#begin = this.#db.prepare('BEGIN IMMEDIATE');
    this.#commit = this.#db.prepare('COMMIT');
    this.#rollback = this.#db.prepare('ROLLBACK');
    this.#storeKind = this.#db.prepare('SELECT kind FROM kp_store WHERE name = ?').pluck();
    this.#registerStore = this.#db.prepare('INSERT OR IGNORE INTO kp_store (name, kind) VALUES (?, ?)');
    this.#context = {
      db: this.#db,
      beginWrite: () => this.#beginWrite(),
      beforeCommit: (hook) => this.#beforeCommit.push(hook),
      isOpen: () => this.#open,
      commit: () => this.commit(),
    };
  }

  get isOpen(): boolean {
    return this.#open;
  }

  /** True while writes since the last commit() are pending. */
  get inTransaction(): boolean {
    return this.#inTransaction;
  }

  keyValueStore(name: string): SqliteKeyValueStore {
    return this.#store(name, 'key-value', () => new SqliteKeyValueStore(name, this.#context));
  }

  windowStore(name: string, options: WindowBytesStoreOptions): SqliteWindowStore {
    return this.#store(name, 'window', () => new SqliteWindowStore(name, options, this.#context));
  }

  sessionStore(name: string, options: SessionBytesStoreOptions): SqliteSessionStore {
    return this.#store(name, 'session', () => new SqliteSessionStore(name, options, this.#context));
  }

  /**
   * Replaces the stored checkpoint, inside the open write transaction: it becomes durable by
   * the same commit() as the state it describes. Keys are `topic-partition` (see
   * checkpointKey), values the next offset to restore from.
   */
  writeCheckpoint(offsets: ReadonlyMap<string, bigint>): void {
    this.#assertOpen();
    this.#beginWrite();
    this.#db.prepare('DELETE FROM kp_checkpoint').run();
    const insert = this.#db.prepare('INSERT INTO kp_checkpoint (topic_partition, offset) VALUES (?, ?)');
    for (const [topicPartition, offset] of offsets) insert.run(topicPartition, offset);
  }

  /** The checkpoint as this connection sees it (including an uncommitted writeCheckpoint). */
  readCheckpoint(): Map<string, bigint> {
    this.#assertOpen();
    const rows = this.#db
      .prepare('SELECT topic_partition, offset FROM kp_checkpoint ORDER BY topic_partition')
      .safeIntegers(true)
      .all() as Array<{ topic_partition: string; offset: bigint }>;
    return new Map(rows.map((row) => [row.topic_partition, row.offset]));
  }

  /** Makes every write since the last commit durable, for all stores of the task at once. */
  commit(): void {
    this.#assertOpen();
    for (const hook of this.#beforeCommit) hook();
    if (!this.#inTransaction) return;
    this.#commit.run();
    this.#inTransaction = false;
  }

  /** Discards every write since the last commit (e.g. when the Kafka transaction aborted). */
  rollback(): void {
    this.#assertOpen();
    if (!this.#inTransaction) return;
    this.#rollback.run();
    this.#inTransaction = false;
    // A store created inside the rolled-back transaction lost its table and registration:
    // recreate them (empty, which is exactly its committed state) before anything reads them.
    for (const store of this.#stores.values()) {
      this.#registerStore.run(store.name, store.kind);
      store.reloadAfterRollback();
    }
  }

  /** Closes every store and the file. Uncommitted writes are discarded, as in a crash. */
  close(): void {
    if (!this.#open) return;
    if (this.#inTransaction) {
      this.#rollback.run();
      this.#inTransaction = false;
    }
    this.#open = false;
    this.#stores.clear();
    this.#db.close();
  }

  #store<S extends AnyStore>(name: string, kind: StoreKind, create: () => S): S {
    this.#assertOpen();
    const existing = this.#stores.get(name);
    if (existing !== undefined) {
      if (existing.kind !== kind) throw kindMismatch(name, existing.kind, kind, this.path);
      // One instance per table: a second one would hold its own stream time and sequence numbers.
      existing.reopen();
      return existing as S;
    }
    const storedKind = this.#storeKind.get(name) as StoreKind | undefined;
    if (storedKind !== undefined && storedKind !== kind)
      throw kindMismatch(name, storedKind, kind, this.path);
    if (storedKind === undefined) this.#registerStore.run(name, kind);
    const store = create();
    this.#stores.set(name, store);
    return store;
  }

  #beginWrite(): void {
    if (this.#inTransaction) return;
    this.#begin.run();
    this.#inTransaction = true;
  }

  #assertOpen(): void {
    if (!this.#open) throw new Error(`SQLite state database ${this.path} is closed`);
  }
}

function kindMismatch(name: string, existing: StoreKind, requested: StoreKind, path: string): Error {
  return new Error(
    `State store "${name}" in ${path} is a ${existing} store and cannot be opened as a ${requested} store: store names must be unique within a task`,
  );
}
