/**
 * The ledger consumer the idempotent-consumer tests run: payments in, one ledger row per applied
 * payment (no unique constraint on the event id, so a second effect would show as a second row),
 * and the checks that every distinct payment has exactly one row and each account the exact
 * balance. The fault tests' child process builds the same topology from here.
 */
import { KafkaStreams, Serdes, type Topology } from '@kafka-pattern/streams-core';
import type { ProducedRecord } from '@kafka-pattern/streams-core/client';
import { type EventOutcome, idempotentConsumer } from '@kafka-pattern/topologies/idempotent-consumer';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import pg from 'pg';
import { bootstrapServers, createTopic, deleteTopics, eventually, produce, uniqueName } from './kafka.ts';
import { databaseUrl, redisUrl } from './services.ts';
import { type Teardown, tempStateDir } from './teardown.ts';

export interface Payment {
  id: string;
  account: string;
  amount: number;
}

/** One record to produce: the payment, and the key it is produced with. */
export interface Delivery {
  key: string;
  payment: Payment;
}

export const EVENT_ID_HEADER = 'event-id';

export async function createLedgerTable(pool: pg.Pool, table: string): Promise<void> {
  await pool.query(
    `CREATE TABLE ${table} (id bigserial PRIMARY KEY, event_id text NOT NULL, account text NOT NULL, amount bigint NOT NULL)`,
  );
}

export interface LedgerTopologyOptions {
  topic: string;
  table: string;
  consumerId: string;
  redis: Redis;
  postgres: pg.Pool;
  ttlMs?: number;
  timeoutMs?: number;
  /** Keeps each transaction open this long after the ledger insert, so faults can land inside it. */
  holdMs?: number;
  /** Runs inside the transaction after the insert (a fault test's stall point). */
  afterInsert?: (payment: Payment) => Promise<void>;
  onOutcome?: (outcome: EventOutcome<string>) => void;
}

/** The event id travels in a header, as producers that stamp their events usually put it. */
export function ledgerTopology(o: LedgerTopologyOptions): Topology {
  return idempotentConsumer<string, Payment>({
    topic: o.topic,
    key: Serdes.String(),
    value: Serdes.JSON<Payment>(),
    consumerId: o.consumerId,
    eventId: (payment, _key, headers) => headers.lastValue(EVENT_ID_HEADER)?.toString() ?? payment.id,
    redis: o.redis,
    postgres: o.postgres,
    handle: async (payment, db) => {
      await db.query(`INSERT INTO ${o.table} (event_id, account, amount) VALUES ($1, $2, $3)`, [
        payment.id,
        payment.account,
        payment.amount,
      ]);
      if (o.holdMs) await db.query('SELECT pg_sleep($1)', [o.holdMs / 1000]);
      await o.afterInsert?.(payment);
    },
    ...(o.ttlMs !== undefined ? { ttlMs: o.ttlMs } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.onOutcome ? { onOutcome: o.onOutcome } : {}),
  });
}

export function paymentRecords(topic: string, deliveries: readonly Delivery[]): ProducedRecord[] {
  return deliveries.map(({ key, payment }) => ({
    topic,
    key: Buffer.from(key),
    value: Buffer.from(JSON.stringify(payment)),
    headers: [[EVENT_ID_HEADER, Buffer.from(payment.id)]],
  }));
}

/**
 * Payments with ids `<prefix>-<n>`, each delivered one to three times, in a shuffled order. A
 * copy is usually keyed by the payment's account, as a redelivery is; sometimes by another key
 * (a producer that re-keys), which puts two copies of one event on different partitions at once.
 */
export function deliveriesArbitrary(
  prefix: string,
  events: { min: number; max: number } = { min: 10, max: 40 },
): fc.Arbitrary<Delivery[]> {
  const accounts = ['acc-1', 'acc-2', 'acc-3', 'acc-4', 'acc-5', 'acc-6'];
  return fc
    .uniqueArray(
      fc.record({
        n: fc.nat({ max: 1_000_000 }),
        account: fc.constantFrom(...accounts),
        amount: fc.integer({ min: 1, max: 1_000 }),
        keys: fc.array(fc.oneof({ weight: 4, arbitrary: fc.constant('') }, fc.constantFrom(...accounts)), {
          minLength: 1,
          maxLength: 3,
        }),
      }),
      { selector: (e) => e.n, minLength: events.min, maxLength: events.max },
    )
    .chain((es) => {
      const copies = es.flatMap((e) =>
        e.keys.map((k) => ({
          key: k || e.account,
          payment: { id: `${prefix}-${e.n}`, account: e.account, amount: e.amount },
        })),
      );
      return fc.shuffledSubarray(copies, { minLength: copies.length, maxLength: copies.length });
    });
}

/** The same, drawn once from a seed: a test's input that a failure message can reproduce. */
export function sampleDeliveries(prefix: string, seed: number, events?: { min: number; max: number }) {
  return fc.sample(deliveriesArbitrary(prefix, events), { seed, numRuns: 1 })[0]!;
}

/** Distinct payments of some deliveries, by id. */
export function distinctPayments(deliveries: readonly Delivery[]): Map<string, Payment> {
  return new Map(deliveries.map((d) => [d.payment.id, d.payment]));
}

export interface LedgerCheck {
  /** Ledger rows of the expected payments. */
  rows: number;
  /** Payments without a ledger row: lost. */
  missing: string[];
  /** Payments with more than one ledger row: a second effect. */
  duplicated: string[];
  /** Accounts whose balance differs from the sum of their distinct payments. */
  wrongBalances: string[];
  /** processed_events rows of the consumer for the expected payments. */
  processed: number;
}

/** Compares the ledger with the distinct payments (ids given by `expected`). */
export async function checkLedger(
  pool: pg.Pool,
  table: string,
  consumerId: string,
  expected: ReadonlyMap<string, Payment>,
): Promise<LedgerCheck> {
  const ids = [...expected.keys()];
  const rows = await pool.query<{ event_id: string; n: string }>(
    `SELECT event_id, count(*) AS n FROM ${table} WHERE event_id = ANY($1) GROUP BY event_id`,
    [ids],
  );
  const counts = new Map(rows.rows.map((r) => [r.event_id, Number(r.n)]));
  const balances = await pool.query<{ account: string; balance: string }>(
    `SELECT account, sum(amount) AS balance FROM ${table} WHERE event_id = ANY($1) GROUP BY account`,
    [ids],
  );
  const want = new Map<string, number>();
  for (const p of expected.values()) want.set(p.account, (want.get(p.account) ?? 0) + p.amount);
  const got = new Map(balances.rows.map((r) => [r.account, Number(r.balance)]));
  const processed = await pool.query<{ n: string }>(
    'SELECT count(*) AS n FROM processed_events WHERE consumer_id = $1 AND event_id = ANY($2)',
    [consumerId, ids],
  );
  return {
    rows: [...counts.values()].reduce((a, b) => a + b, 0),
    missing: ids.filter((id) => !counts.has(id)),
    duplicated: ids.filter((id) => (counts.get(id) ?? 0) > 1),
    wrongBalances: [...want]
      .filter(([a, b]) => got.get(a) !== b)
      .map(([a, b]) => `${a}: ${got.get(a)} != ${b}`),
    processed: Number(processed.rows[0]!.n),
  };
}

/** What a correct ledger checks as, for `expect(...).toEqual(exact(expected))`. */
export function exact(expected: ReadonlyMap<string, Payment>): LedgerCheck {
  return { rows: expected.size, missing: [], duplicated: [], wrongBalances: [], processed: expected.size };
}

/** Tallies outcomes by result. */
export function tally(
  outcomes: ReadonlyArray<Pick<EventOutcome<string>, 'result'>>,
): Record<EventOutcome<string>['result'], number> {
  const out = { applied: 0, 'duplicate-cache': 0, 'duplicate-db': 0 };
  for (const o of outcomes) out[o.result]++;
  return out;
}

/** A Redis database of these tests' own, so flushing it touches nobody else's keys. */
export const REDIS_DB = 11;

export interface LedgerCaseOptions {
  /** Default: a client of REDIS_DB. */
  redis?: Redis;
  /** Default: DATABASE_URL (a proxy in front of it, for outages). */
  postgresUrl?: string;
  ttlMs?: number;
  timeoutMs?: number;
  holdMs?: number;
}

export type LedgerCase = Awaited<ReturnType<typeof ledgerCase>>;

/**
 * One ledger consumer in this process: its topic, ledger table, consumer id and clients, the
 * outcomes it reported, and instances of it to start; all of it removed after the test.
 */
export async function ledgerCase(cleanups: Teardown, name: string, o: LedgerCaseOptions = {}) {
  const topic = await createTopic(uniqueName(`payments-${name}`), 3);
  const table = `ledger_${uniqueName(name).replaceAll('-', '_')}`;
  const consumerId = uniqueName(`ledger-${name}`);
  const applicationId = uniqueName(`idem-${name}`);
  const admin = new pg.Pool({ connectionString: databaseUrl(), max: 2 });
  await createLedgerTable(admin, table);
  const postgres = new pg.Pool({
    connectionString: o.postgresUrl ?? databaseUrl(),
    application_name: consumerId,
  });
  const redis = o.redis ?? new Redis(redisUrl(REDIS_DB));
  redis.on('error', () => {});
  const outcomes: EventOutcome<string>[] = [];
  const apps: KafkaStreams[] = [];
  let delivered = 0;
  cleanups.push(async () => {
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.query('DELETE FROM processed_events WHERE consumer_id = $1', [consumerId]);
    await Promise.allSettled([admin.end(), postgres.end()]);
    redis.disconnect();
    await deleteTopics([topic, ...apps.flatMap((a) => a.internalTopicNames())]).catch(() => {});
  });
  return {
    topic,
    table,
    consumerId,
    applicationId,
    redis,
    admin,
    outcomes,
    get delivered() {
      return delivered;
    },
    async start(): Promise<KafkaStreams> {
      const app = new KafkaStreams(
        ledgerTopology({
          topic,
          table,
          consumerId,
          redis,
          postgres,
          ...(o.ttlMs ? { ttlMs: o.ttlMs } : {}),
          ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
          ...(o.holdMs ? { holdMs: o.holdMs } : {}),
          onOutcome: (outcome) => outcomes.push(outcome),
        }),
        {
          applicationId,
          bootstrapServers: bootstrapServers(),
          // Each instance its own, as two machines would have.
          stateDir: tempStateDir(cleanups, 'kp-idem-'),
          commitIntervalMs: 200,
          client: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 },
        },
      );
      apps.push(app);
      cleanups.push(() => app.close());
      await app.start();
      await app.waitForRunning();
      return app;
    },
    async deliver(deliveries: readonly Delivery[]): Promise<void> {
      await produce(paymentRecords(topic, deliveries));
      delivered += deliveries.length;
    },
    /** Waits until every delivery so far was settled (applied or found a duplicate). */
    settled(timeoutMs = 30_000): Promise<true> {
      return eventually(
        () => (outcomes.length >= delivered ? true : undefined),
        timeoutMs,
        `${delivered} deliveries settled (${outcomes.length} so far)`,
      );
    },
    check: (expected: ReadonlyMap<string, Payment>) => checkLedger(admin, table, consumerId, expected),
    deadLettered: () => apps.reduce((n, a) => n + a.metrics().totals.deadLetteredRecords, 0),
  };
}
