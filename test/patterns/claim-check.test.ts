/**
 * The claim check on the real broker and the stack's S3 server:
 * - a topology with claimCheckSerde as sink and as source round-trips 2 MB payloads and small ones,
 *   under at_least_once (flag mode) and exactly_once_v2 (headers mode): small payloads travel
 *   inline, a big one is an object in S3 and only its reference (under 200 bytes) is on the broker;
 * - the cleanup removes the objects whose records are gone (deleted from the topic, or never
 *   committed) and keeps those still referred to, and the young ones within the grace;
 * - a missing bucket, an unreachable S3 and an object that is gone are errors that say which and
 *   what to do.
 */
import { createHash } from 'node:crypto';
import { Headers, KafkaStreams, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import type { ProducedRecord } from '@kafka-pattern/streams-core/client';
import { claimCheckSerde, cleanupClaims, VALUE_BACKED_HEADER } from '@kafka-pattern/topologies/claim-check';
import { Admin } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import {
  bootstrapServers,
  collect,
  createTopic,
  deleteTopics,
  produce,
  record,
  uniqueName,
} from '../support/kafka.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';
import { bucketName, freshBucket, objectKeys, objectSize, pattern, s3Client } from './claim-check-support.ts';

const cleanups = teardownAfterEach();
const MB2 = 2_000_000;
const SIZES = [10, 500, MB2, 999_000, MB2, MB2];
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe.each([
  { guarantee: 'at_least_once', mode: 'flag' },
  { guarantee: 'exactly_once_v2', mode: 'headers' },
] as const)('claim check in a topology, $guarantee, $mode mode', ({ guarantee, mode }) => {
  it('stores payloads over the threshold in S3, sends only the reference, and the reader gets the payload back', async () => {
    const s3 = s3Client();
    const bucket = await freshBucket(s3, cleanups, bucketName('kp-cc'));
    const input = await createTopic(uniqueName('cc-in'), 2);
    const claims = await createTopic(uniqueName('cc-claims'), 2);
    const output = await createTopic(uniqueName('cc-out'), 2);
    cleanups.push(() => deleteTopics([input, claims, output]));
    const serde = claimCheckSerde(Serdes.ByteArray(), { s3, bucket, prefix: 'kp/', mode });

    const b = new StreamsBuilder();
    b.stream(input, { key: Serdes.String(), value: Serdes.String() })
      .mapValues((spec) => {
        const [size, seed] = spec.split(':').map(Number);
        return pattern(size!, seed!) as Uint8Array;
      })
      .to(claims, { key: Serdes.String(), value: serde });
    b.stream(claims, { key: Serdes.String(), value: serde })
      .mapValues((payload) => JSON.stringify({ length: payload.length, sha256: sha256(payload) }))
      .to(output, { key: Serdes.String(), value: Serdes.String() });
    const app = new KafkaStreams(b.build(), {
      applicationId: uniqueName('cc-app'),
      bootstrapServers: bootstrapServers(),
      processingGuarantee: guarantee,
      stateDir: tempStateDir(cleanups, 'kp-cc-'),
    });
    cleanups.push(() => app.close());
    await app.start();
    await app.waitForRunning(60_000);

    await produce(SIZES.map((size, i) => record(input, `k${i}`, `${size}:${i}`)));
    const out = await collect(output, { count: SIZES.length, timeoutMs: 90_000 });
    expect(app.state).not.toBe('ERROR');
    const got = new Map(out.map((r) => [r.key!.toString(), JSON.parse(r.value!.toString())]));
    for (const [i, size] of SIZES.entries())
      expect(got.get(`k${i}`)).toEqual({ length: size, sha256: sha256(pattern(size, i)) });

    // On the broker: small ones inline, a big one only its reference; in S3: the big payloads.
    const onBroker = await collect(claims, { isolationLevel: 'read_committed' });
    expect(onBroker).toHaveLength(SIZES.length);
    for (const r of onBroker) {
      const i = Number(r.key!.toString().slice(1));
      const size = SIZES[i]!;
      const header = r.headers.lastValue(VALUE_BACKED_HEADER);
      const backed = mode === 'flag' ? r.value![0] === 1 : header?.[0] === 1;
      expect(backed).toBe(size >= 1_000_000);
      if (mode === 'flag') expect(header).toBeUndefined();
      const body = mode === 'flag' ? r.value!.subarray(1) : r.value!;
      if (!backed) {
        expect(body.equals(pattern(size, i))).toBe(true);
        continue;
      }
      expect(r.value!.length).toBeLessThan(200);
      const uri = body.toString('utf8');
      expect(uri).toMatch(new RegExp(`^s3://${bucket}/kp/${claims}/values/[0-9a-f-]{36}$`));
      expect(await objectSize(s3, bucket, uri.slice(`s3://${bucket}/`.length))).toBe(size);
    }
    expect(await objectKeys(s3, bucket)).toHaveLength(SIZES.filter((s) => s >= 1_000_000).length);
  });
});

describe('claim-check cleanup', () => {
  it('removes the objects whose records are gone and keeps the others', async () => {
    const s3 = s3Client();
    const bucket = await freshBucket(s3, cleanups, bucketName('kp-ccc'));
    const topic = await createTopic(uniqueName('cc-cleanup'), 1);
    cleanups.push(() => deleteTopics([topic]));
    const serde = claimCheckSerde(Serdes.ByteArray(), { s3, bucket, prefix: 'app', thresholdBytes: 100 });
    const records: ProducedRecord[] = [];
    for (const [i, size] of [200, 300, 10, 400].entries()) {
      const headers = new Headers();
      const value = await serde.serializeAsync(topic, pattern(size, i), headers);
      records.push({ topic, partition: 0, key: Buffer.from(`k${i}`), value, headers: [...headers] });
    }
    await produce(records);
    // An object whose send never happened (as after an aborted transaction).
    await serde.serializeAsync(topic, pattern(500, 9), new Headers());
    const uriOf = (i: number) => records[i]!.value!.subarray(1).toString('utf8');
    const all = (await objectKeys(s3, bucket)).map((k) => `s3://${bucket}/${k}`);
    expect(all).toHaveLength(4);
    const orphan = all.find((u) => ![0, 1, 3].some((i) => uriOf(i) === u))!;

    // The first two records leave the topic, as retention would remove them.
    const admin = new Admin({ clientId: uniqueName('cc-admin'), bootstrapBrokers: bootstrapServers() });
    cleanups.push(() => admin.close());
    await admin.deleteRecords({ topics: [{ name: topic, partitions: [{ partition: 0, offset: 2n }] }] });

    const options = { s3, bucket, prefix: 'app', bootstrapServers: bootstrapServers(), topic };
    const young = await cleanupClaims(options);
    expect(young.deleted).toEqual([]);
    expect(young.young.sort()).toEqual([uriOf(0), uriOf(1), orphan].sort());
    expect(young.retentionMs).toBe(604_800_000);
    expect(young.cleanupPolicy).toBe('delete');

    const dry = await cleanupClaims({ ...options, graceMs: 0, dryRun: true });
    expect(dry.deleted.sort()).toEqual([uriOf(0), uriOf(1), orphan].sort());
    expect(await objectKeys(s3, bucket)).toHaveLength(4);

    const done = await cleanupClaims({ ...options, graceMs: 0 });
    expect(done.deleted.sort()).toEqual([uriOf(0), uriOf(1), orphan].sort());
    expect(done.scannedRecords).toBe(2);
    expect(done.referenced).toBe(1);
    expect((await objectKeys(s3, bucket)).map((k) => `s3://${bucket}/${k}`)).toEqual([uriOf(3)]);

    // What is left still reads; a record whose object was removed says which and what to do.
    const left = await serde.deserializeAsync(topic, records[3]!.value, new Headers());
    expect(Buffer.from(left!).equals(pattern(400, 3))).toBe(true);
    await expect(serde.deserializeAsync(topic, records[0]!.value, new Headers())).rejects.toThrow(
      new RegExp(`${uriOf(0).replaceAll('/', '\\/')} does not exist .*restore the object`),
    );
  });

  it('refuses a topic that does not exist unless told it was deleted', async () => {
    const s3 = s3Client();
    const bucket = await freshBucket(s3, cleanups, bucketName('kp-ccm'));
    const topic = uniqueName('cc-never');
    const serde = claimCheckSerde(Serdes.String(), { s3, bucket, thresholdBytes: 1 });
    await serde.serializeAsync(topic, 'payload', new Headers());
    const options = { s3, bucket, bootstrapServers: bootstrapServers(), topic, graceMs: 0 };
    await expect(cleanupClaims(options)).rejects.toThrow(/does not exist .*--topic-deleted/);
    expect(await objectKeys(s3, bucket)).toHaveLength(1);
    expect((await cleanupClaims({ ...options, topicDeleted: true })).deleted).toHaveLength(1);
    expect(await objectKeys(s3, bucket)).toEqual([]);
  });
});

describe('claim-check errors', () => {
  it('names a missing bucket, an unreachable S3 server and bad records, and says what to do', async () => {
    const missing = claimCheckSerde(Serdes.String(), {
      s3: s3Client(),
      bucket: 'kp-no-such-bucket',
      thresholdBytes: 1,
    });
    await expect(missing.serializeAsync('t', 'x', new Headers())).rejects.toThrow(
      /bucket "kp-no-such-bucket" does not exist at http:\/\/127\.0\.0\.1:\d+: create it/,
    );
    const down = claimCheckSerde(Serdes.String(), {
      s3: s3Client('http://127.0.0.1:1'),
      bucket: 'b-b',
      thresholdBytes: 1,
    });
    await expect(down.serializeAsync('t', 'x', new Headers())).rejects.toThrow(
      /S3 at http:\/\/127\.0\.0\.1:1 cannot be reached \(ECONNREFUSED\): start the S3 server/,
    );
    await expect(down.deserializeAsync('t', Buffer.of(7, 1), new Headers())).rejects.toThrow(
      /has 7 as its claim-check flag .*not 0 \(inline\) or 1 \(in S3\)/,
    );
    const inline = await down.deserializeAsync('t', Buffer.from('\u0000hi'), new Headers());
    expect(inline).toBe('hi');
    expect(() => claimCheckSerde(Serdes.String(), { s3: s3Client(), bucket: 'Bad_Bucket' })).toThrow(
      /not an S3 bucket name/,
    );
  });
});
