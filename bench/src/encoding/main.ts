/**
 * What record-batch encoding costs in the client and in one pass: the same batches of the
 * bench's ~100-byte orders (1,000 records, one partition) encoded by the client's
 * `createRecordsBatch` and by `encodeRecordBatch`, bytes checked equal, then timed alternately.
 * Prints nanoseconds per record and the share of a second of CPU each leaves to the rest.
 *
 *   node bench/src/encoding/main.ts [--batches 2000] [--records 1000]
 */
import { parseArgs } from 'node:util';
import { createRecordsBatch } from '@platformatic/kafka';
import { orderRecord } from '../stateless/workload.ts';
import { type BatchMessage, encodeRecordBatch } from './record-batch.ts';

const { values: args } = parseArgs({
  options: { batches: { type: 'string', default: '2000' }, records: { type: 'string', default: '1000' } },
});
const BATCHES = Number(args.batches);
const RECORDS = Number(args.records);
if (!(BATCHES > 0) || !(RECORDS > 0)) throw new Error('--batches and --records take positive numbers');

const now = BigInt(Date.now());
const batch: BatchMessage[] = Array.from({ length: RECORDS }, (_, i) => {
  const r = orderRecord(i);
  return { key: Buffer.from(r.key), value: Buffer.from(r.value), timestamp: now + BigInt(i % 7) };
});
const options = { producerId: 1234n, producerEpoch: 0, firstSequence: 0, transactional: false };
const client = () =>
  createRecordsBatch(
    batch.map((m) => ({ ...m, topic: 'orders', partition: 0 })) as never,
    {
      producerId: 1234n,
      producerEpoch: 0,
      sequences: { getWithDefault: () => 0 },
    } as never,
  ).buffer;
const onePass = () => encodeRecordBatch(batch, options);

if (!client().equals(onePass())) throw new Error('the two encoders disagree: fix record-batch.ts first');

function time(encode: () => Buffer, batches: number): number {
  const started = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < batches; i++) bytes += encode().length;
  if (bytes === 0) throw new Error('nothing encoded');
  return Number(process.hrtime.bigint() - started) / (batches * RECORDS);
}

// Warm both up, then alternate rounds so neither always runs on a colder or hotter machine.
time(client, Math.ceil(BATCHES / 4));
time(onePass, Math.ceil(BATCHES / 4));
const rounds = 5;
const ns = { client: [] as number[], onePass: [] as number[] };
for (let r = 0; r < rounds; r++) {
  ns.client.push(time(client, Math.ceil(BATCHES / rounds)));
  ns.onePass.push(time(onePass, Math.ceil(BATCHES / rounds)));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const c = median(ns.client);
const o = median(ns.onePass);
process.stdout.write(
  [
    `record batch encoding, ${RECORDS} records of ~${batch[0]!.value!.length} bytes per batch, ${BATCHES} batches, median of ${rounds} rounds (Node ${process.version}):`,
    `  client createRecordsBatch  ${c.toFixed(0).padStart(6)} ns per record  (${Math.round(1e9 / c).toLocaleString('en-US')} records per CPU-second)`,
    `  one-pass encodeRecordBatch ${o.toFixed(0).padStart(6)} ns per record  (${Math.round(1e9 / o).toLocaleString('en-US')} records per CPU-second), ${(c / o).toFixed(1)}x faster, same bytes`,
    '',
  ].join('\n'),
);
