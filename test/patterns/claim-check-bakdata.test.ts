/**
 * claimCheckSerde beside bakdata's large-message-serde (the real library from Maven Central), on
 * one broker and one S3 server, in both of its modes:
 * - bakdata writes payloads below, at and above the threshold; the records on the broker are
 *   exactly what our format says (flag byte or header, payload inline or `s3://bucket/prefix/
 *   topic/values/<uuid>`) and our serde reads every payload back;
 * - ours writes the same payloads; bakdata's deserializer reads every one back, and our record
 *   bytes equal bakdata's wherever they are deterministic (inline values and all headers; a
 *   backed value up to its random id).
 */
import { createHash } from 'node:crypto';
import { Headers, Serdes } from '@kafka-pattern/streams-core';
import type { ConsumedRecord, ProducedRecord } from '@kafka-pattern/streams-core/client';
import { claimCheckSerde, VALUE_BACKED_HEADER } from '@kafka-pattern/topologies/claim-check';
import { describe, expect, it } from 'vitest';
import {
  bootstrapServers,
  collect,
  createTopic,
  deleteTopics,
  produce,
  uniqueName,
} from '../support/kafka.ts';
import { teardownAfterEach } from '../support/teardown.ts';
import { runBakdata } from './bakdata-runner.ts';
import { bucketName, freshBucket, objectSize, pattern, s3Client } from './claim-check-support.ts';

const cleanups = teardownAfterEach();
const THRESHOLD = 1000;
// Below, exactly at (bakdata backs a payload of max.byte.size bytes or more) and above the threshold.
const PAYLOADS: Array<{ key: string; size: number; seed: number; backed: boolean }> = [
  { key: 'tiny', size: 10, seed: 1, backed: false },
  { key: 'below', size: THRESHOLD - 1, seed: 2, backed: false },
  { key: 'at', size: THRESHOLD, seed: 3, backed: true },
  { key: 'big', size: 2_000_000, seed: 4, backed: true },
];
const spec = PAYLOADS.map((p) => `${p.key}:${p.size}:${p.seed}`);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const URI = /^s3:\/\/([^/]+)\/(.+)\/values\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** The record as the wire format says it must be, the object id left open. */
function expectWireFormat(
  r: ConsumedRecord,
  mode: 'flag' | 'headers',
  bucket: string,
  prefix: string,
  topic: string,
) {
  const p = PAYLOADS.find((x) => x.key === r.key!.toString())!;
  const flagHeader = r.headers.values(VALUE_BACKED_HEADER);
  const body = mode === 'flag' ? r.value!.subarray(1) : r.value!;
  if (mode === 'flag') {
    expect(flagHeader).toEqual([]);
    expect(r.value![0]).toBe(p.backed ? 1 : 0);
  } else {
    expect(flagHeader).toEqual([Buffer.of(p.backed ? 1 : 0)]);
  }
  if (!p.backed) {
    expect(body.equals(pattern(p.size, p.seed))).toBe(true);
    return undefined;
  }
  const m = URI.exec(body.toString('utf8'));
  expect(m, body.toString('utf8')).not.toBeNull();
  expect(m![1]).toBe(bucket);
  expect(m![2]).toBe(`${prefix}${topic}`);
  return { key: `${m![2]}/values/${m![3]}`, id: m![3]! };
}

describe.each(['flag', 'headers'] as const)(
  'claim check and bakdata large-message-serde, %s mode',
  (mode) => {
    it('reads what bakdata wrote, and bakdata reads what we wrote, byte for byte', async () => {
      const s3 = s3Client();
      const bucket = await freshBucket(s3, cleanups, bucketName('kp-lms'));
      const prefix = 'claims/';
      const fromJava = await createTopic(uniqueName(`cc-java-${mode}`), 1, {
        'max.message.bytes': '2097152',
      });
      const fromUs = await createTopic(uniqueName(`cc-ours-${mode}`), 1);
      cleanups.push(() => deleteTopics([fromJava, fromUs]));
      const common = {
        bootstrap: bootstrapServers().join(','),
        basePath: `s3://${bucket}/${prefix}`,
        useHeaders: mode === 'headers',
        maxBytes: THRESHOLD,
      };
      const serde = claimCheckSerde(Serdes.ByteArray(), {
        s3,
        bucket,
        prefix,
        thresholdBytes: THRESHOLD,
        mode,
      });

      // bakdata writes; the broker holds the format; we read every payload back.
      await runBakdata({ ...common, role: 'produce', topic: fromJava, payloads: spec });
      const javaRecords = await collect(fromJava, { count: PAYLOADS.length });
      expect(javaRecords.map((r) => r.key!.toString())).toEqual(PAYLOADS.map((p) => p.key));
      for (const r of javaRecords) {
        const p = PAYLOADS.find((x) => x.key === r.key!.toString())!;
        const stored = expectWireFormat(r, mode, bucket, prefix, fromJava);
        if (stored) expect(await objectSize(s3, bucket, stored.key)).toBe(p.size);
        if (p.backed) expect(r.value!.length).toBeLessThan(200);
        const read = await serde.deserializeAsync(fromJava, r.value, r.headers.clone());
        expect(read && sha256(read)).toBe(sha256(pattern(p.size, p.seed)));
      }

      // We write the same payloads; bakdata reads them back.
      const ours: ProducedRecord[] = [];
      for (const p of PAYLOADS) {
        const headers = new Headers();
        const value = await serde.serializeAsync(fromUs, pattern(p.size, p.seed), headers);
        ours.push({ topic: fromUs, partition: 0, key: Buffer.from(p.key), value, headers: [...headers] });
      }
      await produce(ours);
      const ourRecords = await collect(fromUs, { count: PAYLOADS.length });
      for (const [i, r] of ourRecords.entries()) {
        const stored = expectWireFormat(r, mode, bucket, prefix, fromUs);
        const java = javaRecords[i]!;
        // Same bytes where nothing is random: headers always, values when inline or up to the id.
        expect([...r.headers]).toEqual([...java.headers]);
        if (!stored) expect(r.value!.equals(java.value!)).toBe(true);
        else
          expect(r.value!.toString('latin1').replace(fromUs, 'T').replace(stored.id, 'ID')).toBe(
            java
              .value!.toString('latin1')
              .replace(fromJava, 'T')
              .replace(URI.exec(java.value!.subarray(mode === 'flag' ? 1 : 0).toString())![3]!, 'ID'),
          );
      }
      const read = await runBakdata({ ...common, role: 'consume', topic: fromUs, count: PAYLOADS.length });
      const records = read.filter((e) => e.event === 'record');
      expect(records.map((e) => [e.key, e.length, e.sha256])).toEqual(
        PAYLOADS.map((p) => [p.key, p.size, sha256(pattern(p.size, p.seed))]),
      );
      // bakdata's deserializer takes its own headers off the record it read.
      for (const e of records) expect(e.headers).toEqual([]);
    });
  },
);
