/**
 * The outbox table as Debezium's outbox event router expects it: id uuid (the event's identity,
 * carried as the `id` header), aggregatetype (routes to outbox.event.<aggregatetype>),
 * aggregateid (the record key), type (the `type` header) and payload jsonb (the value).
 */
import type pg from 'pg';
import { parseTableName, qualified } from '../cdc/replication-slot.ts';

export const DEFAULT_OUTBOX_TABLE = 'public.outbox';

/** `outbox` or `public.outbox` → the schema-qualified, quoted name. */
export function outboxTableName(table: string | undefined): string {
  return qualified(parseTableName(table ?? DEFAULT_OUTBOX_TABLE));
}

/** Creates the outbox table when it does not exist yet. */
export async function ensureOutboxTable(client: pg.ClientBase, table?: string): Promise<void> {
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${outboxTableName(table)} (
       id uuid PRIMARY KEY,
       aggregatetype varchar(255) NOT NULL,
       aggregateid varchar(255) NOT NULL,
       type varchar(255) NOT NULL,
       payload jsonb
     )`,
  );
}
