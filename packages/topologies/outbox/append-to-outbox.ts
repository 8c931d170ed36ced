/**
 * appendToOutbox: writes an event into the outbox table on the caller's connection, inside the
 * caller's transaction, so that the business change and its event commit together or not at all.
 * The relay publishes it once the transaction has committed; a rolled-back one never reaches it.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { ensureOutboxTable, outboxTableName } from './outbox-table.ts';

export interface OutboxEvent<P = unknown> {
  /** Routes the event to the topic `outbox.event.<aggregateType>`. */
  aggregateType: string;
  /** The record key: events of one aggregate keep their commit order. */
  aggregateId: string;
  /** The `type` header, e.g. OrderPlaced. */
  type: string;
  /** The record value, as JSON. */
  payload: P;
  /** The event's identity (the `id` header); default a new UUID. Consumers deduplicate by it. */
  id?: string;
}

export interface AppendOptions {
  /** Default public.outbox. */
  table?: string;
}

const ensured = new Set<string>();

/** Appends the event and returns its id. Call it between the caller's BEGIN and COMMIT. */
export async function appendToOutbox<P>(
  client: pg.ClientBase,
  event: OutboxEvent<P>,
  options: AppendOptions = {},
): Promise<string> {
  for (const field of ['aggregateType', 'aggregateId', 'type'] as const)
    if (typeof event[field] !== 'string' || event[field] === '')
      throw new Error(
        `appendToOutbox: ${field} must be a non-empty string (got ${JSON.stringify(event[field])})`,
      );
  const payload = JSON.stringify(event.payload);
  if (payload === undefined) throw new Error('appendToOutbox: payload must be a JSON value (got undefined)');
  const table = outboxTableName(options.table);
  if (!ensured.has(table)) {
    await ensureOutboxTable(client, options.table);
    ensured.add(table);
  }
  const id = event.id ?? randomUUID();
  await client.query(
    `INSERT INTO ${table} (id, aggregatetype, aggregateid, type, payload) VALUES ($1, $2, $3, $4, $5::jsonb)`,
    [id, event.aggregateType, event.aggregateId, event.type, payload],
  );
  return id;
}
