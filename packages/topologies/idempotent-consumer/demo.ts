/**
 * Demo: a ledger consumer receives payments, some of them more than once. A producer retrying
 * after lost acknowledgements sends some payments twice or three times, then the whole topic is
 * delivered again from the start (a consumer group that lost its offsets) after Redis forgot a
 * third of the payments (their TTL expired). Each payment must move its account's balance once.
 * The demo prints the records in, the duplicates Redis skipped and those PostgreSQL caught, the
 * effects applied, and the final balances beside the expected ones.
 *
 * Run: `pnpm demo idempotent-consumer` (it starts the local stack when needed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaStreams, Serdes } from '@kafka-pattern/streams-core';
import { createPlatformaticClientFactory } from '@kafka-pattern/streams-core/client';
import { Redis } from 'ioredis';
import pg from 'pg';
import { localStack } from '../src/support/local-stack.ts';
import { dedupCacheKey, type EventOutcome, idempotentConsumer } from './topology.ts';

interface Payment {
  paymentId: string;
  account: string;
  amountCents: number;
}

const { bootstrapServers, databaseUrl, redisUrl } = localStack();
const run = Date.now().toString(36);
const topic = `payments-${run}`;
const consumerId = `ledger-demo-${run}`;
const accountsTable = `demo_accounts_${run}`;
const entriesTable = `demo_entries_${run}`;
const clients = createPlatformaticClientFactory({ bootstrapServers, clientId: 'idempotent-consumer-demo' });
const postgres = new pg.Pool({ connectionString: databaseUrl });
const redis = new Redis(redisUrl);

const ACCOUNTS = ['alice', 'bob', 'carol', 'dave'];
const payments: Payment[] = Array.from({ length: 30 }, (_, i) => ({
  paymentId: `pay-${run}-${String(i + 1).padStart(2, '0')}`,
  account: ACCOUNTS[i % ACCOUNTS.length]!,
  amountCents: 1_000 + ((i * 337) % 9_000),
}));
// Payments 3, 6, 9, ... are sent twice, 10, 20 and 30 three times: the producer's retries.
const copies = payments.map((_, i) => ((i + 1) % 10 === 0 ? 3 : (i + 1) % 3 === 0 ? 2 : 1));
const sends = payments.flatMap((p, i) => Array.from({ length: copies[i]! }, () => p));
const sentTwice = copies.filter((n) => n === 2).length;
const sentThrice = copies.filter((n) => n === 3).length;

const outcomes: EventOutcome<string>[] = [];
const topology = idempotentConsumer<string, Payment>({
  topic,
  key: Serdes.String(),
  value: Serdes.JSON<Payment>(),
  consumerId,
  eventId: (payment) => payment.paymentId,
  redis,
  postgres,
  handle: async (payment, db) => {
    await db.query(`INSERT INTO ${entriesTable} (payment_id, account, amount_cents) VALUES ($1, $2, $3)`, [
      payment.paymentId,
      payment.account,
      payment.amountCents,
    ]);
    await db.query(
      `INSERT INTO ${accountsTable} (account, balance_cents) VALUES ($1, $2)
       ON CONFLICT (account) DO UPDATE SET balance_cents = ${accountsTable}.balance_cents + EXCLUDED.balance_cents`,
      [payment.account, payment.amountCents],
    );
  },
  onOutcome: (o) => outcomes.push(o),
});

function summary(label: string, records: number, from: number): void {
  const counts = { applied: 0, 'duplicate-cache': 0, 'duplicate-db': 0 };
  for (const o of outcomes.slice(from)) counts[o.result]++;
  console.log(label);
  console.log(`   records in                       ${String(records).padStart(4)}`);
  console.log(`   effects applied                  ${String(counts.applied).padStart(4)}`);
  console.log(`   duplicates skipped by Redis      ${String(counts['duplicate-cache']).padStart(4)}`);
  console.log(`   duplicates caught by PostgreSQL  ${String(counts['duplicate-db']).padStart(4)}`);
}

async function runUntilSettled(applicationId: string, records: number): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), 'kp-idempotent-demo-'));
  const app = new KafkaStreams(topology, { applicationId, bootstrapServers, stateDir });
  const target = outcomes.length + records;
  try {
    await app.start();
    await app.waitForRunning();
    const deadline = Date.now() + 30_000;
    while (outcomes.length < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (outcomes.length < target) {
      console.error(`only ${outcomes.length} of ${target} deliveries settled within 30 s`);
      process.exitCode = 1;
    }
    if (app.metrics().totals.deadLetteredRecords > 0) {
      console.error(`${app.metrics().totals.deadLetteredRecords} records went to ${topic}-dlt`);
      process.exitCode = 1;
    }
  } finally {
    await app.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

const admin = clients.admin();
try {
  console.log(
    `Ledger consumer "${consumerId}" reading ${topic}: PostgreSQL ${databaseUrl}, Redis ${redisUrl}\n`,
  );
  await postgres.query(
    `CREATE TABLE ${accountsTable} (account text PRIMARY KEY, balance_cents bigint NOT NULL)`,
  );
  await postgres.query(
    `CREATE TABLE ${entriesTable} (id bigserial PRIMARY KEY, payment_id text NOT NULL, account text NOT NULL, amount_cents bigint NOT NULL)`,
  );
  await admin.createTopics([{ name: topic, partitions: 3 }]);
  const producer = clients.producer({ clientId: 'idempotent-consumer-demo-producer', idempotent: true });
  await producer.send(
    sends.map((p) => ({ topic, key: Buffer.from(p.account), value: Buffer.from(JSON.stringify(p)) })),
  );
  await producer.close();

  await runUntilSettled(`ledger-demo-${run}`, sends.length);
  summary(
    `1. ${payments.length} payments arrive as ${sends.length} records (${sentTwice} sent twice, ${sentThrice} three times by a retrying producer):`,
    sends.length,
    0,
  );

  // Redis forgets every third payment, as when its TTL expires; then the topic is read again
  // from the start by a group with no committed offsets.
  const forgotten = payments.filter((_, i) => i % 3 === 0);
  await redis.del(...forgotten.map((p) => dedupCacheKey(consumerId, p.paymentId)));
  const replayFrom = outcomes.length;
  await runUntilSettled(`ledger-demo-replay-${run}`, sends.length);
  summary(
    `\n2. the whole topic delivered again from the start, with ${forgotten.length} payments expired from Redis:`,
    sends.length,
    replayFrom,
  );

  const balances = await postgres.query<{ account: string; balance_cents: string }>(
    `SELECT account, balance_cents FROM ${accountsTable} ORDER BY account`,
  );
  const entries = await postgres.query<{ n: string }>(`SELECT count(*) AS n FROM ${entriesTable}`);
  console.log(
    `\nFinal balances (PostgreSQL), ${entries.rows[0]!.n} ledger entries for ${payments.length} payments:`,
  );
  console.log('   account  payments    balance   expected');
  let ok = Number(entries.rows[0]!.n) === payments.length;
  for (const account of ACCOUNTS) {
    const own = payments.filter((p) => p.account === account);
    const expected = own.reduce((s, p) => s + p.amountCents, 0);
    const actual = Number(balances.rows.find((r) => r.account === account)?.balance_cents ?? 0);
    ok &&= actual === expected;
    console.log(
      `   ${account.padEnd(7)}  ${String(own.length).padStart(8)}  ${(actual / 100).toFixed(2).padStart(9)}  ${(expected / 100).toFixed(2).padStart(9)}${actual === expected ? '' : '  WRONG'}`,
    );
  }
  console.log(ok ? '\nEvery payment applied exactly once.' : '\nA payment was lost or applied twice.');
  if (!ok) process.exitCode = 1;
} finally {
  await postgres.query(`DROP TABLE IF EXISTS ${accountsTable}, ${entriesTable}`).catch(() => {});
  await postgres.query('DELETE FROM processed_events WHERE consumer_id = $1', [consumerId]).catch(() => {});
  await redis.del(...payments.map((p) => dedupCacheKey(consumerId, p.paymentId))).catch(() => {});
  await admin.deleteTopics([topic, `${topic}-dlt`]).catch(() => {});
  await admin.close();
  await postgres.end();
  redis.disconnect();
}
