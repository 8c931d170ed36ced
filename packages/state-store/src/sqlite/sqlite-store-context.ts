// What a SQLite-backed store needs from the task database that owns it. Kept apart from
// SqliteDatabase so stores cannot reach the connection's lifecycle (close, checkpoint).

import type Database from 'better-sqlite3';

export type StoreKind = 'key-value' | 'window' | 'session';

export interface SqliteStoreContext {
  readonly db: Database.Database;
  /** Opens the task's write transaction unless one is already open. */
  beginWrite(): void;
  /** Registers work to do inside the transaction just before each commit. */
  beforeCommit(hook: () => void): void;
  isOpen(): boolean;
  commit(): void;
}

/** A quoted SQL identifier for a store's table; store names may contain any character. */
export function tableName(kind: StoreKind, name: string): string {
  return `"${`${kind}:${name}`.replaceAll('"', '""')}"`;
}

/** Timestamps passed to SQL are clamped so open bounds (±Infinity) bind as integers. */
export function sqlTime(t: number): number {
  if (t > Number.MAX_SAFE_INTEGER) return Number.MAX_SAFE_INTEGER;
  if (t < Number.MIN_SAFE_INTEGER) return Number.MIN_SAFE_INTEGER;
  return t;
}

export const PAGE_SIZE = 256;

/**
 * Iterates a query one page at a time. Each page is read to completion with Statement.all(),
 * so the connection is never left busy between yields: callers may write to any store of the
 * task while iterating, or abandon the iterator, without closing anything. The next page
 * starts strictly after the last row returned (keyset pagination), so iteration is weakly
 * consistent, like the in-memory stores.
 */
export function* paged<R>(fetchPage: (after: R | undefined) => R[]): Generator<R> {
  let after: R | undefined;
  for (;;) {
    const rows = fetchPage(after);
    yield* rows;
    if (rows.length < PAGE_SIZE) return;
    after = rows[rows.length - 1];
  }
}
