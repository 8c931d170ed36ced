/**
 * Where the tests find PostgreSQL, Redis, S3 and the Schema Registry: DATABASE_URL, REDIS_URL, S3_* and
 * SCHEMA_REGISTRY_URL, else the `.stack/env`
 * file that `pnpm stack:up` writes at the repository root, else the default local ports. A
 * service that does not answer fails the test that needs it, with the client's own error.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const STACK_ENV = fileURLToPath(new URL('../../.stack/env', import.meta.url));

function fromStack(name: string): string | undefined {
  try {
    for (const line of readFileSync(STACK_ENV, 'utf8').split('\n')) {
      const m = /^\s*(?:export\s+)?([A-Z_]+)\s*=\s*["']?([^"'\s]*)["']?\s*$/.exec(line);
      if (m?.[1] === name && m[2]) return m[2];
    }
  } catch {
    // No stack file: the default below.
  }
  return undefined;
}

export function databaseUrl(): string {
  return (
    process.env.DATABASE_URL?.trim() ||
    fromStack('DATABASE_URL') ||
    'postgres://postgres@127.0.0.1:5432/kafka_pattern'
  );
}

/** Redis, in database `db` when given (tests that flush use a database of their own). */
export function redisUrl(db?: number): string {
  const url = new URL(process.env.REDIS_URL?.trim() || fromStack('REDIS_URL') || 'redis://127.0.0.1:6379');
  if (db !== undefined) url.pathname = `/${db}`;
  return url.toString();
}

/** The S3 server: S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY (the stack's s3rver by default). */
export interface S3Service {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export function s3Service(): S3Service {
  const get = (name: string, fallback: string) => process.env[name]?.trim() || fromStack(name) || fallback;
  return {
    endpoint: get('S3_ENDPOINT', 'http://127.0.0.1:4568'),
    region: get('S3_REGION', 'us-east-1'),
    accessKeyId: get('S3_ACCESS_KEY_ID', 'S3RVER'),
    secretAccessKey: get('S3_SECRET_ACCESS_KEY', 'S3RVER'),
  };
}

/** Host and port of a service URL, for a proxy in front of it. */
export function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname || '127.0.0.1', port: Number(u.port || (u.protocol === 'redis:' ? 6379 : 5432)) };
}

/** The Schema Registry's Confluent-compatible API: SCHEMA_REGISTRY_URL (the stack's Apicurio Registry by default). */
export function schemaRegistryUrl(): string {
  return (
    process.env.SCHEMA_REGISTRY_URL?.trim() ||
    fromStack('SCHEMA_REGISTRY_URL') ||
    'http://127.0.0.1:8081/apis/ccompat/v7'
  );
}
