/**
 * The Debezium runner itself: Debezium's embedded PostgreSQL connector captures an insert, an
 * update and a delete on a fresh table, and with the outbox EventRouter routes an outbox row, as
 * the records a Kafka Connect worker would produce. The CDC and outbox tests compare against these.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { databaseUrl } from '../support/services.ts';
import { teardownAfterEach } from '../support/teardown.ts';
import { DebeziumApp, debeziumHeaders, debeziumVersion } from './debezium-runner.ts';

// Slot and publication names allow only lower-case letters, digits and underscores.
function uniqueIdent(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

describe(`Debezium ${debeziumVersion()} embedded, PostgreSQL with pgoutput`, () => {
  const teardown = teardownAfterEach();

  async function sql(text: string): Promise<void> {
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  }

  it('captures insert, update and delete (with its tombstone) of a table', async () => {
    const table = uniqueIdent('dbz_items');
    await sql(`CREATE TABLE public.${table} (id int PRIMARY KEY, name text)`);
    teardown.push(() => sql(`DROP TABLE IF EXISTS public.${table}`));
    const app = new DebeziumApp({
      databaseUrl: databaseUrl(),
      name: 'dbz',
      slot: uniqueIdent('slot'),
      publication: uniqueIdent('pub'),
      tables: [`public.${table}`],
    });
    teardown.push(() => app.stop());
    await app.started();
    await sql(`INSERT INTO public.${table} VALUES (1, 'a')`);
    await sql(`UPDATE public.${table} SET name = 'b' WHERE id = 1`);
    await sql(`DELETE FROM public.${table} WHERE id = 1`);
    const records = await app.waitForRecords(4);
    for (const r of records) console.log(r.line);

    expect(records.map((r) => r.topic)).toEqual(Array(4).fill(`dbz.public.${table}`));
    expect(records.map((r) => r.key)).toEqual(Array(4).fill({ id: 1 }));
    const values = records.map((r) => r.value as { op: string; before: unknown; after: unknown } | null);
    expect(values.map((v) => v?.op ?? null)).toEqual(['c', 'u', 'd', null]);
    expect(values[0]).toMatchObject({ before: null, after: { id: 1, name: 'a' } });
    expect(values[1]).toMatchObject({ after: { id: 1, name: 'b' } });
    expect(values[2]).toMatchObject({ after: null, before: { id: 1 } });
  });

  it('routes an outbox row with the EventRouter', async () => {
    const table = uniqueIdent('outbox');
    await sql(
      `CREATE TABLE public.${table} (id uuid PRIMARY KEY, aggregatetype text NOT NULL, aggregateid text NOT NULL, type text NOT NULL, payload jsonb)`,
    );
    teardown.push(() => sql(`DROP TABLE IF EXISTS public.${table}`));
    const app = new DebeziumApp({
      databaseUrl: databaseUrl(),
      name: 'dbz',
      slot: uniqueIdent('slot'),
      publication: uniqueIdent('pub'),
      tables: [`public.${table}`],
      outbox: true,
    });
    teardown.push(() => app.stop());
    await app.started();
    const id = '6f1c2b3a-0d4e-4f5a-8b9c-0123456789ab';
    await sql(
      `INSERT INTO public.${table} VALUES ('${id}', 'order', 'o-1', 'OrderCreated', '{"total": 42, "items": ["x"]}')`,
    );
    const [r] = await app.waitForRecords(1);
    console.log(r?.line);

    expect(r?.topic).toBe('outbox.event.order');
    expect(r?.key).toBe('o-1');
    // Without table.expand.json.payload the jsonb payload is PostgreSQL's text of it, as a JSON string.
    expect(r?.value).toBe('{"items": ["x"], "total": 42}');
    const headers = Object.fromEntries(
      debeziumHeaders(r!).map(([name, bytes]) => [name, bytes?.toString('utf8') ?? null]),
    );
    expect(headers).toMatchObject({ id, type: 'OrderCreated' });
  });
});
