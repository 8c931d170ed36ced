/**
 * Connection settings shared by every client the adapter creates.
 *
 * The client retries each operation `retries` times with `retryDelay` between attempts, and each
 * connection attempt waits up to `connectTimeout`. These values bound how long an unreachable
 * bootstrap server takes to fail (refused: about a second; silently dropped: about 4 x 2 s),
 * while leaving enough retries to ride out a coordinator that is still loading after a broker
 * start (its internal topics are created on first use).
 */
import type { BaseOptions } from '@platformatic/kafka';

export interface ConnectionConfig {
  bootstrapServers: string[];
  clientId: string;
}

const RETRY_DELAYS_MS = [100, 250, 500, 1000, 1500];

export function baseOptions(config: ConnectionConfig, clientId: string): BaseOptions {
  return {
    clientId: sanitizeClientId(clientId),
    bootstrapBrokers: config.bootstrapServers,
    connectTimeout: 2000,
    retries: RETRY_DELAYS_MS.length,
    retryDelay: (_client, _operation, attempt) =>
      RETRY_DELAYS_MS[Math.min(attempt - 1, RETRY_DELAYS_MS.length - 1)] ?? 1000,
    metadataMaxAge: 5000,
    autocreateTopics: false,
  };
}

// The client rejects ids containing whitespace; group and application ids may contain some.
function sanitizeClientId(id: string): string {
  return id.replace(/\s/g, '_');
}
