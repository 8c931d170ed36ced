/**
 * Where the local stack runs, for the demos: environment variables first, then the `.stack/env`
 * file that `pnpm stack:up` writes at the repository root, then the default local ports.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const STACK_ENV = fileURLToPath(new URL('../../../../.stack/env', import.meta.url));

function stackFile(): Record<string, string> {
  const out: Record<string, string> = {};
  try {
    for (const line of readFileSync(STACK_ENV, 'utf8').split('\n')) {
      const m = /^\s*(?:export\s+)?([A-Z_]+)\s*=\s*["']?([^"'\s]*)["']?\s*$/.exec(line);
      if (m) out[m[1]!] = m[2]!;
    }
  } catch {
    // no stack file: defaults below
  }
  return out;
}

export interface LocalS3 {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export function localStack(): {
  bootstrapServers: string[];
  databaseUrl: string;
  redisUrl: string;
  s3: LocalS3;
} {
  const file = stackFile();
  const kafka = process.env.KAFKA_BOOTSTRAP_SERVERS ?? file.KAFKA_BOOTSTRAP_SERVERS ?? '127.0.0.1:9092';
  return {
    bootstrapServers: kafka
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    databaseUrl:
      process.env.DATABASE_URL ?? file.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/kafka_pattern',
    redisUrl: process.env.REDIS_URL ?? file.REDIS_URL ?? 'redis://127.0.0.1:6379',
    s3: {
      endpoint: process.env.S3_ENDPOINT ?? file.S3_ENDPOINT ?? 'http://127.0.0.1:4568',
      region: process.env.S3_REGION ?? file.S3_REGION ?? 'us-east-1',
      accessKeyId: process.env.S3_ACCESS_KEY_ID ?? file.S3_ACCESS_KEY_ID ?? 'S3RVER',
      secretAccessKey: process.env.S3_SECRET_ACCESS_KEY ?? file.S3_SECRET_ACCESS_KEY ?? 'S3RVER',
    },
  };
}
