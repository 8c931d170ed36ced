/**
 * How the clients reach a secured cluster, in Kafka's terms: `tls` (Kafka's security.protocol
 * SSL or SASL_SSL) and `sasl` (sasl.mechanism with its credentials). A managed Kafka (Confluent
 * Cloud, Amazon MSK, Aiven) typically wants both: `tls: true` and a SASL mechanism.
 *
 * `sasl` is a union on `mechanism`, so a PLAIN login without a password, or an OAUTHBEARER one
 * with a username, does not compile.
 */

/** A PEM string or buffer, or several. */
export type PemInput = string | Buffer | Array<string | Buffer>;

/** The node:tls options a Kafka client needs. */
export interface TlsOptions {
  /** CAs to trust instead of Node's bundled ones (ssl.truststore): the cluster's CA, in PEM. */
  ca?: PemInput;
  /** The client's certificate chain, in PEM, for clusters that authenticate clients by certificate (mTLS). */
  cert?: PemInput;
  /** The client's private key, in PEM (ssl.keystore). */
  key?: PemInput;
  /** Passphrase of an encrypted `key` (ssl.key.password). */
  passphrase?: string;
  /** The name to ask for (SNI) and to check the broker's certificate against, when it is not the host connected to. */
  servername?: string;
  /**
   * false accepts a certificate that does not verify (a test cluster only: anyone in between can
   * read and change the traffic). Default true.
   */
  rejectUnauthorized?: boolean;
}

/** `true`: TLS with Node's bundled CAs (enough for a cluster with a public certificate). */
export type TlsSettings = true | TlsOptions;

export type SaslPasswordMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

/** A username and password login (Confluent Cloud: the API key and secret, with PLAIN). */
export interface SaslPasswordSettings {
  mechanism: SaslPasswordMechanism;
  username: string;
  password: string;
  token?: never;
  extensions?: never;
}

/** An OAuth 2 bearer token (KIP-255), or a function fetching a fresh one for each connection. */
export interface SaslOAuthBearerSettings {
  mechanism: 'OAUTHBEARER';
  token: string | (() => Promise<string> | string);
  /** SASL extensions sent with the token (e.g. Confluent Cloud's logicalCluster and identityPoolId). */
  extensions?: Record<string, string>;
  username?: never;
  password?: never;
}

export type SaslSettings = SaslPasswordSettings | SaslOAuthBearerSettings;

/** What the clients authenticate with. */
export interface SecuritySettings {
  tls?: TlsSettings | undefined;
  sasl?: SaslSettings | undefined;
}

const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const;
const TLS_OPTIONS = ['ca', 'cert', 'key', 'passphrase', 'servername', 'rejectUnauthorized'] as const;
const PASSWORD_FIELDS = ['mechanism', 'username', 'password'];
const OAUTH_FIELDS = ['mechanism', 'token', 'extensions'];

/**
 * What is wrong with `tls` and `sasl`, naming the setting as `${prefix}tls...`, or undefined when
 * they are usable. For callers that are not type-checked (JavaScript, JSON configuration).
 */
export function securityProblem(
  settings: { tls?: unknown; sasl?: unknown },
  prefix: string,
): string | undefined {
  return tlsProblem(settings.tls, `${prefix}tls`) ?? saslProblem(settings.sasl, `${prefix}sasl`);
}

function tlsProblem(tls: unknown, name: string): string | undefined {
  if (tls === undefined || tls === true) return undefined;
  if (typeof tls !== 'object' || tls === null || Array.isArray(tls)) {
    return `${name} must be true or an object of TLS options (${TLS_OPTIONS.join(', ')}), got ${shown(tls)}`;
  }
  for (const [key, value] of Object.entries(tls)) {
    if (!(TLS_OPTIONS as readonly string[]).includes(key)) {
      return `${name}.${key} is not a TLS option: use ${TLS_OPTIONS.join(', ')}`;
    }
    if (value === undefined) continue;
    if (key === 'ca' || key === 'cert' || key === 'key') {
      const items = Array.isArray(value) ? value : [value];
      if (items.length === 0 || items.some((v) => typeof v !== 'string' && !Buffer.isBuffer(v))) {
        return `${name}.${key} must be PEM text (a string or Buffer, e.g. readFileSync('ca.pem')) or an array of them, got ${shown(value)}`;
      }
      if (items.some((v) => typeof v === 'string' && !v.includes('-----BEGIN'))) {
        return `${name}.${key} must be the PEM content, not a file name: read it first, e.g. readFileSync(${JSON.stringify(String(items[0]))})`;
      }
    } else if (key === 'rejectUnauthorized') {
      if (typeof value !== 'boolean')
        return `${name}.rejectUnauthorized must be true or false, got ${shown(value)}`;
    } else if (typeof value !== 'string' || value === '') {
      return `${name}.${key} must be a non-empty string, got ${shown(value)}`;
    }
  }
  const t = tls as TlsOptions;
  if ((t.cert === undefined) !== (t.key === undefined)) {
    return `${name}.cert and ${name}.key go together (the client certificate and its private key): give both or neither`;
  }
  return undefined;
}

function saslProblem(sasl: unknown, name: string): string | undefined {
  if (sasl === undefined) return undefined;
  if (typeof sasl !== 'object' || sasl === null || Array.isArray(sasl)) {
    return `${name} must be an object { mechanism, username, password } or { mechanism: 'OAUTHBEARER', token }, got ${shown(sasl)}`;
  }
  const s = sasl as Record<string, unknown>;
  const mechanism = s.mechanism;
  if (typeof mechanism !== 'string' || !(SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
    const upper = typeof mechanism === 'string' ? mechanism.toUpperCase().replace(/_/g, '-') : undefined;
    const hint =
      upper !== undefined && (SASL_MECHANISMS as readonly string[]).includes(upper)
        ? ` (did you mean '${upper}'?)`
        : '';
    return `${name}.mechanism ${shown(mechanism)} is not supported${hint}: use ${SASL_MECHANISMS.map((m) => `'${m}'`).join(', ')}`;
  }
  const fields = mechanism === 'OAUTHBEARER' ? OAUTH_FIELDS : PASSWORD_FIELDS;
  for (const key of Object.keys(s)) {
    if (!fields.includes(key) && s[key] !== undefined) {
      return `${name}.${key} does not apply to mechanism ${mechanism}: give ${fields.map((f) => `${name}.${f}`).join(', ')}`;
    }
  }
  if (mechanism === 'OAUTHBEARER') {
    if (!(typeof s.token === 'function' || (typeof s.token === 'string' && s.token !== ''))) {
      return `${name}.token must be the bearer token (a non-empty string) or a function returning one, got ${shown(s.token)}`;
    }
    const ext = s.extensions;
    if (
      ext !== undefined &&
      (typeof ext !== 'object' ||
        ext === null ||
        Array.isArray(ext) ||
        Object.values(ext).some((v) => typeof v !== 'string'))
    ) {
      return `${name}.extensions must be an object of string values, got ${shown(ext)}`;
    }
    return undefined;
  }
  for (const key of ['username', 'password'] as const) {
    if (typeof s[key] !== 'string' || s[key] === '') {
      return `${name}.${key} must be a non-empty string (mechanism ${mechanism} logs in with a username and password), got ${key === 'password' && typeof s[key] === 'string' ? 'an empty string' : shown(s[key])}`;
    }
  }
  return undefined;
}

/** How a value is shown in a message; never the content of a string that may be a secret. */
function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (Buffer.isBuffer(value)) return 'a Buffer';
  if (typeof value === 'string')
    return value.length <= 40 && !/\s/.test(value) ? JSON.stringify(value) : 'a string';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
