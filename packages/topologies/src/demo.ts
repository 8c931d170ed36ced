/**
 * The main demo: a word count with exactly-once processing on the local Kafka broker.
 * It creates its topics, writes a few JSON lines and one malformed record, runs the topology
 * until every count has arrived, and prints what came out: the counts, and the malformed record
 * moved aside to the dead-letter topic while the rest flowed on.
 *
 * Run it with `pnpm demo` (or `bash scripts/run.sh demo` on a fresh machine).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaStreams, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { createPlatformaticClientFactory, recordsOf } from '@kafka-pattern/streams-core/client';
import { localStack } from './support/local-stack.ts';

const run = Date.now().toString(36);
const INPUT = `demo-lines-${run}`;
const OUTPUT = `demo-word-counts-${run}`;
const { bootstrapServers } = localStack();

const builder = new StreamsBuilder();
builder
  .stream(INPUT, { key: Serdes.String(), value: Serdes.JSON<{ text: string }>() })
  .flatMapValues((line) => line.text.toLowerCase().split(/\W+/).filter(Boolean))
  .groupBy((_key, word) => word, { key: Serdes.String(), value: Serdes.String() })
  .count({ name: 'word-counts' })
  .toStream()
  .to(OUTPUT, { key: Serdes.String(), value: Serdes.Long() });
const topology = builder.build();

console.log(`Kafka at ${bootstrapServers.join(',')}\n`);
console.log(topology.describe().toString());

const clients = createPlatformaticClientFactory({ bootstrapServers, clientId: 'kafka-pattern-demo' });
const admin = clients.admin();
const stateDir = mkdtempSync(join(tmpdir(), 'kafka-pattern-demo-'));
const app = new KafkaStreams(topology, {
  applicationId: `word-count-demo-${run}`,
  bootstrapServers,
  processingGuarantee: 'exactly_once_v2',
  stateDir,
});
try {
  await admin.createTopics([
    { name: INPUT, partitions: 3 },
    { name: OUTPUT, partitions: 3 },
  ]);
  app.onStateChange((s) => console.log(`state: ${s}`));
  await app.start();
  await app.waitForRunning(60_000);

  const lines = ['The quick brown fox', 'jumps over the lazy dog', 'The dog sleeps; the fox runs'];
  const producer = clients.producer({ clientId: 'demo-producer', idempotent: true });
  await producer.send([
    ...lines.map((text, i) => ({
      topic: INPUT,
      key: Buffer.from(`line-${i}`),
      value: Buffer.from(JSON.stringify({ text })),
    })),
    // Not JSON: it cannot be deserialized, so it goes to the dead-letter topic and the rest flows on.
    { topic: INPUT, key: Buffer.from('line-bad'), value: Buffer.from('{not json') },
  ]);
  await producer.close();
  console.log(`\nwrote ${lines.length} lines and 1 malformed record to ${INPUT}`);

  const expected = new Map<string, number>();
  for (const w of lines.join(' ').toLowerCase().split(/\W+/).filter(Boolean))
    expected.set(w, (expected.get(w) ?? 0) + 1);
  const counts = new Map<string, number>();
  const reader = clients.partitionReader({
    clientId: 'demo-reader',
    isolationLevel: 'read_committed',
    maxWaitMs: 200,
  });
  reader.assign([0, 1, 2].map((partition) => ({ topic: OUTPUT, partition, from: 0n })));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && [...expected].some(([w, n]) => counts.get(w) !== n)) {
    for (const r of recordsOf(await reader.poll()))
      counts.set(r.key!.toString(), Number(r.value!.readBigInt64BE(0)));
  }
  await reader.close();

  console.log(`\nword counts read back from ${OUTPUT} (read_committed):`);
  for (const [word, n] of [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])))
    console.log(`  ${word.padEnd(8)} ${n}`);
  const m = app.metrics();
  console.log(
    `\nprocessed ${m.totals.processedRecords} records, dead-lettered ${m.totals.deadLetteredRecords} (to ${INPUT}-dlt)`,
  );
  const ok = [...expected].every(([w, n]) => counts.get(w) === n);
  console.log(ok ? '\nall counts are exact' : '\nsome counts did not arrive in time');
  process.exitCode = ok ? 0 : 1;
  if (app.state === 'ERROR') {
    console.error(`the application stopped in ERROR: ${String(app.error)}`);
    process.exitCode = 1;
  }
} finally {
  await app.close();
  await admin.deleteTopics([INPUT, OUTPUT, `${INPUT}-dlt`, ...app.internalTopicNames()]).catch(() => {});
  await admin.close();
  rmSync(stateDir, { recursive: true, force: true });
}
