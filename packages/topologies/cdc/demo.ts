/**
 * Demo: a customers table captured into Kafka as Debezium change events, and a topology that reads
 * them. Three customers exist before the capture starts (the snapshot, op r); then an insert, an
 * update, a transaction of several changes, a rolled-back one, a delete (with its tombstone) and a
 * column added while running. The capture is then closed, two changes are committed while it is
 * down, and a new one started on the same slot picks up exactly those. A KTable built from the
 * topic keeps each customer's latest row; the demo prints every event as the topology sees it and
 * the table at the end beside the database.
 *
 * Run: `pnpm demo cdc` (it starts the local stack when needed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaStreams, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import pg from 'pg';
import { localStack } from '../src/support/local-stack.ts';
import { dropCapture, PostgresCdc } from './index.ts';

interface Envelope {
  op: 'c' | 'u' | 'd' | 'r';
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  source: { snapshot: string; txId: number | null; lsn: number };
}

const { bootstrapServers, databaseUrl } = localStack();
const run = Date.now().toString(36);
const table = `demo_customers_${run}`;
const topicPrefix = `demo-${run}`;
const topic = `${topicPrefix}.public.${table}`;
const slotName = `kp_demo_cdc_${run}`;
const publicationName = `${slotName}_pub`;
const db = new pg.Client({ connectionString: databaseUrl });
await db.connect();

const capture = () =>
  new PostgresCdc({
    postgres: databaseUrl,
    bootstrapServers,
    topicPrefix,
    tables: [`public.${table}`],
    slotName,
    publicationName,
  });

const OPS = { r: 'snapshot', c: 'insert  ', u: 'update  ', d: 'delete  ' } as const;
const seen: string[] = [];
const latest = new Map<number, Record<string, unknown>>();
function print(key: string | null, value: Envelope | null): void {
  const id = key === null ? undefined : (JSON.parse(key) as { id: number }).id;
  if (value === null) {
    seen.push('tombstone');
    console.log(`   tombstone  key ${key}`);
    return;
  }
  seen.push(value.op);
  if (value.after) latest.set(id!, value.after);
  else latest.delete(id!);
  const row = JSON.stringify(value.after ?? value.before);
  console.log(
    `   ${OPS[value.op]}   key ${key}  ${row}  (tx ${value.source.txId}, snapshot ${value.source.snapshot})`,
  );
}

const builder = new StreamsBuilder();
builder
  .stream(topic, { key: Serdes.String(), value: Serdes.JSON<Envelope | null>() })
  .foreach((k, v) => print(k, v));
const stateDir = mkdtempSync(join(tmpdir(), 'cdc-demo-'));
const app = new KafkaStreams(builder.build(), {
  applicationId: `cdc-demo-${run}`,
  bootstrapServers,
  stateDir,
});

async function until(what: string, done: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`demo: ${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

try {
  await db.query(
    `CREATE TABLE public.${table} (id int PRIMARY KEY, name text NOT NULL, email text, credit numeric(10,2))`,
  );
  await db.query(
    `INSERT INTO public.${table} VALUES (1, 'Ada', 'ada@example.com', 100), (2, 'Brian', NULL, 0), (3, 'Chen', 'chen@example.com', 12.5)`,
  );
  console.log(`table public.${table} with 3 customers; capturing it into ${topic}\n`);

  let cdc = capture();
  await cdc.start();
  console.log(
    `1. capture started (slot ${slotName}); the snapshot and the changes, as the topology reads them:`,
  );
  await app.start();
  await db.query(`INSERT INTO public.${table} VALUES (4, 'Dana', 'dana@example.com', 40)`);
  await db.query(`UPDATE public.${table} SET credit = credit + 10 WHERE id = 1`);
  await db.query(
    `BEGIN; UPDATE public.${table} SET email = 'brian@example.com' WHERE id = 2; INSERT INTO public.${table} VALUES (5, 'Eve', NULL, 5); COMMIT`,
  );
  await db.query(`BEGIN; INSERT INTO public.${table} VALUES (6, 'Rolled back', NULL, 0); ROLLBACK`);
  await db.query(`DELETE FROM public.${table} WHERE id = 3`);
  await db.query(`ALTER TABLE public.${table} ADD COLUMN tier text DEFAULT 'basic'`);
  await db.query(`UPDATE public.${table} SET tier = 'gold' WHERE id = 4`);
  await until('the first events', () => seen.length >= 10);

  await cdc.close();
  console.log(
    `\n2. capture closed at ${cdc.confirmedLsn}; while it is down, customer 5 is updated and customer 6 added`,
  );
  await db.query(`UPDATE public.${table} SET credit = 7.25 WHERE id = 5`);
  await db.query(`INSERT INTO public.${table} (id, name) VALUES (6, 'Femi')`);
  cdc = capture();
  await cdc.start();
  console.log('   a new capture on the same slot resumes where the first one confirmed:');
  await until('the changes made while down', () => seen.length >= 12);
  await cdc.close();

  const { rows } = await db.query(`SELECT * FROM public.${table} ORDER BY id`);
  console.log('\n3. the latest row per customer, from the events, beside the table:');
  let same = rows.length === latest.size;
  for (const row of rows) {
    const fromEvents = latest.get(row.id as number);
    // Rows last changed before the column was added have no tier in their events (as with Debezium).
    const match =
      fromEvents !== undefined &&
      fromEvents.name === row.name &&
      fromEvents.email === row.email &&
      (!('tier' in fromEvents) || fromEvents.tier === row.tier);
    same &&= match;
    const tier =
      fromEvents === undefined
        ? 'missing'
        : 'tier' in fromEvents
          ? `tier ${fromEvents.tier}`
          : 'no tier column yet';
    console.log(
      `   ${row.id}  ${String(row.name).padEnd(6)} ${String(row.email ?? '-').padEnd(18)} table tier ${row.tier}, events ${tier}  ${match ? 'same' : 'DIFFERENT'}`,
    );
  }
  const count = (op: string) => seen.filter((s) => s === op).length;
  console.log(
    `\n${seen.length} records: ${count('r')} snapshot, ${count('c')} inserts, ${count('u')} updates, ${count('d')} delete, ${count('tombstone')} tombstone; nothing from the rolled-back transaction.`,
  );
  console.log(same ? 'The events rebuild the table exactly.' : 'The events and the table differ.');
  if (!same) process.exitCode = 1;
} finally {
  await app.close();
  rmSync(stateDir, { recursive: true, force: true });
  await dropCapture(databaseUrl, { slotName, publicationName }).catch(() => undefined);
  await db.query(`DROP TABLE IF EXISTS public.${table}`);
  await db.end();
}
