/**
 * The change capture SIGKILLed mid-stream, three times, while a writer commits a stream of
 * transactions, and restarted each time:
 *
 * - PostgresCdc under at_least_once: per key, the versions on Kafka are the committed sequence
 *   in order with nothing missing; a repeat is only an exact repeat of a contiguous run after a
 *   kill. The slot's confirmed_flush_lsn, read after each kill and after the clean close, never
 *   covers a transaction Kafka lacked then (commit end LSNs from a test_decoding slot). After a
 *   clean close a restart repeats nothing.
 * - PostgresCdc under exactly_once_v2: read read_committed, exactly the committed sequence per
 *   key, no repeat at all, although one kill lands after Kafka committed a batch and before the
 *   slot heard of it.
 * - OutboxRelay under at_least_once: every committed event on Kafka at least once, per aggregate
 *   in commit order (also where a transaction with later ids committed first), nothing of a
 *   rolled-back transaction; a redelivered event carries the same `id` header; and the
 *   idempotent consumer over the topic, deduplicating by that header, applies each event once
 *   (one ledger row per event, exact sums) despite the redeliveries.
 *
 * One kill of each case is placed deterministically where a duplicate comes from: the child
 * freezes right after Kafka acknowledged a batch and before it confirms it to the slot
 * (fixtures/cdc-app.ts, `freezeAfterAcks`), and is killed there. The other two land wherever the
 * stream is.
 */
import { KafkaStreams, Serdes } from '@kafka-pattern/streams-core';
import type { ConsumedRecord } from '@kafka-pattern/streams-core/client';
import { dropCapture } from '@kafka-pattern/topologies/cdc';
import { type EventOutcome, idempotentConsumer } from '@kafka-pattern/topologies/idempotent-consumer';
import { appendToOutbox } from '@kafka-pattern/topologies/outbox';
import { Redis } from 'ioredis';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { REDIS_DB } from '../support/idempotent-ledger.ts';
import { bootstrapServers, collect, createTopics, deleteTopics, uniqueName } from '../support/kafka.ts';
import { databaseUrl, redisUrl } from '../support/services.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';
import {
  type CdcCase,
  type ConfirmedAt,
  caughtUp,
  cdcCase,
  checkSequences,
  confirmedAfterStop,
  confirmedButMissing,
  createOracleSlot,
  formatLsn,
  oracleCommits,
  PARTITIONS,
  pushTo,
  readChanges,
  sequenceFigures,
  startCapture,
  VersionWriter,
} from './cdc-support.ts';
import type { CdcAppSpec } from './fixtures/cdc-app.ts';
import { type AppProcess, endOffsetSum, figures, killAll, seconds, sleep, waitUntil } from './support.ts';

const teardown = teardownAfterEach();

const KEYS = 300;
const PACE_MS = 2;
/** Records the capture must have added since its (re)start before it is killed. */
const GROWTH = 800;
/** Batches Kafka acknowledges before the freezing child stops dead. */
const FREEZE_AFTER = 8;

/**
 * Kills the capture three times mid-stream: the first and third wherever it is once it has added
 * GROWTH records, the second frozen between a Kafka acknowledgement and the slot confirmation.
 * Each kill is followed by the slot's position (once released) and Kafka's end offsets, and a
 * restart. Returns the capture last started.
 */
async function killThreeTimes(
  spec: CdcAppSpec,
  topic: string,
  admin: pg.Pool,
  name: string,
  first: AppProcess,
): Promise<{ app: AppProcess; stops: ConfirmedAt[]; frozenAt: string }> {
  let app = first;
  const stops: ConfirmedAt[] = [];
  let frozenAt = '';
  for (let k = 1; k <= 3; k++) {
    if (k === 2) {
      const frozen = await app.waitForEvent((e) => e.event === 'frozen', 60_000, 'frozen after a Kafka ack');
      frozenAt = frozen.lsn as string;
    } else {
      const from = await endOffsetSum(topic);
      await waitUntil(
        async () => ((await endOffsetSum(topic)) >= from + GROWTH ? true : undefined),
        60_000,
        `${GROWTH} more records from ${app.name}`,
        100,
        () => app.tail(),
      );
    }
    await app.kill();
    stops.push(await confirmedAfterStop(admin, spec.slotName, topic, `kill ${k}`));
    app = await startCapture(k === 1 ? { ...spec, freezeAfterAcks: FREEZE_AFTER } : spec, `${name} ${k}`);
  }
  return { app, stops, frozenAt };
}

async function cdcUnderKills(guarantee: 'at_least_once' | 'exactly_once_v2') {
  const started = Date.now();
  const eos = guarantee === 'exactly_once_v2';
  const tag = eos ? 'cdckill-eos' : 'cdckill-alos';
  const isolation = eos ? 'read_committed' : 'read_uncommitted';
  const c: CdcCase = await cdcCase(teardown, tag);
  const topic = `${c.topicPrefix}.public.${c.table}`;
  const spec = c.spec(guarantee);
  await createOracleSlot(c.admin, c.oracle);
  const first = await startCapture(spec, `${tag} capture 0`);

  const writer = new VersionWriter(c.table, KEYS, eos ? 7 : 3);
  writer.start(PACE_MS);
  let app: AppProcess;
  let stops: ConfirmedAt[];
  let frozenAt: string;
  try {
    ({ app, stops, frozenAt } = await killThreeTimes(spec, topic, c.admin, `${tag} capture`, first));
    // The last capture streams a while before the writer stops.
    const from = await endOffsetSum(topic);
    await waitUntil(
      async () => ((await endOffsetSum(topic)) >= from + GROWTH ? true : undefined),
      60_000,
      'more records',
    );
  } finally {
    await writer.stop();
  }
  let rows = await waitUntil(
    async () => {
      const r = await readChanges(topic, isolation);
      return caughtUp(r, writer.expected) ? r : undefined;
    },
    60_000,
    'every committed change on Kafka',
    1_000,
    () => app.tail(),
  );

  // A clean close confirms everything; a capture started after it repeats nothing.
  const closed = await app.stop();
  const afterClose = await confirmedAfterStop(c.admin, c.slot, topic, 'clean close');
  stops.push(afterClose);
  rows = await readChanges(topic, isolation);
  const commits = await oracleCommits(c.admin, c.oracle, c.table);
  const again = await startCapture(spec, `${tag} capture after close`);
  await c.admin.query(`INSERT INTO ${c.table} (k, version) VALUES (-1, 1)`);
  const afterRestart = await waitUntil(
    async () => {
      const r = await readChanges(topic, isolation);
      return r.some((x) => x.key === -1) ? r : undefined;
    },
    60_000,
    'the sentinel change after the restart',
    500,
    () => again.tail(),
  );
  await again.stop();
  const newAfterClose = afterRestart.filter((r) => r.offset >= (afterClose.ends[r.partition] ?? 0n));

  const check = checkSequences(rows, writer.expected);
  const missing = stops.flatMap((s) => confirmedButMissing(rows, commits, s));
  const lastEnd = commits.at(-1)?.end ?? 0n;
  figures(`cdc kill ${guarantee}`, {
    transactions: writer.committed,
    rolledBack: writer.rolledBack,
    records: rows.length,
    ...sequenceFigures(check),
    kills: 3,
    frozenAt,
    confirmedAtStops: stops.map((s) => formatLsn(s.confirmed)),
    lastCommitEnd: formatLsn(lastEnd),
    confirmedButMissing: missing.length,
    newAfterCleanRestart: newAfterClose.length,
    durationS: seconds(started),
  });

  expect(check.violations).toEqual([]);
  expect(check.incomplete).toEqual([]);
  expect(check.unexpected).toEqual([]);
  expect(check.splitKeys).toEqual([]);
  expect(check.missingTombstones).toBe(0);
  // The oracle saw exactly the transactions the writer committed.
  expect(commits.length).toBe(writer.committed);
  expect(commits.reduce((n, x) => n + x.changes.length, 0)).toBe(writer.changes);
  // The slot never confirmed a transaction Kafka did not have, and after the clean close it
  // confirmed everything.
  expect(missing).toEqual([]);
  expect(afterClose.confirmed).toBeGreaterThanOrEqual(lastEnd);
  expect(closed).toBe(true);
  // After the clean close, the restarted capture added the sentinel and nothing else.
  expect(newAfterClose.map((r) => `${r.key}:${r.label}`)).toEqual(['-1:c1']);
  return check;
}

// ---------------------------------------------------------------------------------------------
// The outbox
// ---------------------------------------------------------------------------------------------

const AGGREGATES = 20;

interface OutboxPayload {
  aggregate: string;
  /** Per aggregate, in the order the events were appended. */
  seq: number;
  /** Unique over the run: which event a record is. */
  n: number;
  amount: number;
}

/** Ordered ids: a later event has a larger id, so "commits out of id order" has a meaning. */
const eventId = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/**
 * Appends events through appendToOutbox in transactions of 1-3 events: some rolled back, and
 * every 12th round a pair on two connections where the transaction that appended first (smaller
 * ids) commits second. `order` holds per aggregate the ids in commit order.
 */
class OutboxWriter {
  readonly order = new Map<string, string[]>();
  readonly committed = new Map<string, OutboxPayload>();
  readonly rolledBack = new Set<string>();
  pairs = 0;
  #a: pg.Client | undefined;
  #b: pg.Client | undefined;
  #n = 0;
  #round = 0;
  #seq = new Map<string, number>();
  #stop = false;
  #loop: Promise<void> | undefined;

  readonly table: string;

  constructor(table: string) {
    this.table = table;
  }

  start(paceMs: number): void {
    this.#loop = (async () => {
      this.#a = new pg.Client({ connectionString: databaseUrl() });
      this.#b = new pg.Client({ connectionString: databaseUrl() });
      await Promise.all([this.#a.connect(), this.#b.connect()]);
      while (!this.#stop) {
        await this.round();
        await sleep(paceMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#loop;
    await Promise.allSettled([this.#a?.end(), this.#b?.end()]);
  }

  #aggregate(): string {
    return `agg-${Math.floor(Math.random() * AGGREGATES)}`;
  }

  async #append(client: pg.Client, aggregate: string): Promise<[string, OutboxPayload]> {
    const n = ++this.#n;
    const seq = (this.#seq.get(aggregate) ?? 0) + 1;
    this.#seq.set(aggregate, seq);
    const payload: OutboxPayload = { aggregate, seq, n, amount: 1 + (n % 97) };
    const id = await appendToOutbox(
      client,
      { aggregateType: 'order', aggregateId: aggregate, type: 'OrderPaid', payload, id: eventId(n) },
      { table: this.table },
    );
    return [id, payload];
  }

  #committedNow(events: [string, OutboxPayload][]): void {
    for (const [id, p] of events) {
      this.committed.set(id, p);
      pushTo(this.order, p.aggregate, id);
    }
  }

  async round(): Promise<void> {
    const a = this.#a!;
    if (++this.#round % 12 === 0) {
      const shared = this.#aggregate();
      await a.query('BEGIN');
      const first = [await this.#append(a, shared), await this.#append(a, this.#aggregate())];
      await this.#b!.query('BEGIN');
      const second = [await this.#append(this.#b!, shared)];
      await this.#b!.query('COMMIT');
      this.#committedNow(second);
      await a.query('COMMIT');
      this.#committedNow(first);
      this.pairs++;
      return;
    }
    await a.query('BEGIN');
    const events: [string, OutboxPayload][] = [];
    const count = 1 + Math.floor(Math.random() * 3);
    for (let i = 0; i < count; i++) events.push(await this.#append(a, this.#aggregate()));
    if (Math.random() < 0.08) {
      await a.query('ROLLBACK');
      for (const [id] of events) this.rolledBack.add(id);
    } else {
      await a.query('COMMIT');
      this.#committedNow(events);
    }
  }
}

interface OutboxRecord {
  partition: number;
  offset: bigint;
  aggregate: string;
  id: string;
  type: string;
  payload: OutboxPayload;
}

function decodeOutbox(records: readonly ConsumedRecord[]): OutboxRecord[] {
  const header = (r: ConsumedRecord, name: string) => r.headers.lastValue(name)?.toString('utf8') ?? '';
  return [...records]
    .sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0))
    .map((r) => ({
      partition: r.partition,
      offset: r.offset,
      aggregate: r.key!.toString('utf8'),
      id: header(r, 'id'),
      type: header(r, 'type'),
      payload: JSON.parse(r.value!.toString()) as OutboxPayload,
    }));
}

describe('change capture SIGKILLed mid-stream three times', () => {
  it('PostgresCdc at_least_once: per key nothing lost and order kept, repeats only as whole runs after a kill, the slot never ahead of Kafka', async () => {
    const check = await cdcUnderKills('at_least_once');
    // The frozen kill left a batch in Kafka that the slot had not confirmed: it came again.
    expect(check.repeats).toBeGreaterThan(0);
    expect(check.maxRestartsPerKey).toBeLessThanOrEqual(3);
  });

  it('PostgresCdc exactly_once_v2: read_committed shows exactly the committed sequence per key', async () => {
    const check = await cdcUnderKills('exactly_once_v2');
    expect(check.repeats).toBe(0);
    expect(check.restarts).toBe(0);
  });

  it('OutboxRelay at_least_once: every committed event at least once in commit order, none rolled back, and the idempotent consumer applies each once', async () => {
    const started = Date.now();
    const id = uniqueName('obkill').replaceAll('-', '_');
    const table = `ob_${id}`;
    const slot = `s_${id}`;
    const publication = `p_${id}`;
    const offsetsTopic = `obkill-offsets-${id}`;
    const topicPrefix = `obkill-${id}`;
    const topic = `${topicPrefix}.order`;
    const consumerId = uniqueName('obkill-ledger');
    const ledger = `ledger_${id}`;
    const admin = new pg.Pool({ connectionString: databaseUrl(), max: 3 });
    admin.on('error', () => undefined);
    const redis = new Redis(redisUrl(REDIS_DB));
    redis.on('error', () => undefined);
    const postgres = new pg.Pool({ connectionString: databaseUrl(), application_name: consumerId });
    const apps: KafkaStreams[] = [];
    teardown.push(async () => {
      await dropCapture(databaseUrl(), { slotName: slot, publicationName: publication }).catch((e) =>
        console.warn(`[faults] dropCapture: ${e}`),
      );
      await admin.query(`DROP TABLE IF EXISTS ${table}, ${ledger}`).catch(() => undefined);
      await admin
        .query('DELETE FROM processed_events WHERE consumer_id = $1', [consumerId])
        .catch(() => undefined);
      await deleteTopics([topic, offsetsTopic, ...apps.flatMap((a) => a.internalTopicNames())]).catch(
        () => undefined,
      );
      await Promise.allSettled([admin.end(), postgres.end()]);
      redis.disconnect();
    });
    teardown.push(() => killAll());
    await createTopics([{ name: topic, partitions: PARTITIONS }]);
    const spec: CdcAppSpec = {
      kind: 'outbox',
      postgres: databaseUrl(),
      bootstrapServers: bootstrapServers(),
      slotName: slot,
      publicationName: publication,
      guarantee: 'at_least_once',
      offsetsTopic,
      partitions: PARTITIONS,
      table: `public.${table}`,
      topicPrefix,
    };
    const first = await startCapture(spec, 'relay 0');
    const writer = new OutboxWriter(`public.${table}`);
    writer.start(PACE_MS);
    let app: AppProcess;
    let frozenAt: string;
    try {
      ({ app, frozenAt } = await killThreeTimes(spec, topic, admin, 'relay', first));
      const from = await endOffsetSum(topic);
      await waitUntil(
        async () => ((await endOffsetSum(topic)) >= from + GROWTH / 2 ? true : undefined),
        60_000,
        'more events',
      );
    } finally {
      await writer.stop();
    }
    const records = await waitUntil(
      async () => {
        const r = decodeOutbox(
          await collect(topic, { isolationLevel: 'read_uncommitted', timeoutMs: 30_000 }),
        );
        const ids = new Set(r.map((x) => x.id));
        return [...writer.committed.keys()].every((i) => ids.has(i)) ? r : undefined;
      },
      60_000,
      'every committed event on Kafka',
      1_000,
      () => app.tail(),
    );
    const closed = await app.stop();
    const leftInOutbox = Number((await admin.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

    // Kafka against the writer.
    const firstSeen = new Map<string, OutboxRecord>();
    const duplicates: OutboxRecord[] = [];
    const wrong: string[] = [];
    for (const r of records) {
      const want = eventId(r.payload.n);
      if (r.id !== want) wrong.push(`event n=${r.payload.n} carries id ${r.id}, appended as ${want}`);
      if (r.type !== 'OrderPaid' || r.aggregate !== r.payload.aggregate)
        wrong.push(`event ${r.id}: type ${r.type}, key ${r.aggregate}`);
      if (firstSeen.has(r.id)) duplicates.push(r);
      else firstSeen.set(r.id, r);
    }
    const fromRolledBack = [...firstSeen.keys()].filter((i) => writer.rolledBack.has(i));
    const notCommitted = [...firstSeen.keys()].filter((i) => !writer.committed.has(i));
    const missing = [...writer.committed.keys()].filter((i) => !firstSeen.has(i));
    const outOfOrder: string[] = [];
    for (const [aggregate, ids] of writer.order) {
      const got = records
        .filter((r) => r.aggregate === aggregate && firstSeen.get(r.id) === r)
        .map((r) => r.id);
      if (got.join() !== ids.join()) outOfOrder.push(aggregate);
    }
    // A pair's later-id transaction committed first: its event precedes the earlier id on Kafka.
    const committedBeforeSmallerId = [...writer.order.values()].reduce(
      (n, ids) => n + ids.filter((x, i) => i > 0 && x < ids[i - 1]!).length,
      0,
    );

    // The idempotent consumer over the topic, deduplicating by the `id` header.
    await admin.query(
      `CREATE TABLE ${ledger} (id bigserial PRIMARY KEY, event_id text NOT NULL, aggregate text NOT NULL, amount bigint NOT NULL)`,
    );
    const outcomes: EventOutcome<string>[] = [];
    const consumer = new KafkaStreams(
      idempotentConsumer<string, OutboxPayload>({
        topic,
        key: Serdes.String(),
        value: Serdes.JSON<OutboxPayload>(),
        consumerId,
        eventId: (_v, _k, headers) => headers.lastValue('id')!.toString(),
        redis,
        postgres,
        handle: async (p, db) => {
          await db.query(`INSERT INTO ${ledger} (event_id, aggregate, amount) VALUES ($1, $2, $3)`, [
            eventId(p.n),
            p.aggregate,
            p.amount,
          ]);
        },
        onOutcome: (o) => outcomes.push(o),
      }),
      {
        applicationId: uniqueName('obkill-consumer'),
        bootstrapServers: bootstrapServers(),
        stateDir: tempStateDir(teardown, 'kp-obkill-'),
        commitIntervalMs: 200,
      },
    );
    apps.push(consumer);
    teardown.push(() => consumer.close());
    await consumer.start();
    await waitUntil(
      () => (outcomes.length >= records.length ? true : undefined),
      60_000,
      `${records.length} deliveries settled`,
      200,
      () => `${outcomes.length} settled`,
    );
    const counts = await admin.query<{ event_id: string; n: string }>(
      `SELECT event_id, count(*) AS n FROM ${ledger} GROUP BY event_id`,
    );
    const perEvent = new Map(counts.rows.map((r) => [r.event_id, Number(r.n)]));
    const sums = await admin.query<{ aggregate: string; total: string }>(
      `SELECT aggregate, sum(amount) AS total FROM ${ledger} GROUP BY aggregate`,
    );
    const want = new Map<string, number>();
    for (const p of writer.committed.values()) want.set(p.aggregate, (want.get(p.aggregate) ?? 0) + p.amount);
    const wrongSums = sums.rows
      .filter((r) => Number(r.total) !== want.get(r.aggregate))
      .map((r) => r.aggregate);
    const results = { applied: 0, 'duplicate-cache': 0, 'duplicate-db': 0 };
    for (const o of outcomes) results[o.result]++;

    figures('outbox relay kill at_least_once', {
      committedEvents: writer.committed.size,
      rolledBackEvents: writer.rolledBack.size,
      outOfOrderPairs: writer.pairs,
      committedBeforeSmallerId,
      records: records.length,
      duplicates: duplicates.length,
      missing: missing.length,
      fromRolledBack: fromRolledBack.length,
      aggregatesOutOfOrder: outOfOrder.length,
      frozenAt,
      leftInOutbox,
      ...results,
      ledgerRows: [...perEvent.values()].reduce((a, b) => a + b, 0),
      durationS: seconds(started),
    });

    expect(wrong).toEqual([]);
    expect(missing).toEqual([]);
    expect(fromRolledBack).toEqual([]);
    expect(notCommitted).toEqual([]);
    expect(outOfOrder).toEqual([]);
    expect(writer.pairs).toBeGreaterThan(0);
    expect(committedBeforeSmallerId).toBeGreaterThan(0);
    expect(closed).toBe(true);
    // The kills did produce redeliveries, each with the id its first copy had (checked above).
    expect(duplicates.length).toBeGreaterThan(0);
    // Effectively once: one ledger row per committed event, exact sums, every duplicate skipped.
    expect([...perEvent.values()].filter((n) => n !== 1)).toEqual([]);
    expect(perEvent.size).toBe(writer.committed.size);
    expect([...perEvent.keys()].filter((e) => !writer.committed.has(e))).toEqual([]);
    expect(wrongSums).toEqual([]);
    expect(results.applied).toBe(writer.committed.size);
    expect(results['duplicate-cache'] + results['duplicate-db']).toBe(duplicates.length);
  });
});
