/**
 * `pnpm claim-check:cleanup --topic <t> --bucket <b> [--prefix <p>] [--grace-ms <n>] [--dry-run]
 * [--topic-deleted] [--scan-timeout-ms <n>] [--bootstrap-servers <h:p,...>]`: removes the S3
 * objects of a claim-check topic whose records are gone (see cleanup.ts for the rule). Kafka from
 * --bootstrap-servers or KAFKA_BOOTSTRAP_SERVERS; S3 from S3_ENDPOINT, S3_REGION,
 * S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY (path-style), or the AWS SDK's defaults when
 * S3_ENDPOINT is unset. Several --topic options clean several topics.
 */
import { parseArgs } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { cleanupClaims } from './cleanup.ts';

const usage =
  'usage: claim-check:cleanup --topic <topic> [--topic ...] --bucket <bucket> [--prefix <prefix>] [--grace-ms <ms>] [--dry-run] [--topic-deleted] [--scan-timeout-ms <ms>] [--bootstrap-servers <host:port,...>]';

function fail(message: string): never {
  console.error(`error: ${message}\n${usage}`);
  process.exit(2);
}

let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      topic: { type: 'string', multiple: true },
      bucket: { type: 'string' },
      prefix: { type: 'string' },
      'grace-ms': { type: 'string' },
      'scan-timeout-ms': { type: 'string' },
      'dry-run': { type: 'boolean' },
      'topic-deleted': { type: 'boolean' },
      'bootstrap-servers': { type: 'string' },
    },
  });
}
try {
  args = parse();
} catch (error) {
  fail((error as Error).message);
}
const v = args.values;
if (!v.topic?.length) fail('name at least one --topic');
if (!v.bucket) fail('name the --bucket the serde writes to');
const num = (name: string, s: string | undefined) => {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n) || n < 0) fail(`--${name} must be a number of milliseconds >= 0 (got ${s})`);
  return n;
};
const bootstrapServers = (v['bootstrap-servers'] ?? process.env.KAFKA_BOOTSTRAP_SERVERS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
if (bootstrapServers.length === 0) fail('give --bootstrap-servers or set KAFKA_BOOTSTRAP_SERVERS');
const env = process.env;
const s3 = new S3Client(
  env.S3_ENDPOINT
    ? {
        endpoint: env.S3_ENDPOINT,
        region: env.S3_REGION ?? 'us-east-1',
        forcePathStyle: true,
        ...(env.S3_ACCESS_KEY_ID && env.S3_SECRET_ACCESS_KEY
          ? { credentials: { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY } }
          : {}),
      }
    : {},
);
try {
  for (const topic of v.topic) {
    const r = await cleanupClaims({
      s3,
      bucket: v.bucket,
      prefix: v.prefix,
      bootstrapServers,
      topic,
      graceMs: num('grace-ms', v['grace-ms']),
      scanTimeoutMs: num('scan-timeout-ms', v['scan-timeout-ms']),
      dryRun: v['dry-run'],
      topicDeleted: v['topic-deleted'],
    });
    console.log(
      `${topic}: retention.ms=${r.retentionMs ?? '-'} cleanup.policy=${r.cleanupPolicy ?? '-'}; read ${r.scannedRecords} records referring to ${r.referenced} objects; ` +
        `${r.listed} objects under the prefix, ${r.deleted.length} ${v['dry-run'] ? 'would be deleted' : 'deleted'}, ${r.young.length} unreferenced but within the grace`,
    );
    for (const uri of r.deleted) console.log(`  ${v['dry-run'] ? 'would delete' : 'deleted'} ${uri}`);
  }
} catch (error) {
  console.error(`error: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  s3.destroy();
}
