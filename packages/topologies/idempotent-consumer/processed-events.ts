/**
 * The `processed_events` table, the source of truth of which events a consumer has processed:
 * one row per (consumer_id, event_id), inserted in the same transaction as the event's business
 * effect, so the two are committed together or not at all.
 */
import type { Pool, PoolClient } from 'pg';

export const PROCESSED_EVENTS_TABLE = 'processed_events';

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS ${PROCESSED_EVENTS_TABLE} (
  consumer_id text NOT NULL,
  event_id text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_id, event_id)
)`;

const RECORD_PROCESSED = `INSERT INTO ${PROCESSED_EVENTS_TABLE} (consumer_id, event_id) VALUES ($1, $2)
ON CONFLICT (consumer_id, event_id) DO NOTHING`;

/**
 * Creates the table when it does not exist. Two processes that start together may both try:
 * the loser's duplicate-object error means the table is there, which is all that was asked.
 */
export async function createProcessedEventsTable(pool: Pool): Promise<void> {
  try {
    await pool.query(CREATE_TABLE);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== '23505' && code !== '42P07') throw error;
  }
}

/**
 * Marks the event processed inside the caller's open transaction. False when the row exists: the
 * event was processed before (or a transaction that processes it is committing right now — the
 * insert waits for it on the primary key and sees its outcome), so the caller must not apply it.
 */
export async function recordProcessed(db: PoolClient, consumerId: string, eventId: string): Promise<boolean> {
  const result = await db.query(RECORD_PROCESSED, [consumerId, eventId]);
  return result.rowCount === 1;
}
