/**
 * The S3 calls of the claim check (put, get, list, delete), each turning the SDK's failures into
 * errors that say which bucket or URI, at which endpoint, and what to do: a missing bucket, an
 * unreachable server, an object that is gone.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SerializationException } from '@kafka-pattern/streams-core';
import { s3Uri } from './wire-format.ts';

/** An object as listed: its key, size and when S3 last wrote it. */
export interface StoredObject {
  readonly key: string;
  readonly size: number;
  readonly lastModified: Date;
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'TimeoutError',
]);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function errorName(error: unknown): string {
  const e = error as SdkError;
  return e?.code ?? e?.name ?? 'Error';
}

export async function endpointOf(s3: S3Client): Promise<string> {
  try {
    const e = await s3.config.endpoint?.();
    if (e) return `${e.protocol}//${e.hostname}${e.port ? `:${e.port}` : ''}${e.path === '/' ? '' : e.path}`;
  } catch {
    // The SDK resolves the endpoint per request when none is configured.
  }
  return `AWS S3 (region ${await s3.config.region().catch(() => 'unknown')})`;
}

/**
 * The error for a failed call; `undefined` when it is neither a missing bucket nor an unreachable
 * server, so that the caller says what it was doing.
 */
async function commonFailure(
  s3: S3Client,
  bucket: string,
  error: unknown,
  topic?: string,
): Promise<Error | undefined> {
  const name = errorName(error);
  const status = (error as SdkError)?.$metadata?.httpStatusCode;
  if (name === 'NoSuchBucket')
    return new SerializationException(
      `S3 bucket "${bucket}" does not exist at ${await endpointOf(s3)}: create it (aws s3 mb s3://${bucket}), or give the claim check an existing bucket`,
      { topic, cause: error },
    );
  if (
    UNREACHABLE.has(name) ||
    (status === undefined && /connect|socket|network/i.test(String((error as SdkError)?.message)))
  )
    return new SerializationException(
      `S3 at ${await endpointOf(s3)} cannot be reached (${name}): start the S3 server or fix the S3 client's endpoint and network, then retry`,
      { topic, cause: error },
    );
  if (
    name === 'AccessDenied' ||
    name === 'InvalidAccessKeyId' ||
    name === 'SignatureDoesNotMatch' ||
    status === 403
  )
    return new SerializationException(
      `S3 at ${await endpointOf(s3)} refused access to bucket "${bucket}" (${name}): check the S3 client's credentials and the bucket's policy`,
      { topic, cause: error },
    );
  return undefined;
}

export async function putObject(
  s3: S3Client,
  bucket: string,
  key: string,
  body: Buffer,
  topic: string,
): Promise<void> {
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length }));
  } catch (error) {
    throw (
      (await commonFailure(s3, bucket, error, topic)) ??
      new SerializationException(
        `Could not store a ${body.length}-byte payload of "${topic}" as ${s3Uri(bucket, key)} (${errorName(error)}: ${(error as SdkError)?.message})`,
        { topic, cause: error },
      )
    );
  }
}

export async function getObject(s3: S3Client, bucket: string, key: string, topic: string): Promise<Buffer> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!out.Body) throw new Error('S3 answered without a body');
    return Buffer.from(await out.Body.transformToByteArray());
  } catch (error) {
    if (errorName(error) === 'NoSuchKey')
      throw new SerializationException(
        `The payload of a record on "${topic}" is gone: ${s3Uri(bucket, key)} does not exist at ${await endpointOf(s3)} ` +
          '(removed by the claim-check cleanup, a lifecycle rule or by hand, or never stored because its send failed). ' +
          'The record cannot be read: restore the object, or leave the record to the dead-letter topic',
        { topic, cause: error },
      );
    throw (
      (await commonFailure(s3, bucket, error, topic)) ??
      new SerializationException(
        `Could not read ${s3Uri(bucket, key)} for a record on "${topic}" (${errorName(error)}: ${(error as SdkError)?.message})`,
        { topic, cause: error },
      )
    );
  }
}

/** Every object under `prefix`, page by page. */
export async function* listObjects(
  s3: S3Client,
  bucket: string,
  prefix: string,
): AsyncGenerator<StoredObject> {
  let token: string | undefined;
  do {
    let page: ListObjectsV2CommandOutput;
    try {
      page = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
    } catch (error) {
      throw (
        (await commonFailure(s3, bucket, error)) ??
        new Error(
          `Could not list s3://${bucket}/${prefix} (${errorName(error)}: ${(error as SdkError)?.message})`,
          {
            cause: error,
          },
        )
      );
    }
    for (const o of page.Contents ?? [])
      if (o.Key) yield { key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) };
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

export async function deleteObject(s3: S3Client, bucket: string, key: string): Promise<void> {
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    throw (
      (await commonFailure(s3, bucket, error)) ??
      new Error(
        `Could not delete ${s3Uri(bucket, key)} (${errorName(error)}: ${(error as SdkError)?.message})`,
        {
          cause: error,
        },
      )
    );
  }
}
