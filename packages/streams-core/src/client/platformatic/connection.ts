/**
 * Connection settings shared by every client the adapter creates.
 *
 * The client retries each operation `retries` times with `retryDelay` between attempts, and each
 * connection attempt waits up to `connectTimeout`. These values bound how long an unreachable
 * bootstrap server takes to fail (refused: about a second; silently dropped: about 4 x 2 s),
 * while leaving enough retries to ride out a coordinator that is still loading after a broker
 * start (its internal topics are created on first use).
 *
 * TLS and SASL go into the same options, so every connection of every client (group consumer,
 * its fetch and offsets clients, producers, admin, partition readers) is set up the same way. A
 * connection attempt then also covers the TLS handshake and the SASL exchange, a few more round
 * trips to a cluster that may be far away: it gets a longer timeout.
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { BaseOptions, SASLOptions } from '@platformatic/kafka';
import type { SaslSettings, SecuritySettings, TlsSettings } from '../security.ts';
import { hasApiError } from './errors.ts';

export interface ConnectionConfig {
  bootstrapServers: string[];
  clientId: string;
  tls?: TlsSettings | undefined;
  sasl?: SaslSettings | undefined;
}

const RETRY_DELAYS_MS = [100, 250, 500, 1000, 1500];
/**
 * CONCURRENT_TRANSACTIONS answers the first AddPartitionsToTxn (or AddOffsetsToTxn, or
 * InitProducerId) of a transaction while the coordinator is still writing the markers of the one
 * before, which takes a few milliseconds. Waited out at the usual 100 ms, it would cost every
 * transaction a tenth of a second (the Java client also backs off only 20 ms here); the later
 * delays still add up to seconds, for a coordinator that is slow to finish.
 */
const CONCURRENT_TRANSACTIONS_DELAYS_MS = [2, 10, 50, 500, 1500];
const CONNECT_TIMEOUT_MS = 2000;
const SECURED_CONNECT_TIMEOUT_MS = 5000;

export function baseOptions(config: ConnectionConfig, clientId: string): BaseOptions {
  const secured = config.tls !== undefined || config.sasl !== undefined;
  return {
    clientId: sanitizeClientId(clientId),
    bootstrapBrokers: config.bootstrapServers,
    connectTimeout: secured ? SECURED_CONNECT_TIMEOUT_MS : CONNECT_TIMEOUT_MS,
    retries: RETRY_DELAYS_MS.length,
    retryDelay: (_client, _operation, attempt, _retries, error) => retryDelayMs(attempt, error),
    metadataMaxAge: 5000,
    autocreateTopics: false,
    ...securityOptions(config),
  };
}

/** The client's `tls` and `sasl` options for the port's settings. */
export function securityOptions(settings: SecuritySettings): {
  tls?: TlsConnectionOptions;
  sasl?: SASLOptions;
} {
  const result: { tls?: TlsConnectionOptions; sasl?: SASLOptions } = {};
  if (settings.tls !== undefined) result.tls = settings.tls === true ? {} : { ...settings.tls };
  const sasl = settings.sasl;
  if (sasl !== undefined) {
    result.sasl =
      sasl.mechanism === 'OAUTHBEARER'
        ? {
            mechanism: 'OAUTHBEARER',
            token: sasl.token,
            ...(sasl.extensions !== undefined ? { oauthBearerExtensions: { ...sasl.extensions } } : {}),
            authBytesValidator: checkOAuthBearerReply,
          }
        : { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password };
  }
  return result;
}

/** How long the client waits before retry `attempt` (1-based) of an operation that failed with `error`. */
export function retryDelayMs(attempt: number, error: unknown): number {
  const delays = hasApiError(error, 'CONCURRENT_TRANSACTIONS')
    ? CONCURRENT_TRANSACTIONS_DELAYS_MS
    : RETRY_DELAYS_MS;
  return delays[Math.min(attempt - 1, delays.length - 1)] ?? 1000;
}

/**
 * A broker that refuses an OAUTHBEARER token does not fail the SaslAuthenticate request: it
 * answers with an error challenge, a JSON object such as {"status":"invalid_token"} (RFC 7628
 * section 3.2.2), and waits for the client to end the exchange. Read as a success, the next
 * request on the connection would be refused as ILLEGAL_SASL_STATE; this turns the challenge
 * into the authentication failure it is, with the broker's status as its message. A successful
 * login answers with no bytes.
 */
export function checkOAuthBearerReply(
  authBytes: Buffer,
  callback: (error: Error | null, authBytes: Buffer) => void,
): void {
  if (authBytes.length === 0) {
    callback(null, authBytes);
    return;
  }
  let reply: unknown;
  try {
    reply = JSON.parse(authBytes.toString('utf8'));
  } catch {
    reply = undefined;
  }
  const status =
    reply !== null && typeof reply === 'object' && 'status' in reply ? String(reply.status) : undefined;
  callback(new OAuthBearerTokenRefused(status, authBytes.toString('utf8')), authBytes);
}

/** The broker's refusal of an OAUTHBEARER token, shaped as the protocol error the mapping reads. */
class OAuthBearerTokenRefused extends Error {
  readonly apiId = 'SASL_AUTHENTICATION_FAILED';
  readonly serverErrorMessage: string;
  constructor(status: string | undefined, reply: string) {
    const said =
      status !== undefined ? `token refused with status ${status}` : `unexpected OAUTHBEARER reply ${reply}`;
    super(said);
    this.name = 'OAuthBearerTokenRefused';
    this.serverErrorMessage = said;
  }
}

/** Who the clients log in as, for error messages: never the password or token. */
export function securityContext(config: ConnectionConfig): {
  sasl?: { mechanism: string; username?: string };
  tls?: boolean;
} {
  const sasl = config.sasl;
  return {
    ...(sasl !== undefined
      ? {
          sasl: {
            mechanism: sasl.mechanism,
            ...(sasl.mechanism !== 'OAUTHBEARER' ? { username: sasl.username } : {}),
          },
        }
      : {}),
    ...(config.tls !== undefined ? { tls: true } : {}),
  };
}

// The client rejects ids containing whitespace; group and application ids may contain some.
function sanitizeClientId(id: string): string {
  return id.replace(/\s/g, '_');
}
