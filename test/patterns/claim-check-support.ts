/**
 * What the claim-check tests share: an S3 client on the stack's S3 server, a fresh bucket per
 * test (emptied and removed after it), and the payload pattern the Java side generates too.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { s3Service } from '../support/services.ts';
import type { Teardown } from '../support/teardown.ts';

export function s3Client(endpoint = s3Service().endpoint): S3Client {
  const s = s3Service();
  return new S3Client({
    endpoint,
    region: s.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
    maxAttempts: 1,
  });
}

export async function freshBucket(s3: S3Client, teardown: Teardown, name: string): Promise<string> {
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  teardown.push(async () => {
    for (const key of await objectKeys(s3, name))
      await s3.send(new DeleteObjectCommand({ Bucket: name, Key: key }));
    await s3.send(new DeleteBucketCommand({ Bucket: name }));
  });
  return name;
}

export async function objectKeys(s3: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

export async function objectSize(s3: S3Client, bucket: string, key: string): Promise<number | undefined> {
  try {
    return (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentLength;
  } catch {
    return undefined;
  }
}

/** Byte i is (i * 31 + seed) mod 256: BakdataSide.pattern on the Java side. */
export function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** A bucket name no earlier run used (lower case, as S3 wants). */
export function bucketName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
