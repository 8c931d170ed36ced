/**
 * `claimCheckSerde`: a value serde that keeps payloads at or above a threshold in S3 and puts only
 * their reference on the record, in bakdata large-message-serde's format. It is asynchronous (an
 * `AsyncSerde`): a source decodes its records ahead of processing and a sink encodes before
 * producing, so the stream thread never waits on S3 in the middle of a record.
 */
import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  type AsyncSerde,
  type Headers,
  type Serde,
  SerializationException,
} from '@kafka-pattern/streams-core';
import { getObject, putObject } from './s3-objects.ts';
import {
  backedHeader,
  type Claim,
  type ClaimCheckMode,
  COMPRESSION_HEADERS,
  flagValue,
  normalizePrefix,
  objectKey,
  parseFlag,
  parseS3Uri,
  s3Uri,
  withFlag,
} from './wire-format.ts';

export interface ClaimCheckOptions {
  /** Where the payloads go (path-style for MinIO and other S3-compatible servers). */
  readonly s3: S3Client;
  readonly bucket: string;
  /**
   * Key prefix of the objects, as the key part of bakdata's `large.message.base.path`; a `/` is
   * added when it has none at its end. Objects are `<prefix><topic>/values/<uuid>`.
   */
  readonly prefix?: string;
  /**
   * A serialized payload of this many bytes or more goes to S3 (bakdata's `large.message.max.byte.size`,
   * same default: 1,000,000).
   */
  readonly thresholdBytes?: number;
  /**
   * `'flag'` (bakdata's default): a flag byte in front of the value, 0 payload follows, 1 URI follows.
   * `'headers'` (bakdata's `large.message.use.headers=true`): the flag in the
   * `__large.message.backed.value` header and the bare payload or URI as the value. Either way the
   * reader takes both.
   */
  readonly mode?: ClaimCheckMode;
  /** For record keys: `keys/` objects and the `__large.message.backed.key` header. Default false. */
  readonly isKey?: boolean;
  /** The object id; default a random UUID, as bakdata's `RandomUUIDGenerator`. */
  readonly objectId?: (payload: Buffer) => string;
}

export const DEFAULT_THRESHOLD_BYTES = 1_000_000;

export interface ClaimCheckSerde<T> extends AsyncSerde<T> {
  readonly bucket: string;
  /** The normalized prefix (ends with `/`, or is empty). */
  readonly prefix: string;
  readonly thresholdBytes: number;
  readonly mode: ClaimCheckMode;
}

export function claimCheckSerde<T>(inner: Serde<T>, options: ClaimCheckOptions): ClaimCheckSerde<T> {
  const { s3, bucket } = options;
  if (!s3 || typeof (s3 as { send?: unknown }).send !== 'function')
    throw new TypeError('claimCheckSerde needs an S3Client (from @aws-sdk/client-s3) as its s3 option');
  if (typeof bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw new TypeError(
      `claimCheckSerde: bucket ${JSON.stringify(bucket)} is not an S3 bucket name (3-63 characters: lower-case letters, digits, dots and hyphens)`,
    );
  const thresholdBytes = options.thresholdBytes ?? DEFAULT_THRESHOLD_BYTES;
  if (!Number.isInteger(thresholdBytes) || thresholdBytes < 0)
    throw new TypeError(
      `claimCheckSerde: thresholdBytes must be a whole number of bytes >= 0 (got ${thresholdBytes})`,
    );
  const mode = options.mode ?? 'flag';
  if (mode !== 'flag' && mode !== 'headers')
    throw new TypeError(`claimCheckSerde: mode must be 'flag' or 'headers' (got ${JSON.stringify(mode)})`);
  const prefix = normalizePrefix(options.prefix ?? '');
  const isKey = options.isKey ?? false;
  const flagHeader = backedHeader(isKey);
  const objectId = options.objectId ?? (() => randomUUID());

  return {
    name: `ClaimCheck(${inner.name}, s3://${bucket}/${prefix})`,
    asynchronous: true,
    bucket,
    prefix,
    thresholdBytes,
    mode,

    async serializeAsync(topic: string, data: T | null, headers: Headers): Promise<Buffer | null> {
      const bytes = inner.serialize(topic, data, headers);
      if (bytes === null) return null;
      let claim: Claim;
      if (bytes.length >= thresholdBytes) {
        const key = objectKey(prefix, topic, isKey, objectId(bytes));
        await putObject(s3, bucket, key, bytes, topic);
        claim = { backed: true, data: Buffer.from(s3Uri(bucket, key), 'utf8') };
      } else {
        claim = { backed: false, data: bytes };
      }
      // Headers read from a claim-check source travel on with the record: left in place they would
      // describe this value wrongly (nothing written here is compressed).
      for (const h of COMPRESSION_HEADERS) headers.remove(h);
      if (mode === 'headers') {
        headers.set(flagHeader, Buffer.of(claim.backed ? 1 : 0));
        return claim.data;
      }
      headers.remove(flagHeader);
      return withFlag(claim);
    },

    async deserializeAsync(topic: string, data: Buffer | null, headers: Headers): Promise<T | null> {
      if (data === null) return inner.deserialize(topic, null, headers);
      // As bakdata's reader: the header, when there is one, says how to read; else the flag byte.
      const flag = headers.lastValue(flagHeader);
      const claim =
        flag === undefined
          ? parseFlag(topic, data)
          : { backed: flagValue(topic, flag.length > 0 ? flag[0]! : -1, `header ${flagHeader}`), data };
      if (!claim.backed) return inner.deserialize(topic, claim.data, headers);
      const uri = claim.data.toString('utf8');
      const { bucket: from, key } = parseS3Uri(topic, uri);
      const stored = await getObject(s3, from, key, topic);
      return inner.deserialize(topic, decompress(topic, uri, stored, headers), headers);
    },
  };
}

/** bakdata compresses a backed payload only in headers mode, and says so in a header. */
function decompress(topic: string, uri: string, stored: Buffer, headers: Headers): Buffer {
  const header = COMPRESSION_HEADERS.map((h) => headers.lastValue(h)).find((v) => v !== undefined);
  const id = header?.[0] ?? 0;
  if (id === 0) return stored;
  if (id === 1) return gunzipSync(stored);
  throw new SerializationException(
    `${uri} (a record on "${topic}") is compressed with ${['none', 'gzip', 'snappy', 'lz4', 'zstd'][id] ?? `compression type ${id}`}, which this reader does not decompress: write it with large.message.compression.type none or gzip`,
    { topic },
  );
}
