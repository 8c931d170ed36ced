/**
 * Where the tests find PostgreSQL, Redis, S3, the Schema Registry and the broker's SASL_SSL
 * listener: DATABASE_URL, REDIS_URL, S3_*, SCHEMA_REGISTRY_URL and KAFKA_SASL_SSL_BOOTSTRAP_SERVERS,
 * KAFKA_SSL_CA_FILE, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, else the `.stack/env` file that
 * `pnpm stack:up` writes at the repository root (or `<KP_STACK_DIR>/env`), else the default local
 * ports. A service that does not answer fails the test that needs it, with the client's own error.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_STACK_ENV = fileURLToPath(new URL('../../.stack/env', import.meta.url));

/**
 * The env file of the stack whose broker the tests use: `<KP_STACK_DIR>/env` for a second stack
 * (such as a broker of another version), else the repository's `.stack/env`.
 */
export const STACK_ENV = process.env.KP_STACK_DIR?.trim()
  ? resolve(process.env.KP_STACK_DIR.trim(), 'env')
  : REPO_STACK_ENV;

/**
 * `name` from the stack's env file. A second stack may run only a broker: PostgreSQL, Redis and
 * S3 are then the repository stack's (`broker`: the setting belongs to the broker, so it is read
 * from its stack only).
 */
function fromStack(name: string, broker = false): string | undefined {
  const files = broker || STACK_ENV === REPO_STACK_ENV ? [STACK_ENV] : [STACK_ENV, REPO_STACK_ENV];
  for (const file of files) {
    try {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        const m = /^\s*(?:export\s+)?([A-Z_]+)\s*=\s*["']?([^"'\s]*)["']?\s*$/.exec(line);
        if (m?.[1] === name && m[2]) return m[2];
      }
    } catch {
      // No stack file: the next one, or the default.
    }
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

/** The broker's SASL_SSL listener: where it is, the CA its certificate is signed by and the user. */
export interface SaslSslService {
  readonly bootstrapServers: string[];
  /** The CA, PEM. */
  readonly ca: string;
  readonly caFile: string;
  readonly username: string;
  readonly password: string;
}

export function saslSslService(): SaslSslService {
  const get = (name: string) => process.env[name]?.trim() || fromStack(name, true);
  const servers = get('KAFKA_SASL_SSL_BOOTSTRAP_SERVERS');
  const caFile = get('KAFKA_SSL_CA_FILE');
  const username = get('KAFKA_SASL_USERNAME');
  const password = get('KAFKA_SASL_PASSWORD');
  if (!servers || !caFile || !username || !password) {
    throw new Error(
      `No SASL_SSL listener in ${STACK_ENV} or the environment (KAFKA_SASL_SSL_BOOTSTRAP_SERVERS, KAFKA_SSL_CA_FILE, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD): run scripts/stack.sh up (a broker started before the listener existed needs 'scripts/stack.sh down kafka' first)`,
    );
  }
  return {
    bootstrapServers: servers
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    ca: readFileSync(caFile, 'utf8'),
    caFile,
    username,
    password,
  };
}

/** The Schema Registry's Confluent-compatible API: SCHEMA_REGISTRY_URL (the stack's Apicurio Registry by default). */
export function schemaRegistryUrl(): string {
  return (
    process.env.SCHEMA_REGISTRY_URL?.trim() ||
    fromStack('SCHEMA_REGISTRY_URL') ||
    'http://127.0.0.1:8081/apis/ccompat/v7'
  );
}
