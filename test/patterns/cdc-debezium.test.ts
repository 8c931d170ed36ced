/**
 * The differential test of PostgresCdc and OutboxRelay against the real Debezium 3.6: both capture
 * the same tables at the same time, each from its own replication slot and publication, and their
 * records must be the same, record by record and in order per table, so that a consumer cannot
 * tell them apart.
 *
 * Debezium's records are what JsonConverter (schemas.enable=false) and SimpleHeaderConverter wrote,
 * read from the child's stdout; ours are read back from Kafka (read_committed). Both use the same
 * topic prefix, which cannot collide: Debezium's records never reach Kafka. Compared: topic, key
 * (and its bytes), value field by field with the exact text of each number (`0.0` is not `0`) and
 * the order of the fields, tombstones, header names in order and their bytes. Left out, and only
 * these: source.version, source.ts_ms/ts_us/ts_ns and the envelope's ts_ms/ts_us/ts_ns (times),
 * source.lsn and source.sequence (positions of each connector's own slot and stream), and
 * source.txId of snapshot records (each snapshot is its own transaction); their JSON types must
 * still agree. `__debezium.context.runId` differs per run: both must be UUIDv7s. Debezium runs on
 * Java 21+ when one is installed (see debeziumJava); under an older JVM real and double precision
 * are compared by value, since Java 17 spells some of them with needless digits.
 *
 * The outbox half runs Debezium's EventRouter with table.expand.json.payload beside OutboxRelay
 * with its default cleanup (delete once published): Debezium reads the inserts from the WAL, and
 * the router drops the deletes, so both see the same events; Debezium reads the one snapshot row
 * before the relay starts (and deletes it). Compared: topic, key (Debezium's is the aggregate id
 * as a JSON string, ours its UTF-8 bytes), value bytes and parsed value, the id and type headers.
 * Debezium adds the four `__debezium.context.*` headers to outbox records too; the relay does not:
 * they name a connector task (logical name, task, run), which the relay is not. The payloads keep
 * number types uniform inside arrays of objects: Debezium's expansion infers one schema per array
 * and fails the engine otherwise (`{"price": 19.99}, {"price": 5}`), a Debezium limitation.
 *
 * KP_DIFF_DUMP=/tmp/x writes both sides' records, the report and Debezium's stderr next to /tmp/x.
 */
import { randomBytes } from 'node:crypto';
import type { ConsumedRecord } from '@kafka-pattern/streams-core/client';
import { dropCapture, PostgresCdc } from '@kafka-pattern/topologies/cdc';
import { appendToOutbox, ensureOutboxTable, OutboxRelay } from '@kafka-pattern/topologies/outbox';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { bootstrapServers, collect, deleteTopics, uniqueName } from '../support/kafka.ts';
import { databaseUrl } from '../support/services.ts';
import { teardownAfterEach } from '../support/teardown.ts';
import {
  applyTransactions,
  createCompositeKeyTable,
  createTypesTable,
  generateTransactions,
  type Transaction,
} from './cdc-workload.ts';
import { DebeziumApp, type DebeziumRecord, debeziumJava, debeziumVersion } from './debezium-runner.ts';
import {
  type Difference,
  differences,
  Excluded,
  JsonNumber,
  kindOf,
  parseExact,
  stringifyExact,
} from './exact-json.ts';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const RUN_ID = '__debezium.context.runId';

/** Lower-case letters, digits and underscores: fit for slots, publications, tables and topics. */
function uniqueIdent(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  return client;
}

/** One record of either side, parsed for comparison: numbers as their text, header bytes as hex. */
interface Comparable {
  topic: string;
  key: unknown;
  /** The key's bytes as text (null without a key). */
  keyText: string | null;
  value: unknown;
  /** The value's bytes as text (null: a tombstone). */
  valueText: string | null;
  headers: Array<[string, string | null]>;
}

function fromDebezium(r: DebeziumRecord): Comparable {
  const line = parseExact(r.line) as { key: unknown; value: unknown };
  return {
    topic: r.topic,
    key: line.key,
    keyText: line.key === null ? null : stringifyExact(line.key),
    value: line.value,
    valueText: line.value === null ? null : stringifyExact(line.value),
    headers: r.headers,
  };
}

function fromKafka(r: ConsumedRecord): Comparable {
  const keyText = r.key?.toString('utf8') ?? null;
  const valueText = r.value?.toString('utf8') ?? null;
  return {
    topic: r.topic,
    key: keyText === null ? null : parseExact(keyText),
    keyText,
    value: valueText === null ? null : parseExact(valueText),
    valueText,
    headers: r.headers.toArray().map(([name, bytes]) => [name, bytes.toString('hex')]),
  };
}

/**
 * Java before 19 spells some floats with needless digits (JDK-4511638, `4.11811763E9` for the
 * float `4.1181176E9`); Java 19 and later, which Debezium's images run (Java 21), print the
 * shortest digits, as PostgresCdc does. Under an older JVM the real and double precision columns
 * are compared as the float and double they denote, not as text.
 */
const LEGACY_JAVA_FLOATS = debeziumJava().major < 19;

function floatsByValue(row: unknown): unknown {
  if (!LEGACY_JAVA_FLOATS || row === null || typeof row !== 'object') return row;
  const out = { ...(row as Record<string, unknown>) };
  for (const [column, round] of [
    ['c_real', Math.fround],
    ['c_double', (n: number) => n],
  ] as const) {
    const v = out[column];
    if (v instanceof JsonNumber) out[column] = new JsonNumber(String(round(Number(v.text))));
  }
  return out;
}

/** The envelope with the excluded fields replaced by their JSON type. */
function comparableEnvelope(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const v = { ...(value as Record<string, unknown>) };
  v.before = floatsByValue(v.before);
  v.after = floatsByValue(v.after);
  const exclude = (o: Record<string, unknown>, field: string) => {
    if (field in o) o[field] = new Excluded(kindOf(o[field]));
  };
  for (const f of ['ts_ms', 'ts_us', 'ts_ns']) exclude(v, f);
  if (v.source !== null && typeof v.source === 'object') {
    const source = { ...(v.source as Record<string, unknown>) };
    for (const f of ['version', 'ts_ms', 'ts_us', 'ts_ns', 'lsn', 'sequence']) exclude(source, f);
    if (v.op === 'r') exclude(source, 'txId');
    v.source = source;
  }
  return v;
}

function headerDifferences(dbz: Comparable, ours: Comparable): Difference[] {
  const out: Difference[] = [];
  const names = (c: Comparable) => c.headers.map(([n]) => n).join(', ');
  if (names(dbz) !== names(ours))
    return [{ path: 'headers (names in order)', expected: names(dbz), actual: names(ours) }];
  dbz.headers.forEach(([name, hex], i) => {
    const mine = ours.headers[i]![1];
    const text = (h: string | null) => (h === null ? 'null' : Buffer.from(h, 'hex').toString('utf8'));
    if (name === RUN_ID) {
      if (!UUID_V7.test(text(hex)) || !UUID_V7.test(text(mine)))
        out.push({ path: `headers.${name} (UUIDv7)`, expected: text(hex), actual: text(mine) });
    } else if (hex !== mine) out.push({ path: `headers.${name}`, expected: text(hex), actual: text(mine) });
  });
  return out;
}

/** The differences of one pair of records: topic, key and its bytes, value, headers. */
function recordDifferences(dbz: Comparable, ours: Comparable, compareValue: (v: unknown) => unknown) {
  const out: Difference[] = [];
  if (dbz.topic !== ours.topic) out.push({ path: 'topic', expected: dbz.topic, actual: ours.topic });
  out.push(...differences(dbz.key, ours.key, 'key'));
  if (out.length === 0 && dbz.keyText !== ours.keyText)
    out.push({ path: 'key (bytes)', expected: String(dbz.keyText), actual: String(ours.keyText) });
  out.push(...differences(compareValue(dbz.value), compareValue(ours.value), 'value'));
  // Our bytes are the compact JSON Jackson writes: nothing between the tokens, numbers as parsed.
  if (ours.valueText !== null && stringifyExact(ours.value) !== ours.valueText)
    out.push({
      path: 'value (bytes: not compact JSON)',
      expected: stringifyExact(ours.value),
      actual: ours.valueText,
    });
  out.push(...headerDifferences(dbz, ours));
  return out;
}

function describeRecord(c: Comparable | undefined): string {
  if (!c) return '(none)';
  const op = (c.value as { op?: string } | null)?.op ?? 'tombstone';
  const snap = ((c.value as { source?: { snapshot?: string } } | null)?.source?.snapshot ?? '') as string;
  return `${op}${snap && snap !== 'false' ? ` (snapshot ${snap})` : ''} key ${c.keyText}`;
}

/**
 * Compares the two sides topic by topic, record by record. Returns a report of the first
 * differences (empty when there are none).
 */
function compareTopics(
  dbz: ReadonlyMap<string, Comparable[]>,
  ours: ReadonlyMap<string, Comparable[]>,
  compareValue: (v: unknown) => unknown,
  maxShown = 25,
): { report: string[]; total: number; byPath: Map<string, number> } {
  const report: string[] = [];
  const byPath = new Map<string, number>();
  let total = 0;
  for (const topic of new Set([...dbz.keys(), ...ours.keys()])) {
    const a = dbz.get(topic) ?? [];
    const b = ours.get(topic) ?? [];
    if (a.length !== b.length) {
      total++;
      report.push(`${topic}: Debezium ${a.length} records, ours ${b.length}`);
    }
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const diffs =
        a[i] && b[i]
          ? recordDifferences(a[i]!, b[i]!, compareValue)
          : [{ path: '(record)', expected: describeRecord(a[i]), actual: describeRecord(b[i]) }];
      if (diffs.length === 0) continue;
      total += diffs.length;
      for (const d of diffs) {
        const p = d.path.replace(/\[\d+\]/g, '[]').replace(/^value\.(before|after)\./, 'value.*.');
        byPath.set(p, (byPath.get(p) ?? 0) + 1);
      }
      if (report.length < maxShown) {
        report.push(`${topic} #${i} Debezium ${describeRecord(a[i])} / ours ${describeRecord(b[i])}:`);
        for (const d of diffs.slice(0, 6))
          report.push(`    ${d.path}: Debezium ${d.expected}  ours ${d.actual}`);
        if (diffs.length > 6) report.push(`    … ${diffs.length - 6} more in this record`);
      }
    }
  }
  return { report, total, byPath };
}

function byTopic(records: Comparable[]): Map<string, Comparable[]> {
  const out = new Map<string, Comparable[]>();
  for (const r of records) {
    const list = out.get(r.topic) ?? [];
    list.push(r);
    out.set(r.topic, list);
  }
  return out;
}

/** Our records of each topic once there are at least as many as Debezium's (or the time is up). */
async function readOurs(expected: ReadonlyMap<string, Comparable[]>, timeoutMs = 30_000) {
  const out = new Map<string, Comparable[]>();
  const deadline = Date.now() + timeoutMs;
  for (const [topic, records] of expected) {
    for (;;) {
      const got = await collect(topic, { isolationLevel: 'read_committed', timeoutMs: 10_000 }).catch(
        (e: Error) => {
          if (/does not exist|UNKNOWN_TOPIC/i.test(e.message)) return [];
          throw e;
        },
      );
      got.sort((x, y) => x.partition - y.partition || Number(x.offset - y.offset));
      out.set(topic, got.map(fromKafka));
      if (got.length >= records.length || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return out;
}

function opCounts(records: Comparable[]): string {
  const counts = new Map<string, number>();
  for (const r of records) {
    const op = (r.value as { op?: string } | null)?.op ?? 'tombstone';
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  return [...counts].map(([op, n]) => `${op} ${n}`).join(', ');
}

describe(`PostgresCdc and OutboxRelay against Debezium ${debeziumVersion()}`, () => {
  const teardown = teardownAfterEach();

  it('emit the same records as Debezium for the types table, composite keys, REPLICA IDENTITY FULL, another schema and DDL', async () => {
    const u = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
    const schema = `kp_diff_${u}`;
    const types = `dtypes_${u}`;
    const full = `dfull_${u}`;
    const comp = `dcomp_${u}`;
    const other = `${schema}.items`;
    const marker = `public.dmark_${u}`;
    const tables = [`public.${types}`, `public.${full}`, `public.${comp}`, other, marker];
    const prefix = `kpdiff_${u}`;

    const client = await connect();
    teardown.push(async () => {
      for (const t of tables) await client.query(`DROP TABLE IF EXISTS ${t}`);
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    });
    await createTypesTable(client, types);
    await createTypesTable(client, full);
    await client.query(`ALTER TABLE public.${full} REPLICA IDENTITY FULL`);
    await createCompositeKeyTable(client, comp);
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(
      `CREATE TABLE ${other} (id int PRIMARY KEY, name text, amount numeric(12,3), tags text[], at timestamptz)`,
    );
    await client.query(`CREATE TABLE ${marker} (step text PRIMARY KEY)`);

    // Seed 11 on the table with the default identity, seed 29 on the FULL one. The first
    // transactions of each (the edge rows among them) are there before the captures start.
    const txsA = generateTransactions(11, 130);
    const txsB = generateTransactions(29, 110);
    const [snapA, streamA1, streamA2] = [txsA.slice(0, 30), txsA.slice(30, 80), txsA.slice(80)];
    const [snapB, streamB1, streamB2] = [txsB.slice(0, 20), txsB.slice(20, 65), txsB.slice(65)];
    await applyTransactions(client, types, snapA);
    await applyTransactions(client, full, snapB);
    await client.query(
      `INSERT INTO public.${comp} VALUES ('t1', 1, 10, 'x'), ('t1', 2, 20, 'y'), ('t2', 1, 9223372036854775807, 'z')`,
    );
    await client.query(
      `INSERT INTO ${other} VALUES (1, 'one', 1.5, '{a,b}', '2024-01-01 00:00:00+00'), (2, 'two', -0.001, '{}', NULL)`,
    );

    const dbz = new DebeziumApp({
      databaseUrl: databaseUrl(),
      name: 'dbz',
      topicPrefix: prefix,
      slot: uniqueIdent('dbz_slot'),
      publication: uniqueIdent('dbz_pub'),
      tables,
    });
    teardown.push(() => dbz.stop());
    const offsetsTopic = uniqueName('kp-diff-offsets');
    const ourSlot = uniqueIdent('kp_slot');
    const ourPublication = uniqueIdent('kp_pub');
    const warnings: string[] = [];
    const cdc = new PostgresCdc({
      postgres: databaseUrl(),
      bootstrapServers: bootstrapServers(),
      topicPrefix: prefix,
      tables,
      slotName: ourSlot,
      publicationName: ourPublication,
      offsetsTopic,
      warn: (m) => warnings.push(m),
    });
    teardown.push(async () => {
      await deleteTopics([offsetsTopic, ...tables.map((t) => `${prefix}.${t}`)]).catch(() => undefined);
    });
    teardown.push(() => dropCapture(databaseUrl(), { slotName: ourSlot, publicationName: ourPublication }));
    teardown.push(() => cdc.close());

    await Promise.all([cdc.start(), dbz.started()]);
    // Nothing changes before both snapshots are over: DDL during Debezium's would fail it.
    await Promise.all([cdc.snapshotCompleted(), dbz.snapshotCompleted()]);

    await applyTransactions(client, types, streamA1);
    await applyTransactions(client, full, streamB1);
    const rollback: Transaction = { ops: [{ op: 'delete', id: 1 }], rollback: true };
    await applyTransactions(client, types, [rollback]);
    // Composite key: insert, update, a change of each key column, delete, all in one transaction too.
    await client.query('BEGIN');
    await client.query(`INSERT INTO public.${comp} VALUES ('t3', 7, NULL, NULL)`);
    await client.query(`UPDATE public.${comp} SET value = 'x2', seq = -1 WHERE tenant = 't1' AND id = 1`);
    await client.query('COMMIT');
    await client.query(`UPDATE public.${comp} SET id = 9 WHERE tenant = 't1' AND id = 2`);
    await client.query(
      `UPDATE public.${comp} SET tenant = 't9', value = 'moved' WHERE tenant = 't2' AND id = 1`,
    );
    await client.query(`DELETE FROM public.${comp} WHERE tenant = 't3'`);
    // A text default: JsonConverter writes it for a NULL, in a delete's before too.
    await client.query(`ALTER TABLE public.${comp} ADD COLUMN status text DEFAULT 'it''s new'`);
    await client.query(`UPDATE public.${comp} SET status = NULL WHERE tenant = 't1' AND id = 1`);
    await client.query(`DELETE FROM public.${comp} WHERE tenant = 't1' AND id = 9`);
    await client.query(
      `ALTER TABLE ${other} ADD COLUMN created timestamptz DEFAULT now(), ADD COLUMN flag boolean DEFAULT true, ADD COLUMN p_ts timestamp DEFAULT CURRENT_TIMESTAMP, ADD COLUMN p_ts3 timestamp(3) DEFAULT now(), ADD COLUMN p_date date DEFAULT CURRENT_DATE, ADD COLUMN p_time time DEFAULT LOCALTIME, ADD COLUMN p_uuid uuid DEFAULT gen_random_uuid(), ADD COLUMN p_num numeric(8,2) DEFAULT 1.5, ADD COLUMN p_n numeric DEFAULT '1.50', ADD COLUMN p_big bigint DEFAULT -9, ADD COLUMN p_f float8 DEFAULT 2, ADD COLUMN p_vc varchar(9) DEFAULT 'v', ADD COLUMN p_txt text DEFAULT upper('x'), ADD COLUMN p_js jsonb DEFAULT '{"a": 1}', ADD COLUMN p_seq integer GENERATED BY DEFAULT AS IDENTITY`,
    );
    await client.query(
      `UPDATE ${other} SET created = NULL, flag = NULL, p_ts = NULL, p_ts3 = NULL, p_date = NULL, p_time = NULL, p_uuid = NULL, p_num = NULL, p_n = NULL, p_big = NULL, p_f = NULL, p_vc = NULL, p_txt = NULL, p_js = NULL WHERE id = 1`,
    );
    // Columns added mid-stream, with a default and without; changes before and after follow.
    await client.query(`ALTER TABLE public.${types} ADD COLUMN c_added integer DEFAULT 7`);
    await client.query(`ALTER TABLE public.${full} ADD COLUMN c_note text`);
    await client.query(
      `UPDATE public.${full} SET c_note = 'noted' WHERE id = (SELECT min(id) FROM public.${full})`,
    );
    await applyTransactions(client, types, streamA2);
    await applyTransactions(client, full, streamB2);
    await client.query(
      `UPDATE public.${types} SET c_added = NULL WHERE id = (SELECT max(id) FROM public.${types})`,
    );
    await client.query(
      `INSERT INTO ${other} VALUES (3, 'three', 12345678.125, '{"x y",NULL}', '1999-12-31 23:59:59.5-01')`,
    );
    await client.query(`UPDATE ${other} SET amount = 0, tags = NULL WHERE id = 1`);
    await client.query(`DELETE FROM ${other} WHERE id = 2`);
    await client.query(`INSERT INTO ${marker} VALUES ('END')`);

    await dbz.waitForRecords(1, (r) => r.topic === `${prefix}.${marker}`, 60_000);
    const theirs = byTopic(dbz.records.map(fromDebezium));
    const ours = await readOurs(theirs);
    console.log(
      `Debezium on Java ${debeziumJava().major} (${debeziumJava().java})${LEGACY_JAVA_FLOATS ? ': real and double compared by value' : ''}`,
    );
    const { report, total, byPath } = compareTopics(theirs, ours, comparableEnvelope, 400);
    if (process.env.KP_DIFF_DUMP) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(`${process.env.KP_DIFF_DUMP}.dbz.jsonl`, dbz.records.map((r) => r.line).join('\n'));
      writeFileSync(
        `${process.env.KP_DIFF_DUMP}.ours.jsonl`,
        [...ours.values()]
          .flat()
          .map((r) =>
            JSON.stringify({ topic: r.topic, key: r.keyText, value: r.valueText, headers: r.headers }),
          )
          .join('\n'),
      );
      writeFileSync(`${process.env.KP_DIFF_DUMP}.report.txt`, report.join('\n'));
    }
    if (byPath.size)
      console.log(`differences by path: ${[...byPath].map(([p, n]) => `${p} ×${n}`).join(', ')}`);

    for (const [topic, records] of theirs)
      console.log(`${topic}: ${records.length} records (${opCounts(records)})`);
    // Informational: the positions left out of the comparison, which both slots read from one WAL.
    let lsnSame = 0;
    let lsnAll = 0;
    for (const [topic, records] of theirs)
      records.forEach((r, i) => {
        const mine = ours.get(topic)?.[i];
        const lsn = (c: Comparable | undefined) =>
          ((c?.value as { source?: { lsn?: unknown } } | null)?.source?.lsn as JsonNumber | undefined)?.text;
        if (r.value === null || (r.value as { op?: string }).op === 'r') return;
        lsnAll++;
        if (lsn(r) === lsn(mine)) lsnSame++;
      });
    console.log(`streamed records with the same source.lsn on both sides: ${lsnSame} of ${lsnAll}`);
    if (warnings.length) console.log(`PostgresCdc warnings:\n${warnings.join('\n')}`);
    if (total > 0) console.log(`${total} differences; the first:\n${report.join('\n')}`);
    expect(report, `${total} differences between Debezium and PostgresCdc`).toEqual([]);
    expect(cdc.failure).toBeUndefined();
  }, 170_000);

  it("relays outbox events as Debezium's EventRouter (table.expand.json.payload) routes them", async () => {
    const u = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
    const table = `public.dobox_${u}`;
    const [order, customer, payment, marker] = ['order', 'customer', 'payment', 'marker'].map(
      (t) => `${t}_${u}`,
    );
    const client = await connect();
    const other = await connect();
    teardown.push(async () => {
      await client.query(`DROP TABLE IF EXISTS ${table}`);
      await Promise.all([client.end(), other.end()]);
    });
    await ensureOutboxTable(client, table);
    const append = (
      c: pg.Client,
      aggregateType: string,
      aggregateId: string,
      type: string,
      payload: unknown,
      id?: string,
    ) => appendToOutbox(c, { aggregateType, aggregateId, type, payload, ...(id ? { id } : {}) }, { table });
    // One event before either starts: both publish it from their snapshot.
    await append(client, order!, 'o-0', 'OrderImported', { id: 0, total: 0.5 });

    const dbz = new DebeziumApp({
      databaseUrl: databaseUrl(),
      name: 'dbz',
      slot: uniqueIdent('dbz_slot'),
      publication: uniqueIdent('dbz_pub'),
      tables: [table],
      outbox: true,
      properties: { 'transforms.outbox.table.expand.json.payload': 'true' },
    });
    teardown.push(() => dbz.stop());
    if (process.env.KP_DIFF_DUMP) {
      const { writeFileSync } = await import('node:fs');
      teardown.push(() => writeFileSync(`${process.env.KP_DIFF_DUMP}.outbox.stderr`, dbz.stderr.join('\n')));
    }
    await dbz.started();
    // The relay deletes what it published; Debezium must have read the snapshot row first.
    await dbz.waitForRecords(1, () => true, 90_000);

    const offsetsTopic = uniqueName('kp-diff-outbox-offsets');
    const relay = new OutboxRelay({
      postgres: databaseUrl(),
      bootstrapServers: bootstrapServers(),
      table,
      slotName: uniqueIdent('kp_obx_slot'),
      publicationName: uniqueIdent('kp_obx_pub'),
      offsetsTopic,
    });
    teardown.push(async () => {
      await deleteTopics([
        offsetsTopic,
        ...[order, customer, payment, marker].map((t) => `outbox.event.${t}`),
      ]).catch(() => undefined);
    });
    teardown.push(() =>
      dropCapture(databaseUrl(), { slotName: relay.slotName, publicationName: relay.publicationName }),
    );
    teardown.push(() => relay.close());
    await relay.start();

    const tx = async (c: pg.Client, body: () => Promise<unknown>, rollback = false) => {
      await c.query('BEGIN');
      await body();
      await c.query(rollback ? 'ROLLBACK' : 'COMMIT');
    };
    await tx(client, () =>
      append(client, order!, 'o-1', 'OrderPlaced', {
        id: 1,
        customer: { name: 'Zoë Çelik', address: { city: 'Zürich', lines: ['Bahnhofstr. 1', '8001'] } },
        items: [
          { sku: 'A-1', qty: 2, price: 19.99 },
          { sku: 'B-2', qty: 1, price: 5.25 },
        ],
        total: 44.98,
        note: 'héllo ✓ 😀 中文 "quoted" \\ back\nline',
        paid: false,
      }),
    );
    await tx(client, async () => {
      await append(client, customer!, 'c-1', 'CustomerRegistered', {
        id: 'c-1',
        name: 'Ann',
        tier: 3,
        vip: true,
      });
      await append(client, payment!, 'p-1', 'PaymentAuthorized', { amount: 12.5, currency: 'EUR', fee: 0.1 });
      await append(client, order!, 'o-1', 'OrderPaid', { id: 1, at: '2024-01-02T03:04:05Z', ratio: 1.5e-7 });
    });
    await tx(client, () => append(client, order!, 'o-2', 'OrderPlaced', { id: 2, total: 1 }), true);
    // Two transactions committing out of the order of their ids and inserts.
    await client.query('BEGIN');
    await append(
      client,
      payment!,
      'p-2',
      'PaymentCaptured',
      { amount: 100 },
      '00000000-0000-4000-8000-000000000001',
    );
    await tx(other, () =>
      append(
        other,
        payment!,
        'p-3',
        'PaymentCaptured',
        { amount: 200.25 },
        '00000000-0000-4000-8000-000000000002',
      ),
    );
    await client.query('COMMIT');
    await tx(client, () =>
      append(client, customer!, 'c-2', 'CustomerRenamed', {
        id: 'c-2',
        name: 'Бob',
        aliases: ['b', 'bobby'],
      }),
    );
    await tx(client, () => append(client, marker!, 'end', 'End', { done: true }));

    await dbz.waitForRecords(1, (r) => r.topic === `outbox.event.${marker}`, 60_000);
    const theirs = dbz.records.map(fromDebezium);
    const expected = byTopic(theirs);
    const ours = new Map<string, ConsumedRecord[]>();
    for (const [topic, records] of expected) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const got = await collect(topic, { isolationLevel: 'read_committed', timeoutMs: 10_000 }).catch(
          () => [],
        );
        ours.set(topic, got);
        if (got.length >= records.length || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 250));
      }
    }

    const report: string[] = [];
    const extraHeaders = new Set<string>();
    for (const [topic, records] of expected) {
      const mine = ours.get(topic) ?? [];
      if (mine.length !== records.length)
        report.push(`${topic}: Debezium ${records.length} records, ours ${mine.length}`);
      records.forEach((d, i) => {
        const o = mine[i];
        if (!o) return;
        const where = `${topic} #${i}`;
        // Debezium's key is the aggregate id as a JSON string (JsonConverter); ours its UTF-8 bytes.
        if (d.key !== o.key?.toString('utf8'))
          report.push(`${where} key: Debezium ${JSON.stringify(d.key)} ours ${o.key?.toString('utf8')}`);
        const valueText = o.value?.toString('utf8') ?? null;
        for (const diff of differences(d.value, valueText === null ? null : parseExact(valueText), 'value'))
          report.push(`${where} ${diff.path}: Debezium ${diff.expected} ours ${diff.actual}`);
        if (d.valueText !== valueText)
          report.push(`${where} value bytes: Debezium ${d.valueText} ours ${valueText}`);
        const header = (name: string) => {
          const hex = d.headers.find(([n]) => n === name)?.[1];
          return hex ? Buffer.from(hex, 'hex').toString('utf8') : undefined;
        };
        for (const name of ['id', 'type'])
          if (header(name) !== o.headers.getString(name))
            report.push(
              `${where} header ${name}: Debezium ${header(name)} ours ${o.headers.getString(name)}`,
            );
        for (const [name] of d.headers) if (name !== 'id' && name !== 'type') extraHeaders.add(name);
      });
    }
    console.log(
      `Debezium outbox records: ${theirs.map((r) => `${r.topic.replace(`_${u}`, '')} ${r.keyText}`).join(', ')}`,
    );
    console.log(`Debezium's outbox headers besides id and type: ${[...extraHeaders].join(', ') || 'none'}`);
    console.log(`first Debezium outbox record: ${dbz.records[1]?.line}`);
    console.log(
      `our headers: ${ours
        .get(`outbox.event.${order}`)?.[1]
        ?.headers.toArray()
        .map(([n]) => n)
        .join(', ')}`,
    );
    expect(report).toEqual([]);
    const left = await client.query(`SELECT count(*)::int AS n FROM ${table}`);
    expect(left.rows[0].n).toBe(0);
  });
});
