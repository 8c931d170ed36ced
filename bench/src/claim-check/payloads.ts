/**
 * The claim-check bench's payloads and S3 client, the same in every process: payload `i` is one
 * of 8 patterned buffers of `size` bytes (byte j is (j * 31 + i % 8) mod 256) with `i` written
 * in its first 4 bytes, so every payload is distinct and costs one copy to make; and an S3
 * client on the stack's S3 server, configured alike for the framework and the baseline.
 */
import { createHash } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { s3Service } from '@kafka-pattern/test/support/services.ts';

const bases = new Map<number, Buffer[]>();

export function payload(i: number, size: number): Buffer {
  let b = bases.get(size);
  if (!b) {
    b = Array.from({ length: 8 }, (_, seed) => {
      const buf = Buffer.allocUnsafe(size);
      for (let j = 0; j < size; j++) buf[j] = (j * 31 + seed) & 0xff;
      return buf;
    });
    bases.set(size, b);
  }
  const out = Buffer.from(b[i % 8]!);
  out.writeUInt32BE(i, 0);
  return out;
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** What a reader reports per payload: its SHA-256 in a check run, else its length and index (cheap). */
export function digest(p: Uint8Array, hash: boolean): string {
  return hash ? sha256(p) : `${p.length}:${Buffer.from(p.buffer, p.byteOffset, 4).readUInt32BE(0)}`;
}

export function s3Client(): S3Client {
  const s = s3Service();
  return new S3Client({
    endpoint: s.endpoint,
    region: s.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
  });
}
