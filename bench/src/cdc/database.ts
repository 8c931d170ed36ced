/**
 * The PostgreSQL side of the CDC benchmark: the run's tables, the changes committed to them
 * (batches of multi-row statements for throughput, a paced stream for latency, with the time
 * each commit was acknowledged), and dropping what a run created, slots and publications
 * included, whatever happened.
 */
import pg from 'pg';
import { sleep } from '../harness/broker.ts';

export type Pattern = 'cdc' | 'outbox';

/** Identifiers for tables, slots and publications: lower-case letters, digits and underscores. */
export function ident(...parts: string[]): string {
  return parts
    .join('_')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
}

export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/** A captured table (`id` the primary key) or an outbox table (the EventRouter's columns). */
export async function createTable(db: pg.Client, pattern: Pattern, table: string): Promise<void> {
  await db.query(
    pattern === 'cdc'
      ? `CREATE TABLE public.${table} (id bigint PRIMARY KEY, name text NOT NULL, qty int NOT NULL)`
      : `CREATE TABLE public.${table} (id uuid PRIMARY KEY, aggregatetype text NOT NULL, aggregateid text NOT NULL, type text NOT NULL, payload jsonb)`,
  );
}

/**
 * Inserts rows `from` … `to` (inclusive) in one statement, i.e. one transaction: captured rows
 * keyed by that id, or outbox events whose aggregateid is `e-<id>` under `aggregateType`.
 */
export async function insertRows(
  db: pg.Client,
  pattern: Pattern,
  table: string,
  from: number,
  to: number,
  aggregateType = '',
): Promise<void> {
  if (pattern === 'cdc') {
    await db.query(
      `INSERT INTO public.${table} (id, name, qty) SELECT g, 'customer-' || g, 1 FROM generate_series($1::bigint, $2::bigint) g`,
      [from, to],
    );
  } else {
    await db.query(
      `INSERT INTO public.${table} (id, aggregatetype, aggregateid, type, payload)
       SELECT gen_random_uuid(), $3, 'e-' || g, 'OrderPlaced', jsonb_build_object('order', g, 'total', 42, 'items', jsonb_build_array('x', 'y'))
       FROM generate_series($1::bigint, $2::bigint) g`,
      [from, to, aggregateType],
    );
  }
}

export async function updateRows(db: pg.Client, table: string, from: number, to: number): Promise<void> {
  await db.query(`UPDATE public.${table} SET qty = qty + 1 WHERE id BETWEEN $1 AND $2`, [from, to]);
}

export async function deleteRows(db: pg.Client, table: string, from: number, to: number): Promise<void> {
  await db.query(`DELETE FROM public.${table} WHERE id BETWEEN $1 AND $2`, [from, to]);
}

export interface Written {
  /** performance.now() when the first transaction's commit was acknowledged. */
  firstCommitAt: number;
  lastCommitAt: number;
}

/**
 * Commits `changes` row changes in transactions of `batch` rows, ids from `firstId` on: for a
 * captured table the first half inserts, the second updates those rows; for an outbox, inserts
 * (the relay's only input). Every change is one record on Kafka.
 */
export async function writeChanges(
  db: pg.Client,
  pattern: Pattern,
  table: string,
  firstId: number,
  changes: number,
  batch: number,
  aggregateType = '',
): Promise<Written> {
  const inserts = pattern === 'cdc' ? Math.ceil(changes / 2) : changes;
  let firstCommitAt = 0;
  const committed = () => {
    if (firstCommitAt === 0) firstCommitAt = performance.now();
  };
  for (let i = 0; i < inserts; i += batch) {
    const to = Math.min(inserts, i + batch) - 1;
    await insertRows(db, pattern, table, firstId + i, firstId + to, aggregateType);
    committed();
  }
  for (let i = 0; i < changes - inserts; i += batch) {
    const to = Math.min(changes - inserts, i + batch) - 1;
    await updateRows(db, table, firstId + i, firstId + to);
  }
  return { firstCommitAt, lastCommitAt: performance.now() };
}

/**
 * Inserts `ratePerSec` rows a second for `durationMs`, ids from `firstId` on, the rows due at
 * each 5 ms tick in one transaction; returns the wall-clock time (Date.now()) at which each
 * row's commit was acknowledged, by id.
 */
export async function writePaced(
  db: pg.Client,
  pattern: Pattern,
  table: string,
  firstId: number,
  ratePerSec: number,
  durationMs: number,
  aggregateType = '',
): Promise<Map<number, number>> {
  const committedAt = new Map<number, number>();
  let sent = 0;
  const started = performance.now();
  for (;;) {
    const elapsed = performance.now() - started;
    if (elapsed >= durationMs) break;
    const due = Math.floor((elapsed * ratePerSec) / 1000);
    if (due > sent) {
      await insertRows(db, pattern, table, firstId + sent, firstId + due - 1, aggregateType);
      const at = Date.now();
      for (; sent < due; sent++) committedAt.set(firstId + sent, at);
    }
    await sleep(5);
  }
  return committedAt;
}

/**
 * Drops the run's replication slots (retrying while a walsender still holds one), its
 * publications and its tables; reports what it could not drop instead of throwing.
 */
export async function dropAll(
  url: string,
  o: { slots: string[]; publications: string[]; tables: string[] },
): Promise<string[]> {
  const problems: string[] = [];
  let db: pg.Client;
  try {
    db = await connect(url);
  } catch (e) {
    return [`could not connect to drop ${o.slots.join(', ')}: ${String(e)}`];
  }
  try {
    for (const slot of o.slots) {
      for (let attempt = 0; ; attempt++) {
        try {
          await db.query(
            `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL AND $2`,
            [slot, attempt >= 25],
          );
          await db.query(
            'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
            [slot],
          );
          break;
        } catch (e) {
          if (attempt >= 50) {
            problems.push(`slot ${slot}: ${String(e)}`);
            break;
          }
          await sleep(200);
        }
      }
    }
    for (const p of o.publications) {
      await db.query(`DROP PUBLICATION IF EXISTS ${p}`).catch((e: unknown) => {
        problems.push(`publication ${p}: ${String(e)}`);
      });
    }
    for (const t of o.tables) {
      await db.query(`DROP TABLE IF EXISTS public.${t}`).catch((e: unknown) => {
        problems.push(`table ${t}: ${String(e)}`);
      });
    }
  } finally {
    await db.end().catch(() => {});
  }
  return problems;
}
