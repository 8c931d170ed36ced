/**
 * Removes what a capture left in PostgreSQL: its replication slot (which otherwise holds WAL back
 * for good) and its publication. For captures that are gone for good, demos and tests.
 */
import type pg from 'pg';
import { connect, dropSlot, quoteIdent } from './replication-slot.ts';

export async function dropCapture(
  postgres: string | pg.ClientConfig,
  names: { slotName: string; publicationName?: string },
): Promise<void> {
  const client = await connect(typeof postgres === 'string' ? { connectionString: postgres } : postgres);
  try {
    await dropSlot(client, names.slotName);
    if (names.publicationName)
      await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(names.publicationName)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
