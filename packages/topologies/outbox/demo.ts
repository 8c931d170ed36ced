/**
 * Demo: an order service writes each order and its OrderPlaced event in one transaction; the
 * relay publishes the events from the WAL. Shown: an order whose transaction rolls back (neither row
 * nor event), two transactions on one order that overlap and commit in the opposite order of their
 * inserts (the events arrive in commit order), events committed while the relay is down (published
 * when it is back, none lost), and the outbox rows deleted once Kafka has them. A topology reads the
 * events with their id and type headers.
 *
 * Run: `pnpm demo outbox` (it starts the local stack when needed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaStreams, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { createPlatformaticClientFactory } from '@kafka-pattern/streams-core/client';
import pg from 'pg';
import { dropCapture } from '../cdc/index.ts';
import { localStack } from '../src/support/local-stack.ts';
import { appendToOutbox, OutboxRelay } from './index.ts';

const { bootstrapServers, databaseUrl } = localStack();
const run = Date.now().toString(36);
const outbox = `demo_outbox_${run}`;
const orders = `demo_orders_${run}`;
const amendments = `demo_amendments_${run}`;
const topicPrefix = `demo-${run}.outbox.event`;
const topic = `${topicPrefix}.order`;
const slotName = `kp_demo_outbox_${run}`;
const publicationName = `${slotName}_pub`;
const service = new pg.Client({ connectionString: databaseUrl });
const second = new pg.Client({ connectionString: databaseUrl });
await service.connect();
await second.connect();

const relayOptions = {
  postgres: databaseUrl,
  bootstrapServers,
  table: outbox,
  topicPrefix,
  slotName,
  publicationName,
};

/** The order and its event, in one transaction of `client`; left open when `commit` is 'later'. */
async function placeOrder(
  client: pg.Client,
  orderId: string,
  type: string,
  total: number,
  commit: 'commit' | 'rollback' | 'later',
) {
  await client.query('BEGIN');
  // An amendment is a row of its own, so it does not wait for the lock of an open first transaction.
  if (type === 'OrderAmended')
    await client.query(`INSERT INTO ${amendments} VALUES ($1, $2)`, [orderId, total]);
  else await client.query(`INSERT INTO ${orders} VALUES ($1, $2)`, [orderId, total]);
  const id = await appendToOutbox(
    client,
    { aggregateType: 'order', aggregateId: orderId, type, payload: { orderId, total } },
    { table: outbox },
  );
  if (commit === 'commit') await client.query('COMMIT');
  if (commit === 'rollback') await client.query('ROLLBACK');
  return id;
}

const received: { key: string; type: string; id: string }[] = [];
const builder = new StreamsBuilder();
builder
  .stream(topic, { key: Serdes.String(), value: Serdes.JSON<{ orderId: string; total: number }>() })
  .foreach((key, value, headers) => {
    const type = headers.getString('type') ?? '?';
    const id = headers.getString('id') ?? '?';
    received.push({ key, type, id });
    console.log(`   ${key}  ${type.padEnd(14)} total ${String(value.total).padStart(5)}   id ${id}`);
  });
const admin = createPlatformaticClientFactory({ bootstrapServers }).admin();
const stateDir = mkdtempSync(join(tmpdir(), 'outbox-demo-'));
const app = new KafkaStreams(builder.build(), {
  applicationId: `outbox-demo-${run}`,
  bootstrapServers,
  stateDir,
});

async function until(
  what: string,
  done: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`demo: ${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const outboxRows = async () =>
  (await service.query(`SELECT count(*)::int AS n FROM ${outbox}`)).rows[0].n as number;

try {
  await service.query(`CREATE TABLE ${orders} (id text PRIMARY KEY, total numeric NOT NULL)`);
  await service.query(`CREATE TABLE ${amendments} (order_id text NOT NULL, total numeric NOT NULL)`);
  let relay = new OutboxRelay(relayOptions);
  await relay.start();
  console.log(
    `relay started on table ${outbox} (slot ${slotName}); events on ${topic}, as a topology reads them:`,
  );

  const committed: string[] = [];
  committed.push(await placeOrder(service, 'o-1', 'OrderPlaced', 120, 'commit'));
  await placeOrder(service, 'o-2', 'OrderPlaced', 75, 'rollback');
  // The first transaction inserts its event first but commits last.
  const early = await placeOrder(service, 'o-3', 'OrderPlaced', 30, 'later');
  const late = await placeOrder(second, 'o-3', 'OrderAmended', 35, 'commit');
  await service.query('COMMIT');
  committed.push(late, early);
  // The relay creates the topic with its first event; the topology starts on it then.
  await until(
    'the topic to exist',
    async () => (await admin.describeTopics([topic])).get(topic) !== undefined,
  );
  await app.start();
  await until('the first events', () => received.length >= 3);
  console.log(`   o-3's OrderAmended was inserted after OrderPlaced but committed first, and arrives first`);

  await relay.close();
  console.log('\nrelay stopped; two orders placed while it is down:');
  committed.push(await placeOrder(service, 'o-4', 'OrderPlaced', 10, 'commit'));
  committed.push(await placeOrder(service, 'o-5', 'OrderPlaced', 99, 'commit'));
  relay = new OutboxRelay(relayOptions);
  await relay.start();
  console.log('relay started again:');
  await until('the events placed while down', () => received.length >= 5);
  await until('published rows to be deleted', async () => (await outboxRows()) === 0);
  await relay.close();

  const inOrder = JSON.stringify(received.map((r) => r.id)) === JSON.stringify(committed);
  console.log(
    `\n${received.length} events for ${committed.length} committed orders, in commit order: ${inOrder ? 'yes' : 'NO'}; none for the rolled-back o-2: ${received.every((r) => r.key !== 'o-2') ? 'yes' : 'NO'}; outbox rows left: ${await outboxRows()}.`,
  );
  if (!inOrder) process.exitCode = 1;
} finally {
  await app.close();
  await admin.close();
  rmSync(stateDir, { recursive: true, force: true });
  await dropCapture(databaseUrl, { slotName, publicationName }).catch(() => undefined);
  await service.query(`DROP TABLE IF EXISTS ${outbox}, ${orders}, ${amendments}`);
  await service.end();
  await second.end();
}
