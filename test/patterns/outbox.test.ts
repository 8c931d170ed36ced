/**
 * The transactional outbox on the real PostgreSQL and broker: the business row and its event commit
 * together or not at all; the relay publishes each committed event to outbox.event.<aggregatetype>
 * keyed by aggregate id with id and type headers, in commit order per aggregate, including an event
 * whose transaction began first and committed last (the gap a relay polling by sequence number has);
 * nothing of a rolled-back transaction; rows deleted only once Kafka has them; the table and the
 * topics created when absent; events written before the relay's first start published from its
 * snapshot.
 */
import { randomBytes } from 'node:crypto';
import type { ConsumedRecord } from '@kafka-pattern/streams-core/client';
import { appendToOutbox, OutboxRelay, type OutboxRelayOptions } from '@kafka-pattern/topologies/outbox';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { bootstrapServers, clientFactory, collect, eventually } from '../support/kafka.ts';
import { databaseUrl } from '../support/services.ts';
import { teardownAfterEach } from '../support/teardown.ts';

const teardown = teardownAfterEach();

function ident(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

async function connectPg(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  teardown.push(() => client.end());
  return client;
}

async function read(topic: string, count: number, timeoutMs = 30_000): Promise<ConsumedRecord[]> {
  const admin = clientFactory().admin();
  try {
    await eventually(
      async () => ((await admin.describeTopics([topic])).get(topic) ? true : undefined),
      timeoutMs,
      `topic ${topic}`,
    );
  } finally {
    await admin.close();
  }
  return collect(topic, { count, timeoutMs });
}

function header(r: ConsumedRecord, name: string): string | undefined {
  for (const [k, v] of r.headers) if (k === name) return v?.toString();
  return undefined;
}

/** A relay on a fresh outbox table with unique names; its slot, publication and table dropped after. */
async function relayOn(db: pg.Client, options: Partial<OutboxRelayOptions> = {}) {
  const table = ident('kpt_outbox');
  const slotName = ident('kpt_slot');
  const topicPrefix = ident('kpt.outbox');
  const relay = new OutboxRelay({
    postgres: databaseUrl(),
    bootstrapServers: bootstrapServers(),
    table,
    topicPrefix,
    slotName,
    publicationName: `${slotName}_pub`,
    ...options,
  });
  teardown.push(async () => {
    await relay.close();
    await eventually(
      async () => {
        const { rows } = await db.query<{ active: boolean }>(
          'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
          [slotName],
        );
        return rows.length === 0 || !rows[0]!.active ? true : undefined;
      },
      20_000,
      'the slot to be released',
    );
    await db.query(
      'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
      [slotName],
    );
    await db.query(`DROP PUBLICATION IF EXISTS ${slotName}_pub`);
    await db.query(`DROP TABLE IF EXISTS public.${table}`);
  });
  return { relay, table, topic: (aggregateType: string) => `${topicPrefix}.${aggregateType}` };
}

describe('outbox', () => {
  it('publishes the event with its business row, or neither; creates the table and topic; deletes published rows', async () => {
    const db = await connectPg();
    const orders = ident('kpt_orders');
    await db.query(`CREATE TABLE public.${orders} (id text PRIMARY KEY, total numeric)`);
    teardown.push(() => db.query(`DROP TABLE IF EXISTS public.${orders}`).then(() => undefined));
    const { relay, table, topic } = await relayOn(db);
    await relay.start();
    expect((await db.query('SELECT to_regclass($1) AS t', [`public.${table}`])).rows[0].t).not.toBeNull();

    async function placeOrder(id: string, total: number, commit: boolean): Promise<string> {
      await db.query('BEGIN');
      await db.query(`INSERT INTO public.${orders} VALUES ($1, $2)`, [id, total]);
      const eventId = await appendToOutbox(
        db,
        {
          aggregateType: 'order',
          aggregateId: id,
          type: 'OrderPlaced',
          payload: { orderId: id, total, items: ['ä', 'b'] },
        },
        { table },
      );
      await db.query(commit ? 'COMMIT' : 'ROLLBACK');
      return eventId;
    }
    const placed = await placeOrder('o-1', 42.5, true);
    await placeOrder('o-2', 7, false);
    const last = await placeOrder('o-3', 1, true);
    const records = await read(topic('order'), 2);
    expect(records.map((r) => r.key!.toString())).toEqual(['o-1', 'o-3']);
    expect(JSON.parse(records[0]!.value!.toString())).toEqual({
      orderId: 'o-1',
      total: 42.5,
      items: ['ä', 'b'],
    });
    expect(records.map((r) => [header(r, 'id'), header(r, 'type')])).toEqual([
      [placed, 'OrderPlaced'],
      [last, 'OrderPlaced'],
    ]);
    // The rolled-back order left neither its row nor its event.
    expect((await db.query(`SELECT id FROM public.${orders} ORDER BY id`)).rows.map((r) => r.id)).toEqual([
      'o-1',
      'o-3',
    ]);
    expect(await collect(topic('order'), { timeoutMs: 3_000 })).toHaveLength(2);
    // Published rows are deleted once Kafka has them.
    await eventually(
      async () =>
        (await db.query(`SELECT count(*)::int AS n FROM public.${table}`)).rows[0].n === 0 ? true : undefined,
      20_000,
      'published outbox rows to be deleted',
    );
  });

  it('keeps commit order per aggregate when the transaction that began first commits last', async () => {
    const db = await connectPg();
    const other = await connectPg();
    const { relay, table, topic } = await relayOn(db, { cleanup: 'keep' });
    await relay.start();
    // A begins and appends first (its row is older); B appends and commits; then A commits.
    await db.query('BEGIN');
    const a = await appendToOutbox(
      db,
      { aggregateType: 'account', aggregateId: 'acc-1', type: 'Opened', payload: { step: 'A' } },
      { table },
    );
    await other.query('BEGIN');
    const b = await appendToOutbox(
      other,
      { aggregateType: 'account', aggregateId: 'acc-1', type: 'Credited', payload: { step: 'B' } },
      { table },
    );
    await other.query('COMMIT');
    await db.query('COMMIT');
    const records = await read(topic('account'), 2);
    expect(records.map((r) => header(r, 'id'))).toEqual([b, a]);
    // A relay polling by insertion order would have read A first, or skipped it past B's position.
    const { rows } = await db.query(`SELECT id FROM public.${table} ORDER BY ctid`);
    expect(rows.map((r) => r.id)).toEqual([a, b]);
  });

  it('routes each aggregate type to its own topic and publishes events written before its first start', async () => {
    const db = await connectPg();
    const { relay, table, topic } = await relayOn(db, { cleanup: 'keep' });
    // The table exists before the relay does (the application created it by appending).
    const early = await appendToOutbox(
      db,
      { aggregateType: 'customer', aggregateId: 'c-1', type: 'Registered', payload: { n: 1 } },
      { table },
    );
    await relay.start();
    const late = await appendToOutbox(
      db,
      { aggregateType: 'invoice', aggregateId: 'i-1', type: 'Issued', payload: { amount: '10.00' } },
      { table },
    );
    const [customer] = await read(topic('customer'), 1);
    const [invoice] = await read(topic('invoice'), 1);
    expect(header(customer!, 'id')).toBe(early);
    expect(header(invoice!, 'id')).toBe(late);
    expect(JSON.parse(invoice!.value!.toString())).toEqual({ amount: '10.00' });
    expect((await db.query(`SELECT count(*)::int AS n FROM public.${table}`)).rows[0].n).toBe(2);
  });

  it('refuses an event without an aggregate type, saying which field', async () => {
    const db = await connectPg();
    await expect(
      appendToOutbox(
        db,
        { aggregateType: '', aggregateId: 'x', type: 'T', payload: {} },
        { table: ident('kpt_outbox') },
      ),
    ).rejects.toThrow(/aggregateType must be a non-empty string/);
  });
});
