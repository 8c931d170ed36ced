/**
 * Demo: orders are validated under exactly_once_v2; among the good ones are poison records —
 * bytes that are not JSON, an order with a negative amount, and two GBP orders the first version
 * rejects by mistake (it only knows EUR and USD). It prints what went in, what came out and each
 * dead letter with its headers; then "fixes the bug" (a second version that accepts GBP, same
 * application id), re-drives the dead letters the bug caused, and shows the fixed application
 * processing them. The undecodable record and the negative amount stay in the dead-letter topic:
 * they are bad data, not a bug, and re-driving them would only dead-letter them again.
 *
 * Run: `pnpm demo dead-letter` (it starts the local stack when needed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaStreams, SpringDltHeaders } from '@kafka-pattern/streams-core';
import {
  type ConsumedRecord,
  createPlatformaticClientFactory,
  recordsOf,
} from '@kafka-pattern/streams-core/client';
import { localStack } from '../src/support/local-stack.ts';
import { isDeadLetterHeader } from './dead-letters.ts';
import { formatReport, type RedriveFilter, redrive } from './redrive.ts';
import { type Order, validatedOrders } from './topology.ts';

const { bootstrapServers } = localStack();
const clients = createPlatformaticClientFactory({ bootstrapServers, clientId: 'dead-letter-demo' });
const run = Date.now().toString(36);
const ORDERS = `orders-${run}`;
const VALID = `valid-orders-${run}`;
const DLT = `${ORDERS}-dlt`;
const APPLICATION_ID = `order-validation-${run}`;

const order = (orderId: string, customerId: string, amount: number, currency: string) =>
  Buffer.from(JSON.stringify({ orderId, customerId, amount, currency } satisfies Order));
const INPUT: Array<[string, Buffer]> = [
  ['o-1', order('o-1', 'alice', 25, 'EUR')],
  ['o-2', order('o-2', 'bob', 12.5, 'USD')],
  ['o-3', order('o-3', 'carol', 40, 'GBP')],
  ['o-4', Buffer.from('{"orderId":"o-4","customerId":"dave","amount":')],
  ['o-5', order('o-5', 'erin', 99.9, 'EUR')],
  ['o-6', order('o-6', 'frank', -10, 'EUR')],
  ['o-7', order('o-7', 'grace', 15, 'USD')],
  ['o-8', order('o-8', 'heidi', 60, 'GBP')],
  ['o-9', order('o-9', 'ivan', 7, 'EUR')],
  ['o-10', order('o-10', 'judy', 33, 'USD')],
];

async function readAtLeast(topic: string, count: number, timeoutMs = 30_000): Promise<ConsumedRecord[]> {
  const admin = clients.admin();
  const partitions = (await admin.describeTopics([topic])).get(topic)?.partitions ?? 1;
  await admin.close();
  const reader = clients.partitionReader({
    clientId: 'dead-letter-demo-reader',
    isolationLevel: 'read_committed',
    maxWaitMs: 200,
  });
  reader.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, from: 0n })));
  const out: ConsumedRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && out.length < count)
    for (const r of recordsOf(await reader.poll())) out.push(r);
  await reader.close();
  return out;
}

/** A header's value as its convention encodes it: Spring's partition, offset and timestamp are binary. */
function shownHeader(name: string, value: Buffer): string {
  if (name === SpringDltHeaders.originalPartition && value.length === 4)
    return `${value.readInt32BE(0)} (int32)`;
  if (name === SpringDltHeaders.originalOffset && value.length === 8)
    return `${value.readBigInt64BE(0)} (int64)`;
  if (name === SpringDltHeaders.originalTimestamp && value.length === 8) {
    const ms = Number(value.readBigInt64BE(0));
    return `${ms} (int64, ${new Date(ms).toISOString()})`;
  }
  const text = value.toString('utf8');
  if (name === SpringDltHeaders.exceptionStacktrace) {
    const lines = text.split('\n');
    return `${lines[0]} … (${lines.length} lines)`;
  }
  return text;
}

function shownValue(value: Buffer | null): string {
  if (value === null) return 'null';
  const text = value.toString('utf8');
  return /^[\x20-\x7e]*$/.test(text) ? text : `0x${value.toString('hex')}`;
}

async function startApp(currencies: readonly string[], stateDir: string): Promise<KafkaStreams> {
  const app = new KafkaStreams(validatedOrders({ orders: ORDERS, validOrders: VALID, currencies }), {
    applicationId: APPLICATION_ID,
    bootstrapServers,
    processingGuarantee: 'exactly_once_v2',
    stateDir,
  });
  await app.start();
  await app.waitForRunning();
  return app;
}

const admin = clients.admin();
const stateDir = mkdtempSync(join(tmpdir(), 'kp-dead-letter-'));
let internalTopics: string[] = [];
let ok = true;
const expect = (condition: boolean, what: string) => {
  if (condition) return;
  ok = false;
  console.error(`unexpected: ${what}`);
};
try {
  await admin.createTopics([
    { name: ORDERS, partitions: 3 },
    { name: VALID, partitions: 3 },
  ]);
  console.log(`Kafka at ${bootstrapServers.join(',')}; orders in ${ORDERS}, valid orders to ${VALID}\n`);

  console.log('version 1 accepts EUR and USD (exactly_once_v2); its log:');
  const v1 = await startApp(['EUR', 'USD'], stateDir);
  internalTopics = v1.internalTopicNames();
  const producer = clients.producer({ clientId: 'dead-letter-demo-producer', idempotent: true });
  await producer.send(
    INPUT.map(([key, value]) => ({
      topic: ORDERS,
      key: Buffer.from(key),
      value,
      headers: [['trace-id', Buffer.from(`trace-${key}`)]],
    })),
  );
  await producer.close();
  const valid1 = await readAtLeast(VALID, 6);
  const dead = await readAtLeast(DLT, 4);
  await v1.close();
  const m1 = v1.metrics().totals;
  console.log(
    `\nin ${INPUT.length} = out ${valid1.length} (${VALID}) + dead letters ${dead.length} (${DLT}); metrics: processed ${m1.processedRecords}, dead-lettered ${m1.deadLetteredRecords}`,
  );
  expect(valid1.length === 6 && dead.length === 4, 'in = out + dead letters: 10 = 6 + 4');

  for (const d of dead.sort((a, b) =>
    a.key!.toString().localeCompare(b.key!.toString(), 'en', { numeric: true }),
  )) {
    console.log(
      `\ndead letter ${d.key} at ${d.topic}-${d.partition}@${d.offset}, value ${shownValue(d.value)}`,
    );
    for (const [name, value] of d.headers)
      console.log(
        `  ${name.padEnd(36)} ${shownHeader(name, value)}${isDeadLetterHeader(name) ? '' : "   (the producer's own)"}`,
      );
  }

  // Only the bug's dead letters: the GBP orders. The rest are bad data.
  const filter: RedriveFilter = { exception: 'InvalidOrderError', message: 'currency' };
  const preview = await redrive({
    dlt: DLT,
    bootstrapServers,
    filter,
    dryRun: true,
    groupId: `${DLT}.preview`,
  });
  console.log(
    `\nbefore the fix, a dry run of the re-drive (--exception InvalidOrderError --message currency):`,
  );
  console.log(formatReport(preview));

  console.log(
    "\nthe fix: version 2 accepts GBP too; it takes over the application id and continues from v1's offsets",
  );
  const v2 = await startApp(['EUR', 'USD', 'GBP'], stateDir);
  const report = await redrive({ dlt: DLT, bootstrapServers, filter });
  console.log(
    `\nthe re-drive, as \`node packages/topologies/dead-letter/redrive.ts --dlt ${DLT} --exception InvalidOrderError --message currency\` runs it:`,
  );
  console.log(formatReport(report));
  expect(report.redriven === 2 && report.skipped === 2, 're-drove 2 (the GBP orders), skipped 2');

  const valid2 = await readAtLeast(VALID, valid1.length + report.redriven);
  const seen = new Set(valid1.map((r) => `${r.partition}@${r.offset}`));
  const processed = valid2.filter((r) => !seen.has(`${r.partition}@${r.offset}`));
  await v2.close();
  const m2 = v2.metrics().totals;
  console.log(
    `\nversion 2 processed ${m2.processedRecords} re-driven orders, dead-lettered ${m2.deadLetteredRecords}:`,
  );
  for (const r of processed) {
    const o = JSON.parse(r.value!.toString()) as Order;
    console.log(
      `  ${o.orderId} ${o.customerId} ${o.amount} ${o.currency} (trace-id ${r.headers.getString('trace-id')})`,
    );
  }
  const deadAfter = await readAtLeast(DLT, dead.length, 5_000);
  console.log(
    `\n${VALID} now holds ${valid2.length} orders; ${DLT} still holds ${deadAfter.length} dead letters (the re-driven ones stay there as the record of what happened; ${report.groupId} has moved past them)`,
  );
  expect(
    processed.length === 2 && m2.deadLetteredRecords === 0,
    'version 2 processed the 2 re-driven orders',
  );
  for (const app of [v1, v2])
    if (app.state === 'ERROR') {
      ok = false;
      console.error(`the application stopped in ERROR: ${String(app.error)}`);
    }
  process.exitCode = ok ? 0 : 1;
} finally {
  await admin.deleteTopics([ORDERS, VALID, DLT, ...internalTopics]).catch(() => {});
  await admin.deleteGroups([APPLICATION_ID, `${DLT}.redrive`, `${DLT}.preview`]).catch(() => {});
  await admin.close();
  rmSync(stateDir, { recursive: true, force: true });
}
