/**
 * PostgresCdc on the real PostgreSQL and broker: the snapshot meets the stream with no gap and no
 * overlap while a writer keeps committing; every change lands in commit order per key with a
 * tombstone after each delete; a column added mid-stream shows in the next change; a restart
 * repeats nothing confirmed and loses nothing committed while it was down; under exactly_once_v2
 * the position travels in the Kafka transaction; a quiet capture lets the slot advance; and bad
 * set-ups fail with a message that says what to do.
 */
import { randomBytes } from 'node:crypto';
import type { ConsumedRecord } from '@kafka-pattern/streams-core/client';
import { PostgresCdc, type PostgresCdcOptions } from '@kafka-pattern/topologies/cdc';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { bootstrapServers, clientFactory, collect, eventually } from '../support/kafka.ts';
import { databaseUrl } from '../support/services.ts';
import { teardownAfterEach } from '../support/teardown.ts';

const teardown = teardownAfterEach();

/** `16/B374D848` as a number. */
function parseLsn(text: string): bigint {
  const [hi, lo] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

function ident(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

async function connectPg(url = databaseUrl()): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  teardown.push(() => client.end());
  return client;
}

interface Change {
  key: unknown;
  op: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  snapshot: string | null;
}

/** `collect`, once the capture has created the topic (it does so with the first change it writes). */
async function read(topic: string, options: Parameters<typeof collect>[1]): Promise<ConsumedRecord[]> {
  const admin = clientFactory().admin();
  try {
    await eventually(
      async () => ((await admin.describeTopics([topic])).get(topic) ? true : undefined),
      30_000,
      `topic ${topic}`,
    );
  } finally {
    await admin.close();
  }
  return collect(topic, options);
}

function changes(records: ConsumedRecord[]): Change[] {
  return records.map((r) => {
    const v = r.value === null ? null : JSON.parse(r.value.toString());
    return {
      key: r.key === null ? null : JSON.parse(r.key.toString()),
      op: v?.op ?? null,
      before: v?.before ?? null,
      after: v?.after ?? null,
      snapshot: v?.source?.snapshot ?? null,
    };
  });
}

/** A capture with unique names, dropped (slot and publication) after the test. */
async function capture(client: pg.Client, table: string, options: Partial<PostgresCdcOptions> = {}) {
  const prefix = options.topicPrefix ?? ident('kpt');
  const slotName = options.slotName ?? ident('kpt_slot');
  const opts: PostgresCdcOptions = {
    postgres: databaseUrl(),
    bootstrapServers: bootstrapServers(),
    topicPrefix: prefix,
    tables: [`public.${table}`],
    slotName,
    publicationName: `${slotName}_pub`,
    heartbeatIntervalMs: 1_000,
    ...options,
  };
  let dropped = false;
  teardown.push(async () => {
    if (dropped) return;
    dropped = true;
    await eventually(
      async () => {
        const { rows } = await client.query<{ active: boolean }>(
          'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
          [slotName],
        );
        return rows.length === 0 || !rows[0]!.active ? true : undefined;
      },
      20_000,
      `slot ${slotName} to be released`,
    );
    await client.query(
      'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
      [slotName],
    );
    await client.query(`DROP PUBLICATION IF EXISTS ${slotName}_pub`);
  });
  const cdc = new PostgresCdc(opts);
  return { cdc, topic: `${prefix}.public.${table}`, opts };
}

async function table(client: pg.Client, ddl: (name: string) => string): Promise<string> {
  const name = ident('kpt_t');
  await client.query(ddl(name));
  teardown.push(() => client.query(`DROP TABLE IF EXISTS public.${name}`).then(() => undefined));
  return name;
}

describe('PostgresCdc', () => {
  it('meets the stream with its snapshot: no gap, no overlap, while a writer commits throughout', async () => {
    const db = await connectPg();
    const writerDb = await connectPg();
    const t = await table(db, (n) => `CREATE TABLE public.${n} (id int PRIMARY KEY, version int NOT NULL)`);
    const keys = 40;
    await db.query(`INSERT INTO public.${t} SELECT g, 0 FROM generate_series(1, ${keys}) g`);
    const { cdc, topic } = await capture(db, t);
    // The writer bumps one key's version per transaction before, during and after start().
    let writing = true;
    let commits = 0;
    const writer = (async () => {
      while (writing) {
        const id = (commits % keys) + 1;
        await writerDb.query(`UPDATE public.${t} SET version = version + 1 WHERE id = $1`, [id]);
        commits++;
      }
    })();
    await eventually(() => (commits >= 50 ? true : undefined), 20_000, 'writes before start');
    await cdc.start();
    teardown.push(() => cdc.close());
    const atStart = commits;
    await eventually(() => (commits >= atStart + 200 ? true : undefined), 30_000, 'writes after start');
    writing = false;
    await writer;
    await cdc.snapshotCompleted();

    const { rows } = await db.query<{ id: number; version: number }>(`SELECT id, version FROM public.${t}`);
    const finalVersion = new Map(rows.map((r) => [r.id, r.version]));
    const expectedStreamed = rows.reduce((sum, r) => sum + r.version, 0);
    // Every key has its snapshot record; every committed update after the snapshot arrives streamed.
    const all = changes(await read(topic, { count: keys, timeoutMs: 30_000 }));
    const snapshotVersions = new Map<number, number>();
    for (const c of all.filter((c) => c.op === 'r'))
      snapshotVersions.set(c.after!.id as number, c.after!.version as number);
    const streamedCount = expectedStreamed - [...snapshotVersions.values()].reduce((a, b) => a + b, 0);
    const records = changes(await read(topic, { count: keys + streamedCount, timeoutMs: 30_000 }));
    expect(records).toHaveLength(keys + streamedCount);
    const snapshot = records.filter((c) => c.op === 'r');
    expect(snapshot).toHaveLength(keys);
    expect(records.slice(0, keys).every((c) => c.op === 'r')).toBe(true);
    expect(snapshot[0]!.snapshot).toBe('first');
    expect(snapshot.at(-1)!.snapshot).toBe('last');
    let overlapOrGap = 0;
    for (const [id, v0] of snapshotVersions) {
      const streamed = records.filter((c) => c.op === 'u' && c.after!.id === id).map((c) => c.after!.version);
      const expected = Array.from({ length: finalVersion.get(id)! - v0 }, (_, i) => v0 + i + 1);
      if (JSON.stringify(streamed) !== JSON.stringify(expected)) overlapOrGap++;
    }
    console.log(
      `snapshot ${keys} rows; ${atStart} commits before start(), ${commits - atStart} after; ${streamedCount} streamed after the snapshot's point`,
    );
    expect(overlapOrGap).toBe(0);
    expect(streamedCount).toBeGreaterThan(0);
  });

  it('streams insert, update, delete with a tombstone, in commit order per key, and a multi-row transaction', async () => {
    const db = await connectPg();
    const t = await table(db, (n) => `CREATE TABLE public.${n} (id int PRIMARY KEY, name text, qty int)`);
    const { cdc, topic } = await capture(db, t, { snapshot: 'never' });
    await cdc.start();
    teardown.push(() => cdc.close());
    await db.query(`INSERT INTO public.${t} VALUES (1, 'a', 1)`);
    await db.query(`UPDATE public.${t} SET qty = 2 WHERE id = 1`);
    await db.query(
      `BEGIN; INSERT INTO public.${t} VALUES (2, 'b', 1); UPDATE public.${t} SET name = 'a2' WHERE id = 1; DELETE FROM public.${t} WHERE id = 2; COMMIT`,
    );
    await db.query(`BEGIN; INSERT INTO public.${t} VALUES (9, 'rolled back', 0); ROLLBACK`);
    await db.query(`DELETE FROM public.${t} WHERE id = 1`);
    const records = changes(await read(topic, { count: 8, timeoutMs: 30_000 }));
    expect(records.map((c) => [c.key, c.op])).toEqual([
      [{ id: 1 }, 'c'],
      [{ id: 1 }, 'u'],
      [{ id: 2 }, 'c'],
      [{ id: 1 }, 'u'],
      [{ id: 2 }, 'd'],
      [{ id: 2 }, null],
      [{ id: 1 }, 'd'],
      [{ id: 1 }, null],
    ]);
    expect(records[1]!.after).toEqual({ id: 1, name: 'a', qty: 2 });
    expect(records[3]!.after).toEqual({ id: 1, name: 'a2', qty: 2 });
    expect(records[6]!.before).toEqual({ id: 1, name: null, qty: null });
    const raw = await read(topic, { count: 8, timeoutMs: 10_000 });
    const source = JSON.parse(raw[2]!.value!.toString()).source;
    const source2 = JSON.parse(raw[3]!.value!.toString()).source;
    expect(source).toMatchObject({
      connector: 'postgresql',
      db: 'kafka_pattern',
      schema: 'public',
      table: t,
      snapshot: 'false',
    });
    expect(source.txId).toBe(source2.txId);
    expect(source.lsn).toBeLessThan(source2.lsn);
  });

  it('picks up a column added mid-stream in the next change', async () => {
    const db = await connectPg();
    const t = await table(db, (n) => `CREATE TABLE public.${n} (id int PRIMARY KEY, v text)`);
    const { cdc, topic } = await capture(db, t, { snapshot: 'never' });
    await cdc.start();
    teardown.push(() => cdc.close());
    await db.query(`INSERT INTO public.${t} VALUES (1, 'a')`);
    await db.query(`ALTER TABLE public.${t} ADD COLUMN c int DEFAULT 7`);
    await db.query(`UPDATE public.${t} SET v = 'a2' WHERE id = 1`);
    await db.query(`INSERT INTO public.${t} (id, v, c) VALUES (2, 'b', 8)`);
    const records = changes(await read(topic, { count: 3, timeoutMs: 30_000 }));
    expect(records.map((c) => c.after)).toEqual([
      { id: 1, v: 'a' },
      { id: 1, v: 'a2', c: 7 },
      { id: 2, v: 'b', c: 8 },
    ]);
  });

  it('after close and start again, repeats nothing it confirmed and loses nothing committed while down', async () => {
    const db = await connectPg();
    const t = await table(db, (n) => `CREATE TABLE public.${n} (id int PRIMARY KEY, n int)`);
    await db.query(`INSERT INTO public.${t} SELECT g, 0 FROM generate_series(1, 5) g`);
    const first = await capture(db, t);
    await first.cdc.start();
    await db.query(`UPDATE public.${t} SET n = 1`);
    await read(first.topic, { count: 10, timeoutMs: 30_000 });
    await first.cdc.close();
    const confirmed = (
      await db.query<{ lsn: string }>(
        'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
        [first.opts.slotName],
      )
    ).rows[0]!.lsn;
    expect(confirmed).toBe(first.cdc.confirmedLsn);
    // While it is down:
    await db.query(`UPDATE public.${t} SET n = 2 WHERE id <= 2`);
    await db.query(`DELETE FROM public.${t} WHERE id = 5`);
    const second = new PostgresCdc(first.opts);
    await second.start();
    teardown.push(() => second.close());
    await db.query(`INSERT INTO public.${t} VALUES (6, 0)`);
    const records = changes(await read(first.topic, { count: 15, timeoutMs: 30_000 }));
    expect(records.slice(0, 5).every((c) => c.op === 'r')).toBe(true);
    expect(records.slice(5, 10).map((c) => [c.op, c.after!.n])).toEqual(Array(5).fill(['u', 1]));
    expect(records.slice(10).map((c) => [c.key, c.op])).toEqual([
      [{ id: 1 }, 'u'],
      [{ id: 2 }, 'u'],
      [{ id: 5 }, 'd'],
      [{ id: 5 }, null],
      [{ id: 6 }, 'c'],
    ]);
    // Nothing beyond: no snapshot again, no repeat.
    const everything = await read(first.topic, { timeoutMs: 5_000 });
    expect(everything).toHaveLength(15);
  });

  it('under exactly_once_v2 writes each batch and its position in one Kafka transaction', async () => {
    const db = await connectPg();
    const t = await table(db, (n) => `CREATE TABLE public.${n} (id int PRIMARY KEY, n int)`);
    const offsetsTopic = ident('kpt-offsets');
    const { cdc, topic, opts } = await capture(db, t, {
      snapshot: 'never',
      processingGuarantee: 'exactly_once_v2',
      offsetsTopic,
    });
    await cdc.start();
    teardown.push(() => cdc.close());
    for (let i = 1; i <= 20; i++) await db.query(`INSERT INTO public.${t} VALUES ($1, 0)`, [i]);
    const records = await read(topic, { count: 20, timeoutMs: 30_000 });
    expect(changes(records).map((c) => (c.after as { id: number }).id)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    await cdc.close();
    const positions = await read(offsetsTopic, { timeoutMs: 10_000 });
    const last = JSON.parse(positions.at(-1)!.value!.toString());
    expect(positions.at(-1)!.key!.toString()).toBe(opts.slotName);
    expect(last.snapshot).toBe('completed');
    // The position written with the last batch is past its records, and the slot was told at least that.
    const lastRecord = JSON.parse(records.at(-1)!.value!.toString());
    expect(parseLsn(last.lsn)).toBeGreaterThan(BigInt(lastRecord.source.lsn));
    expect(parseLsn(cdc.confirmedLsn)).toBeGreaterThanOrEqual(parseLsn(last.lsn));
  });

  it('lets the slot advance past WAL other tables wrote while its own table is quiet', async () => {
    const db = await connectPg();
    const quiet = await table(db, (n) => `CREATE TABLE public.${n} (id int PRIMARY KEY)`);
    const busy = await table(db, (n) => `CREATE TABLE public.${n} (id int PRIMARY KEY, pad text)`);
    const { cdc, opts } = await capture(db, quiet, { snapshot: 'never', heartbeatIntervalMs: 500 });
    await cdc.start();
    teardown.push(() => cdc.close());
    await db.query(`INSERT INTO public.${busy} SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g`);
    const target = (await db.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
    const advanced = await eventually(
      async () => {
        const { rows } = await db.query<{ ok: boolean; lsn: string }>(
          'SELECT confirmed_flush_lsn >= $2::pg_lsn AS ok, confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
          [opts.slotName, target],
        );
        return rows[0]?.ok ? rows[0].lsn : undefined;
      },
      20_000,
      "the slot to move past the other table's WAL",
    );
    console.log(`other table wrote WAL up to ${target}; the quiet capture's slot confirmed ${advanced}`);
  });

  it('fails with a message that says what to do', async () => {
    const db = await connectPg();
    const missing = ident('kpt_missing');
    await expect((await capture(db, missing)).cdc.start()).rejects.toThrow(
      /does not exist: create it before capturing/,
    );
    const noKey = await table(db, (n) => `CREATE TABLE public.${n} (a int, b text)`);
    await expect((await capture(db, noKey)).cdc.start()).rejects.toThrow(
      /no primary key.*REPLICA IDENTITY FULL/,
    );
    const role = ident('kpt_role');
    await db.query(`CREATE ROLE ${role} LOGIN`);
    teardown.push(() => db.query(`DROP ROLE IF EXISTS ${role}`).then(() => undefined));
    const t = await table(db, (n) => `CREATE TABLE public.${n} (id int PRIMARY KEY)`);
    const url = new URL(databaseUrl());
    url.username = role;
    await expect((await capture(db, t, { postgres: url.toString() })).cdc.start()).rejects.toThrow(
      new RegExp(`role "${role}" may not use replication: grant it with ALTER ROLE "${role}" REPLICATION`),
    );
    await expect(
      (await capture(db, t, { postgres: 'postgres://postgres@127.0.0.1:1/none' })).cdc.start(),
    ).rejects.toThrow(/cannot connect to PostgreSQL at 127.0.0.1:1\/none/);
    expect(
      () =>
        new PostgresCdc({
          postgres: databaseUrl(),
          bootstrapServers: bootstrapServers(),
          topicPrefix: 'x',
          tables: [t],
          slotName: 'Bad-Name',
        }),
    ).toThrow(/slotName "Bad-Name" is not valid/);
  });
});
