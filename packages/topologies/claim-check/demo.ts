/**
 * The claim check on the local stack: a topology writes scanned documents (a few small, a few of
 * 2 MB) through claimCheckSerde, a second one reads them back through the same serde. It prints,
 * per record, its size on the broker against its size in S3, what the reader got back, and then
 * what the cleanup removes: the object of an upload whose record never came.
 *
 * Run it with `pnpm demo claim-check`.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Headers, KafkaStreams, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { createPlatformaticClientFactory, recordsOf } from '@kafka-pattern/streams-core/client';
import { localStack } from '../src/support/local-stack.ts';
import { claimCheckSerde, cleanupClaims, VALUE_BACKED_HEADER } from './index.ts';

const run = Date.now().toString(36);
const SCANS = `demo-scans-${run}`;
const CLAIMS = `demo-scans-claimed-${run}`;
const CHECKED = `demo-scans-checked-${run}`;
const BUCKET = 'kafka-pattern';
const { bootstrapServers, s3: s3Env } = localStack();
const s3 = new S3Client({
  endpoint: s3Env.endpoint,
  region: s3Env.region,
  forcePathStyle: true,
  credentials: { accessKeyId: s3Env.accessKeyId, secretAccessKey: s3Env.secretAccessKey },
});
await s3.send(new CreateBucketCommand({ Bucket: BUCKET })).catch(() => undefined); // exists already: fine
const serde = claimCheckSerde(Serdes.ByteArray(), { s3, bucket: BUCKET, prefix: 'demo/' });

const documents = [
  { id: 'receipt-1', size: 2_000 },
  { id: 'scan-1', size: 2_000_000 },
  { id: 'receipt-2', size: 40_000 },
  { id: 'scan-2', size: 2_000_000 },
];
const bytesOf = (size: number, seed: number) => {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
};
const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex').slice(0, 16);

const builder = new StreamsBuilder();
builder
  .stream(SCANS, { key: Serdes.String(), value: Serdes.Long() })
  .mapValues((size, id) => bytesOf(size, id.charCodeAt(id.length - 1)) as Uint8Array)
  .to(CLAIMS, { key: Serdes.String(), value: serde });
builder
  .stream(CLAIMS, { key: Serdes.String(), value: serde })
  .mapValues((doc) => `${doc.length} bytes, sha256 ${digest(doc)}`)
  .to(CHECKED, { key: Serdes.String(), value: Serdes.String() });
const topology = builder.build();
console.log(`Kafka at ${bootstrapServers.join(',')}, S3 at ${s3Env.endpoint} (bucket ${BUCKET})\n`);
console.log(topology.describe().toString());

const clients = createPlatformaticClientFactory({ bootstrapServers, clientId: 'claim-check-demo' });
const admin = clients.admin();
const stateDir = mkdtempSync(join(tmpdir(), 'kafka-pattern-claim-check-'));
const app = new KafkaStreams(topology, {
  applicationId: `claim-check-demo-${run}`,
  bootstrapServers,
  processingGuarantee: 'exactly_once_v2',
  stateDir,
});
const read = async (topic: string, count: number) => {
  const reader = clients.partitionReader({
    clientId: 'demo-reader',
    isolationLevel: 'read_committed',
    maxWaitMs: 200,
  });
  reader.assign([{ topic, partition: 0, from: 0n }]);
  const out = [];
  const deadline = Date.now() + 60_000;
  while (out.length < count && Date.now() < deadline) out.push(...recordsOf(await reader.poll()));
  await reader.close();
  return out;
};
try {
  await admin.createTopics([SCANS, CLAIMS, CHECKED].map((name) => ({ name, partitions: 1 })));
  await app.start();
  await app.waitForRunning(60_000);
  const producer = clients.producer({ clientId: 'demo-producer', idempotent: true });
  await producer.send(
    documents.map((d) => {
      const v = Buffer.alloc(8);
      v.writeBigInt64BE(BigInt(d.size));
      return { topic: SCANS, key: Buffer.from(d.id), value: v };
    }),
  );
  await producer.close();

  const onBroker = await read(CLAIMS, documents.length);
  const checked = new Map(
    (await read(CHECKED, documents.length)).map((r) => [r.key!.toString(), r.value!.toString()]),
  );
  console.log(`\n${'document'.padEnd(10)} ${'payload'.padStart(10)} ${'on the broker'.padStart(14)}  in S3`);
  let ok = true;
  for (const r of onBroker) {
    const id = r.key!.toString();
    const doc = documents.find((d) => d.id === id)!;
    const backed = r.value![0] === 1 && !r.headers.has(VALUE_BACKED_HEADER);
    let where = 'nothing (inline)';
    if (backed) {
      const uri = r.value!.subarray(1).toString('utf8');
      const head = await s3.send(
        new HeadObjectCommand({ Bucket: BUCKET, Key: uri.slice(`s3://${BUCKET}/`.length) }),
      );
      where = `${head.ContentLength} bytes at ${uri}`;
    }
    console.log(
      `${id.padEnd(10)} ${String(doc.size).padStart(10)} ${String(r.value!.length).padStart(14)}  ${where}`,
    );
    const expected = `${doc.size} bytes, sha256 ${digest(bytesOf(doc.size, id.charCodeAt(id.length - 1)))}`;
    if (checked.get(id) !== expected) ok = false;
  }
  console.log('\nthe reader got back:');
  for (const d of documents) console.log(`  ${d.id.padEnd(10)} ${checked.get(d.id) ?? '(nothing)'}`);

  // An upload whose record never made it (a send in a transaction that aborted): nothing refers
  // to its object, and the cleanup finds it while the records' objects stay.
  await serde.serializeAsync(CLAIMS, bytesOf(2_000_000, 99), new Headers());
  const report = await cleanupClaims({
    s3,
    bucket: BUCKET,
    prefix: 'demo/',
    bootstrapServers,
    topic: CLAIMS,
    graceMs: 0,
  });
  console.log(
    `\nafter an upload whose record never came: the cleanup read ${report.scannedRecords} records of ${CLAIMS} ` +
      `(retention.ms=${report.retentionMs}), found ${report.listed} objects, ${report.referenced} of them referred to, and deleted ${report.deleted.length}:`,
  );
  for (const uri of report.deleted) console.log(`  ${uri}`);
  ok &&= report.deleted.length === 1 && report.listed === 3 && report.referenced === 2;
  console.log(
    ok
      ? '\nevery payload came back; only references travelled for the big ones'
      : '\nsomething did not arrive',
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  await app.close();
  await admin.deleteTopics([SCANS, CLAIMS, CHECKED]).catch(() => undefined);
  // The demo's topics are gone: so are the records that referred to its objects.
  await cleanupClaims({
    s3,
    bucket: BUCKET,
    prefix: 'demo/',
    bootstrapServers,
    topic: CLAIMS,
    graceMs: 0,
    topicDeleted: true,
  }).catch(() => undefined);
  await admin.close();
  s3.destroy();
  rmSync(stateDir, { recursive: true, force: true });
}
