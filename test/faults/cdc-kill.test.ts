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
import { dropCapture } from '@kafka-pattern/topologies/cdc';
import { type EventOutcome, idempotentConsumer } from '@kafka-pattern/topologies/idempotent-consumer';
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
  readChanges,
  sequenceFigures,
  startCapture,
  VersionWriter,
} from './cdc-support.ts';
import type { CdcAppSpec } from './fixtures/cdc-app.ts';
import { checkOutbox, decodeOutbox, eventId, type OutboxPayload, OutboxWriter } from './outbox-support.ts';
import { type AppProcess, endOffsetSum, figures, killAll, seconds, waitUntil } from './support.ts';

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
      heartbeatIntervalMs: 500,
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
    // Before the clean close the relay catches up: its slot passes everything the writer committed
    // (a relay closed while still behind would leave the rest for its next start, as it should).
    const writtenUpTo = (await admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'))
      .rows[0]!.lsn;
    await waitUntil(
      async () => {
        const { rows } = await admin.query<{ ok: boolean }>(
          'SELECT confirmed_flush_lsn >= $2::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1',
          [slot, writtenUpTo],
        );
        return rows[0]?.ok ? true : undefined;
      },
      60_000,
      'the relay to confirm everything the writer committed',
      200,
      () => app.tail(),
    );
    const closed = await app.stop();
    // Rows still in the outbox after the clean close, and of them those Kafka has.
    const left = (await admin.query<{ id: string }>(`SELECT id FROM ${table}`)).rows.map((r) => r.id);

    const {
      firstSeen,
      duplicates,
      wrong,
      fromRolledBack,
      notCommitted,
      missing,
      outOfOrder,
      committedBeforeSmallerId,
    } = checkOutbox(records, writer);
    const leftPublished = left.filter((i) => firstSeen.has(i)).length;

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
      leftInOutbox: left.length,
      leftPublished,
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
    // Rows are deleted before the slot moves past them: no kill leaves a published row behind.
    expect(left).toEqual([]);
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
