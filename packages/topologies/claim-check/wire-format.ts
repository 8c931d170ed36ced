/**
 * bakdata large-message-serde's wire format, so that its Java serializer and ours read each
 * other's records. A record value is either the payload itself (inline) or the UTF-8 URI of the S3
 * object that holds it (backed, `s3://<bucket>/<key>`). Which one it is travels either in a flag
 * byte in front of the value (0 inline, 1 backed: bakdata's default) or, with `use.headers`, in
 * the header `__large.message.backed.value` (`.key` for keys) whose one byte is the same flag,
 * the value then being the bare payload or URI. The object key is
 * `<prefix><topic>/values/<id>` (`keys/` for keys); bakdata's default id is a random UUID.
 */
import { SerializationException } from '@kafka-pattern/streams-core';

export const NOT_BACKED = 0;
export const BACKED = 1;

/** bakdata's `HeaderLargeMessagePayloadProtocol` header names. */
export const VALUE_BACKED_HEADER = '__large.message.backed.value';
export const KEY_BACKED_HEADER = '__large.message.backed.key';
/**
 * The compression of a backed payload (one byte: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd), only
 * in headers mode; large-message-serde 4 writes the first name and reads both, 3.x wrote the second.
 */
export const COMPRESSION_HEADERS = [
  '__large.message.backed.compression',
  '__large.message.backed..compression',
];

export type ClaimCheckMode = 'flag' | 'headers';

export function backedHeader(isKey: boolean): string {
  return isKey ? KEY_BACKED_HEADER : VALUE_BACKED_HEADER;
}

/** A record value as it travels: the payload or the URI of its object. */
export interface Claim {
  readonly backed: boolean;
  /** The payload when not backed, else the URI's UTF-8 bytes. */
  readonly data: Buffer;
}

/** Flag-byte mode: the flag, then the payload or the URI. */
export function withFlag(claim: Claim): Buffer {
  const out = Buffer.allocUnsafe(claim.data.length + 1);
  out[0] = claim.backed ? BACKED : NOT_BACKED;
  claim.data.copy(out, 1);
  return out;
}

export function parseFlag(topic: string, value: Buffer): Claim {
  if (value.length === 0)
    throw new SerializationException(
      `An empty value on "${topic}" is not a claim-check record: a flag byte (0 inline, 1 in S3) was expected; was it written with another serde?`,
      { topic },
    );
  return { backed: flagValue(topic, value[0]!, 'first byte'), data: value.subarray(1) };
}

export function flagValue(topic: string, flag: number, where: string): boolean {
  if (flag === BACKED) return true;
  if (flag === NOT_BACKED) return false;
  throw new SerializationException(
    `A record on "${topic}" has ${flag} as its claim-check flag (${where}), not 0 (inline) or 1 (in S3): it was not written by a claim-check (large-message) serializer, or with another mode`,
    { topic },
  );
}

/** `<prefix><topic>/values/<id>`, as bakdata's storing client names its objects. */
export function objectKey(prefix: string, topic: string, isKey: boolean, id: string): string {
  return `${topicPrefix(prefix, topic)}${isKey ? 'keys' : 'values'}/${id}`;
}

/** A key prefix as bakdata's base path holds it: no leading `/`, a trailing one unless empty. */
export function normalizePrefix(prefix: string): string {
  const p = prefix.replace(/^\/+/, '');
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}

/** Everything stored for one topic lives under this key prefix. */
export function topicPrefix(prefix: string, topic: string): string {
  return `${prefix}${topic}/`;
}

export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

export function parseS3Uri(topic: string, uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m)
    throw new SerializationException(
      `A backed record on "${topic}" carries "${uri.slice(0, 200)}", not an s3://bucket/key URI: only S3 claims can be read here`,
      { topic },
    );
  return { bucket: m[1]!, key: m[2]! };
}
