/**
 * Demo: the same 3,000 records sent twice through a proxy that loses acknowledgements, once by
 * the client's default (non-idempotent) producer and once by an idempotent one, and what the
 * broker's own log holds afterwards: records, duplicates, order, and the producer id, epoch and
 * sequence numbers of every batch (DumpLogSegments).
 *
 * Run: `pnpm demo idempotent-producer`. It starts a broker of its own from the Kafka jars (Java
 * 17+), behind the proxy, on free ports, and stops it and deletes its data at the end.
 */
import { createPlatformaticClientFactory } from '@kafka-pattern/streams-core/client';
import { batchRoles, describeValues } from './evidence.ts';
import { type FaultRunReport, produceThroughFaults } from './producer-run.ts';
import { startProxiedBroker } from './proxied-broker.ts';
import type { FaultPlan } from './tcp-proxy.ts';

const RECORDS = 3_000;
const BATCH_SIZE = 100;
const FAULTS: FaultPlan = { dropProduceResponses: 0.25, seed: 7, maxConsecutiveDrops: 2 };

console.log('starting a broker behind the fault proxy (Kafka jars, free ports) ...');
const cluster = await startProxiedBroker();
// Ctrl-C would otherwise leave the broker running until the next run stops it.
process.once('SIGINT', () => {
  void cluster.close().finally(() => process.exit(130));
});
try {
  const clients = createPlatformaticClientFactory({
    bootstrapServers: cluster.bootstrapServers,
    clientId: 'idempotent-producer-demo',
  });
  const run = (topic: string, producer: ReturnType<typeof clients.producer>) =>
    produceThroughFaults({
      cluster,
      clients,
      producer,
      topic,
      records: RECORDS,
      batchSize: BATCH_SIZE,
      faults: FAULTS,
    });

  // The unsafe baseline, for comparison only: nothing in the framework creates a producer
  // without idempotence.
  const unsafeBaseline = clients.producer({ clientId: 'unsafe-baseline-non-idempotent', idempotent: false });
  const baseline = await run('non-idempotent', unsafeBaseline);
  const idempotent = await run('idempotent', clients.producer({ clientId: 'idempotent', idempotent: true }));

  console.log(
    `\n${RECORDS} records (values 0..${RECORDS - 1}) to one partition in ${baseline.sends} batches of ${BATCH_SIZE}, one batch in flight,`,
  );
  console.log(
    `through a proxy at ${cluster.proxy.address} (the broker's advertised listener; the broker itself is at ${cluster.broker.address})`,
  );
  console.log(
    `that drops ${FAULTS.dropProduceResponses * 100} % of produce responses (seed ${FAULTS.seed}, at most ${FAULTS.maxConsecutiveDrops} in a row),`,
  );
  console.log('after the broker wrote the batch, and resets the connection.\n');
  printSummary(baseline, idempotent);
  printBatches('the non-idempotent producer (the unsafe baseline)', baseline);
  printBatches('the idempotent producer', idempotent);
  if (baseline.findings.duplicates === 0) {
    console.error('\nthe baseline wrote no duplicate: the proxy dropped no acknowledgement');
    process.exitCode = 1;
  }
  if (!clean(idempotent)) {
    console.error('\nthe idempotent producer left duplicates, gaps or disorder in the log');
    process.exitCode = 1;
  }
} finally {
  await cluster.close();
  console.log('\nbroker stopped, its data deleted');
}

function clean(r: FaultRunReport): boolean {
  const f = r.findings;
  return f.duplicates === 0 && f.outOfOrder === 0 && f.missing === 0 && f.contiguousSequences;
}

function printSummary(a: FaultRunReport, b: FaultRunReport): void {
  const rows: Array<[string, (r: FaultRunReport) => string | number]> = [
    ['records sent', (r) => r.recordsSent],
    ['acknowledgements dropped', (r) => r.droppedAcks],
    ['records in the log', (r) => r.findings.recordsInLog],
    ['records a consumer reads', (r) => r.readBack.length],
    ['duplicates (extra copies)', (r) => r.findings.duplicates],
    ['values written twice or more', (r) => r.findings.duplicatedValues],
    ['values out of order', (r) => r.findings.outOfOrder],
    ['values missing', (r) => r.findings.missing],
    ['batches sent', (r) => r.sends],
    ['batches in the log', (r) => r.findings.batchesInLog],
    ['producer id/epoch in the log', (r) => r.findings.producers.join(' ')],
    ['sequences contiguous', (r) => (r.findings.contiguousSequences ? 'yes' : 'no')],
  ];
  console.log(`${''.padEnd(30)}${'non-idempotent'.padStart(16)}${'idempotent'.padStart(14)}`);
  for (const [label, value] of rows) {
    console.log(`${label.padEnd(30)}${String(value(a)).padStart(16)}${String(value(b)).padStart(14)}`);
  }
}

function printBatches(label: string, r: FaultRunReport): void {
  console.log(`\n${r.topic}-0 as written by ${label}, from DumpLogSegments --deep-iteration:`);
  console.log('  baseOffset  count  producerId  epoch  baseSequence  lastSequence  values');
  const roles = batchRoles(r.batches);
  r.batches.forEach((b, i) => {
    const role = roles[i] === 'first' ? '' : `   <- ${roles[i]}`;
    console.log(
      `  ${String(b.baseOffset).padStart(10)}  ${String(b.count).padStart(5)}  ${String(b.producerId).padStart(10)}  ${String(b.producerEpoch).padStart(5)}  ${String(b.baseSequence).padStart(12)}  ${String(b.lastSequence).padStart(12)}  ${describeValues(b)}${role}`,
    );
  });
}
