/**
 * The claim check of `@kafka-pattern/topologies/claim-check` against S3 alone: `--payloads`
 * payloads of `--size` bytes (2 MB) written through a topology whose sink serde is
 * `claimCheckSerde` (payload to S3, reference to Kafka), then read back through a topology whose
 * source serde is the same (reference from Kafka, payload from S3); and, as the baseline, the same
 * payloads written to the same S3 server with PutObject and read back with GetObject, no Kafka,
 * with as many calls in flight as the framework's polls hold (`--concurrency`, the framework's
 * `client.maxPollRecords`). Each side runs in a process of its own (bench/src/harness/child.ts).
 *
 * - framework: the input topic (3 partitions) holds `--payloads` small records, the payload's
 *   index; the write topology makes payload i (one 2 MB copy, as the baseline does) and sends it
 *   to the claims topic; the clock runs from the application owning its partitions until the
 *   claims topic holds every reference (at_least_once: written; exactly_once_v2: committed).
 *   The read topology reads the claims topic and writes each payload's digest; same clock.
 * - baseline: the process times itself, from the first call to the last answer.
 * - first a check round (also the warm-up): every payload read back is compared with the one
 *   written by SHA-256 (framework: by the driver on the read topology's output; baseline: in its
 *   process), and every record on the claims topic must be a reference of under 200 bytes. Then
 *   `--reps` timed rounds, the sides alternating who goes first; median. Objects are deleted
 *   after each round.
 *
 *   node bench/src/claim-check/main.ts [--payloads 200] [--size 2000000] [--concurrency 16]
 *        [--reps 3] [--guarantee at_least_once|exactly_once_v2]
 *
 * Prints the table and writes bench/results/claim-check.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { collect } from '@kafka-pattern/test/support/kafka.ts';
import { s3Service } from '@kafka-pattern/test/support/services.ts';
import { Broker, bootstrapServers, prefill } from '../harness/broker.ts';
import { measureDrain, PipeProcess, type PipeTarget } from '../harness/measure.ts';
import type { Guarantee } from '../harness/pipe.ts';
import { machineInfo, writeJson } from '../harness/report.ts';
import { median } from '../harness/stats.ts';
import { payload, s3Client, sha256 } from './payloads.ts';

const { values: args } = parseArgs({
  options: {
    payloads: { type: 'string', default: '200' },
    size: { type: 'string', default: '2000000' },
    concurrency: { type: 'string', default: '16' },
    reps: { type: 'string', default: '3' },
    guarantee: { type: 'string', default: 'at_least_once' },
  },
});
const COUNT = Number(args.payloads);
const SIZE = Number(args.size);
const CONCURRENCY = Number(args.concurrency);
const REPS = Number(args.reps);
const GUARANTEE = args.guarantee as Guarantee;
if (GUARANTEE !== 'at_least_once' && GUARANTEE !== 'exactly_once_v2')
  throw new Error(`--guarantee: at_least_once or exactly_once_v2, not ${args.guarantee}`);
const COMMIT_INTERVAL_MS = GUARANTEE === 'at_least_once' ? 30_000 : 100;
const PARTITIONS = 3;
const RESULTS = fileURLToPath(new URL('../../results/claim-check.json', import.meta.url));
const log = (m: string) => process.stderr.write(`claim-check: ${m}\n`);
const n = (x: number) => Math.round(x).toLocaleString('en-US');

const servers = bootstrapServers();
const broker = new Broker(servers);
const s3 = s3Client();
const stamp = `bench-cc-${Date.now().toString(36)}`;
const bucket = stamp;
const stateDir = mkdtempSync(join(tmpdir(), 'kp-bench-cc-'));
const input = `${stamp}-in`;
const framework = new PipeProcess('claim-check kafka-pattern');
const direct = new PipeProcess('claim-check S3 direct');
const FRAMEWORK = new URL('./kafka-streams.ts', import.meta.url);
const DIRECT = new URL('./s3-direct.ts', import.meta.url);

type Op = 'write' | 'read';
const runs: Record<'framework' | 'direct', Record<Op, { round: number; seconds: number }[]>> = {
  framework: { write: [], read: [] },
  direct: { write: [], read: [] },
};

async function deleteObjects(prefix: string): Promise<number> {
  let deleted = 0;
  for (;;) {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!);
    if (keys.length === 0) return deleted;
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < keys.length; i = next++)
          await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: keys[i]! }));
      }),
    );
    deleted += keys.length;
  }
}

async function frameworkRound(round: number): Promise<void> {
  const check = round === 0;
  const target = (phase: Op): PipeTarget => ({
    pipe: framework,
    module: FRAMEWORK,
    guarantee: GUARANTEE,
    commitIntervalMs: COMMIT_INTERVAL_MS,
    params: { phase, size: SIZE, bucket, concurrency: CONCURRENCY, hash: check },
  });
  const w = `${stamp}-kp-${round}-w`;
  const r = `${stamp}-kp-${round}-r`;
  const claims = `${w}-out`;
  const drain = { broker, partitions: PARTITIONS, stateDir, timeoutMs: 180_000 };
  try {
    const write = await measureDrain(target('write'), {
      ...drain,
      inputs: [input],
      recordsPerInput: COUNT,
      expectedOutputs: COUNT,
      runId: w,
      keepTopics: true,
    });
    const read = await measureDrain(target('read'), {
      ...drain,
      inputs: [claims],
      recordsPerInput: COUNT,
      expectedOutputs: COUNT,
      runId: r,
      keepTopics: check,
    });
    if (check) {
      const refs = await collect(claims, { isolationLevel: 'read_committed' });
      const big = refs.filter((x) => x.value!.length >= 200 || x.value![0] !== 1);
      if (refs.length !== COUNT || big.length > 0)
        throw new Error(
          `${claims}: ${refs.length} records, ${big.length} of them not a reference under 200 bytes`,
        );
      const out = await collect(`${r}-out`, { isolationLevel: 'read_committed' });
      const got = new Map(out.map((x) => [x.key!.toString(), x.value!.toString()]));
      const bad = Array.from({ length: COUNT }, (_, i) => i).filter(
        (i) => got.get(`p-${i}`) !== sha256(payload(i, SIZE)),
      );
      if (got.size !== COUNT || bad.length > 0)
        throw new Error(
          `the read topology gave ${got.size} payloads, ${bad.length} of ${COUNT} differing by SHA-256`,
        );
      log(
        `check: ${COUNT} references of ${Math.min(...refs.map((x) => x.value!.length))}–${Math.max(...refs.map((x) => x.value!.length))} bytes on Kafka, every payload read back equal by SHA-256`,
      );
    }
    runs.framework.write.push({ round, seconds: write.seconds });
    runs.framework.read.push({ round, seconds: read.seconds });
    log(
      `round ${round} kafka-pattern: write ${write.seconds.toFixed(2)} s, read ${read.seconds.toFixed(2)} s`,
    );
  } finally {
    await broker.deleteTopicsWithPrefix(`${w}-`).catch(() => {});
    await broker.deleteTopicsWithPrefix(`${r}-`).catch(() => {});
    await deleteObjects(`bench/${claims}/`);
  }
}

async function directRound(round: number): Promise<void> {
  const check = round === 0;
  const id = `${stamp}-s3-${round}`;
  const run = (phase: 'put' | 'get') => ({
    bootstrapServers: servers,
    input,
    inputs: [input],
    output: input,
    groupId: `${id}-${phase}`,
    guarantee: GUARANTEE,
    commitIntervalMs: COMMIT_INTERVAL_MS,
    stateDir,
    params: { phase, size: SIZE, bucket, concurrency: CONCURRENCY, count: COUNT, hash: check },
  });
  try {
    const put = await direct.start(DIRECT, run('put'));
    await direct.stop();
    const get = await direct.start(DIRECT, run('get'));
    await direct.stop();
    if (!put || !get) throw new Error('the S3 baseline reported no timing');
    if (check) log(`check: S3 direct, every payload read back equal by SHA-256`);
    runs.direct.write.push({ round, seconds: put.ms / 1000 });
    runs.direct.read.push({ round, seconds: get.ms / 1000 });
    log(`round ${round} S3 direct: put ${(put.ms / 1000).toFixed(2)} s, get ${(get.ms / 1000).toFixed(2)} s`);
  } finally {
    await deleteObjects(`bench/${id}/`);
  }
}

const spread = (xs: number[]) => (Math.max(...xs) - Math.min(...xs)) / 2 / median(xs);

try {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await broker.createTopic(input, PARTITIONS);
  await prefill(servers, input, PARTITIONS, COUNT, (i) => ({ key: `p-${i}`, value: String(i) }));
  log(
    `${COUNT} payloads of ${n(SIZE)} bytes, ${CONCURRENCY} in flight, ${GUARANTEE}, S3 at ${s3Service().endpoint}; check round (warm-up), then ${REPS} rounds`,
  );
  for (let round = 0; round <= REPS; round++) {
    if (round % 2 === 0) {
      await frameworkRound(round);
      await directRound(round);
    } else {
      await directRound(round);
      await frameworkRound(round);
    }
  }
  const rows = (['write', 'read'] as const).flatMap((op) =>
    (['framework', 'direct'] as const).map((side) => {
      const timed = runs[side][op].filter((r) => r.round > 0).map((r) => COUNT / r.seconds);
      return {
        op,
        implementation:
          side === 'framework'
            ? op === 'write'
              ? 'kafka-pattern: stream → to, claimCheckSerde as sink serde'
              : 'kafka-pattern: claimCheckSerde as source serde → to'
            : op === 'write'
              ? 'S3 PutObject'
              : 'S3 GetObject',
        side,
        recordsPerSec: median(timed),
        mbPerSec: (median(timed) * SIZE) / 1e6,
        spread: spread(timed),
        runs: runs[side][op],
      };
    }),
  );
  console.log(
    `\nclaim check: ${COUNT} payloads of ${n(SIZE)} bytes, ${CONCURRENCY} in flight, ${GUARANTEE}, median of ${REPS} after a check round:`,
  );
  console.log('| direction | implementation | records/s | MB/s | runs ± | vs S3 alone | peak RSS MiB |');
  console.log('| --- | --- | --: | --: | --: | --: | --: |');
  for (const row of rows) {
    const base = rows.find((x) => x.op === row.op && x.side === 'direct')!;
    const rss = (row.side === 'framework' ? framework : direct).peakRssBytes / 2 ** 20;
    console.log(
      `| ${row.op} | ${row.implementation} | ${row.recordsPerSec.toFixed(1)} | ${row.mbPerSec.toFixed(1)} | ${Math.round(row.spread * 100)}% | ${(row.recordsPerSec / base.recordsPerSec).toFixed(2)}× | ${n(rss)} |`,
    );
  }
  const machine = machineInfo(servers);
  console.log(
    `\nS3: s3rver on loopback (${s3Service().endpoint}); load average ${machine.loadAverage.toFixed(2)}`,
  );
  writeJson(RESULTS, {
    when: new Date().toISOString(),
    machine,
    s3: { endpoint: s3Service().endpoint, server: 's3rver on loopback' },
    settings: {
      payloads: COUNT,
      sizeBytes: SIZE,
      concurrency: CONCURRENCY,
      guarantee: GUARANTEE,
      partitions: PARTITIONS,
      reps: REPS,
      checkRounds: 1,
    },
    rows,
    peakRssMiB: {
      framework: Math.round(framework.peakRssBytes / 2 ** 20),
      direct: Math.round(direct.peakRssBytes / 2 ** 20),
    },
  });
} finally {
  await Promise.allSettled([framework.exit(), direct.exit()]);
  await broker.deleteTopicsWithPrefix(stamp).catch(() => {});
  await broker.close();
  await deleteObjects('').catch(() => {});
  await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => {});
  rmSync(stateDir, { recursive: true, force: true });
}
