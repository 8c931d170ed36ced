/**
 * The claim check's baseline, one process: the same payloads written to S3 directly with
 * PutObject (`params.phase` `put`), or read back with GetObject (`get`), `params.concurrency`
 * calls in flight, no Kafka. Times itself (from the first call to the last answer) and reports
 * it as `measured`. In a check run (`params.hash`) every payload read back is compared with the
 * one written by its SHA-256; a difference fails the run.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { StartPipe } from '../harness/pipe.ts';
import { payload, s3Client, sha256 } from './payloads.ts';

const s3 = s3Client();

export const start: StartPipe = async (run) => {
  const count = Number(run.params.count);
  const size = Number(run.params.size);
  const bucket = String(run.params.bucket);
  const keyOf = (i: number) => `bench/${run.groupId.replace(/-(put|get)$/, '')}/${i}`;
  let next = 0;
  let mismatches = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      if (run.params.phase === 'put') {
        const body = payload(i, size);
        await s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: keyOf(i), Body: body, ContentLength: body.length }),
        );
      } else {
        const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf(i) }));
        const got = Buffer.from(await out.Body!.transformToByteArray());
        if (
          run.params.hash
            ? sha256(got) !== sha256(payload(i, size))
            : got.length !== size || got.readUInt32BE(0) !== i
        )
          mismatches++;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Number(run.params.concurrency) }, worker));
  const ms = performance.now() - started;
  if (mismatches > 0) throw new Error(`${run.groupId}: ${mismatches} of ${count} payloads read back differ`);
  return { measured: { records: count, ms }, close: async () => {} };
};
