/**
 * Maps @platformatic/kafka errors (nested MultipleErrors / ResponseError trees carrying protocol
 * error ids and socket error codes) onto the port's error classes.
 */
import {
  AuthenticationFailedError,
  BrokerUnreachableError,
  CoordinatorUnavailableError,
  KafkaClientError,
  OffsetOutOfRangeError,
  ProducerFencedError,
  RebalanceError,
  TlsConnectionError,
  TopicCreationError,
  TopicNotFoundError,
  TransientBrokerError,
} from '../errors.ts';
import type { TopicSpec } from '../port.ts';

interface ErrorFacts {
  apiIds: Set<string>;
  socketCodes: Set<string>;
  network: boolean;
  unknownTopics: Set<string>;
  /** Broker error names with the broker's own message, in the order found. */
  protocolErrors: Array<{ apiId: string; serverMessage: string | undefined }>;
  /** The client's SASL login was refused ("SASL authentication failed."). */
  saslFailed: boolean;
  /** The SASL handshake failed: the listener does not offer the mechanism, or no SASL at all. */
  saslHandshakeFailed: boolean;
  /** The mechanisms the listener offers, when its handshake answer named them. */
  saslMechanisms: string[];
  /** Node's TLS certificate error, first found: its code and message. */
  tlsCertificate: { code: string; message: string } | undefined;
  /** A TLS client met a listener that does not speak TLS. */
  tlsNotOffered: boolean;
  /** A plaintext client met a TLS listener. */
  tlsRequired: boolean;
  /** "host:port" of the connection that failed, when the client named it. */
  broker: string | undefined;
}

/** Node's codes for a broker certificate that does not verify (OpenSSL's X509_V_ERR_* names, and the host name check). */
const TLS_CERTIFICATE_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/** OpenSSL's answers when the other end of a TLS connection does not speak TLS. */
const TLS_PROTOCOL_CODES = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_UNKNOWN_PROTOCOL',
  'ERR_SSL_RECORD_LAYER_FAILURE',
]);

const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  'EAI_AGAIN',
]);

export function errorFacts(error: unknown): ErrorFacts {
  const facts: ErrorFacts = {
    apiIds: new Set(),
    socketCodes: new Set(),
    network: false,
    unknownTopics: new Set(),
    protocolErrors: [],
    saslFailed: false,
    saslHandshakeFailed: false,
    saslMechanisms: [],
    tlsCertificate: undefined,
    tlsNotOffered: false,
    tlsRequired: false,
    broker: undefined,
  };
  const seen = new Set<unknown>();
  const visit = (e: unknown): void => {
    if (e === null || typeof e !== 'object' || seen.has(e)) return;
    seen.add(e);
    const err = e as {
      apiId?: unknown;
      code?: unknown;
      message?: unknown;
      errors?: unknown;
      cause?: unknown;
      serverErrorMessage?: unknown;
      response?: { mechanisms?: unknown };
    };
    const offered = err.response?.mechanisms;
    if (Array.isArray(offered) && offered.length > 0 && facts.saslMechanisms.length === 0) {
      facts.saslMechanisms = offered.filter((m): m is string => typeof m === 'string');
    }
    if (typeof err.apiId === 'string') {
      facts.apiIds.add(err.apiId);
      const serverMessage =
        typeof err.serverErrorMessage === 'string' && err.serverErrorMessage !== ''
          ? err.serverErrorMessage
          : undefined;
      facts.protocolErrors.push({ apiId: err.apiId, serverMessage });
    }
    const message = typeof err.message === 'string' ? err.message : '';
    if (typeof err.code === 'string') {
      if (err.code === 'PLT_KFK_NETWORK' || err.code === 'PLT_KFK_TIMEOUT') facts.network = true;
      if (SOCKET_CODES.has(err.code)) facts.socketCodes.add(err.code);
      if (TLS_CERTIFICATE_CODES.has(err.code)) facts.tlsCertificate ??= { code: err.code, message };
      if (TLS_PROTOCOL_CODES.has(err.code)) facts.tlsNotOffered = true;
      if (err.code === 'PLT_KFK_AUTHENTICATION') {
        if (/SASL authentication failed/.test(message)) facts.saslFailed = true;
        if (/suitable SASL mechanism/.test(message)) facts.saslHandshakeFailed = true;
      }
      if (err.code === 'PLT_KFK_USER') {
        if (/TLS handshake failed/.test(message)) facts.tlsNotOffered = true;
        if (/Broker requires TLS/.test(message)) facts.tlsRequired = true;
      }
    }
    if (message !== '') {
      const m = /^Unknown topic (.+)\.$/.exec(message);
      if (m?.[1]) facts.unknownTopics.add(m[1]);
      if (/Cannot connect to any broker|Connection to .* timed out/.test(message)) facts.network = true;
      const failed = /^Connection to (\S+:\d+) failed\.$/.exec(message);
      if (failed?.[1]) facts.broker ??= failed[1];
    }
    if (Array.isArray(err.errors)) for (const inner of err.errors) visit(inner);
    visit(err.cause);
  };
  visit(error);
  return facts;
}

export function hasApiError(error: unknown, ...apiIds: string[]): boolean {
  const facts = errorFacts(error);
  return apiIds.some((id) => facts.apiIds.has(id));
}

export interface MapContext {
  bootstrapServers: string[];
  topics?: string[];
  transactionalId?: string;
  /** The SASL login the clients use (never its secret), for naming it when it is refused. */
  sasl?: { mechanism: string; username?: string };
  /** Whether the clients connect with TLS. */
  tls?: boolean;
}

const REBALANCE_IDS = [
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'REBALANCE_IN_PROGRESS',
  'FENCED_INSTANCE_ID',
];
const FENCED_IDS = [
  'PRODUCER_FENCED',
  'INVALID_PRODUCER_EPOCH',
  'TRANSACTIONAL_ID_NOT_FOUND',
  'INVALID_TXN_STATE',
];
const COORDINATOR_IDS = ['COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR', 'COORDINATOR_LOAD_IN_PROGRESS'];
/** Broker answers that pass by themselves (Kafka's RetriableException family). */
const TRANSIENT_IDS = [
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'REQUEST_TIMED_OUT',
  'NETWORK_EXCEPTION',
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'CONCURRENT_TRANSACTIONS',
  'KAFKA_STORAGE_ERROR',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'OFFSET_NOT_AVAILABLE',
  'UNSTABLE_OFFSET_COMMIT',
  'THROTTLING_QUOTA_EXCEEDED',
];

/** The port error for `error`, or `error` itself when it has no better name. */
export function toPortError(error: unknown, context: MapContext): Error {
  if (error instanceof KafkaClientError) return error;
  const facts = errorFacts(error);
  const cause = { cause: error };
  const security = securityError(facts, context, cause);
  if (security) return security;
  if (facts.unknownTopics.size > 0) return new TopicNotFoundError([...facts.unknownTopics], cause);
  if (facts.apiIds.has('UNKNOWN_TOPIC_OR_PARTITION') || facts.apiIds.has('UNKNOWN_TOPIC_ID')) {
    return new TopicNotFoundError(context.topics ?? ['(unknown)'], cause);
  }
  if (context.transactionalId && FENCED_IDS.some((id) => facts.apiIds.has(id))) {
    return new ProducerFencedError(context.transactionalId, cause);
  }
  const rebalance = REBALANCE_IDS.find((id) => facts.apiIds.has(id));
  if (rebalance) {
    return new RebalanceError(
      `The consumer group rebalanced (${rebalance}): this member no longer owns the work it was doing; abort it, the partitions' owner reprocesses from the committed offsets`,
      [],
      cause,
    );
  }
  if (facts.apiIds.has('OFFSET_OUT_OF_RANGE')) return new OffsetOutOfRangeError([], cause);
  const coordinator = COORDINATOR_IDS.find((id) => facts.apiIds.has(id));
  if (coordinator) {
    return new CoordinatorUnavailableError(
      `The coordinator at ${context.bootstrapServers.join(',')} is not available (${coordinator}): the broker may still be starting; retry, and check the broker log if it persists`,
      cause,
    );
  }
  if (facts.network || facts.socketCodes.size > 0) {
    const reason = facts.socketCodes.size > 0 ? [...facts.socketCodes].join(', ') : 'no connection';
    return new BrokerUnreachableError(context.bootstrapServers, reason, cause);
  }
  const transient = TRANSIENT_IDS.find((id) => facts.apiIds.has(id));
  if (transient) return new TransientBrokerError(transient, cause);
  return error instanceof Error ? error : new KafkaClientError(String(error));
}

/**
 * A refused login or a TLS failure: neither passes by itself, so neither is a BrokerUnreachableError
 * (which the runtime waits out); each names the setting to change.
 */
function securityError(facts: ErrorFacts, context: MapContext, cause: ErrorOptions): Error | undefined {
  const broker = facts.broker ?? context.bootstrapServers.join(',');
  const mechanism = context.sasl?.mechanism;
  const username = context.sasl?.username;
  if (facts.saslFailed || facts.apiIds.has('SASL_AUTHENTICATION_FAILED')) {
    const said = facts.protocolErrors.find((e) => e.apiId === 'SASL_AUTHENTICATION_FAILED')?.serverMessage;
    const who = username !== undefined ? ` for user "${username}"` : '';
    const fix =
      mechanism === 'OAUTHBEARER'
        ? 'check client.sasl token (expired, or issued for another cluster) and client.sasl extensions'
        : 'check client.sasl username/password, and that the user has credentials for this mechanism on the cluster (SCRAM credentials are stored per mechanism: kafka-configs --alter --entity-type users --add-config SCRAM-SHA-512=[password=...])';
    return new AuthenticationFailedError(
      `SASL authentication failed${who} with mechanism ${mechanism ?? '(unknown)'} at ${broker}${said ? ` (broker: ${said})` : ''}: ${fix}`,
      { mechanism, username, broker },
      cause,
    );
  }
  if (facts.apiIds.has('ILLEGAL_SASL_STATE')) {
    return new AuthenticationFailedError(
      `The listener at ${broker} does not use SASL (ILLEGAL_SASL_STATE): connect to the cluster's SASL_SSL or SASL_PLAINTEXT port, or remove client.sasl`,
      { mechanism, username, broker },
      cause,
    );
  }
  if (facts.apiIds.has('UNSUPPORTED_SASL_MECHANISM')) {
    const offered = facts.saslMechanisms.length > 0 ? ` (it offers ${facts.saslMechanisms.join(', ')})` : '';
    return new AuthenticationFailedError(
      `The listener at ${broker} does not accept SASL mechanism ${mechanism ?? '(unknown)'}${offered}: set client.sasl.mechanism to one the cluster enables (sasl.enabled.mechanisms)`,
      { mechanism, username, broker },
      cause,
    );
  }
  if (facts.saslHandshakeFailed && !context.tls) {
    // A TLS listener answers a plaintext SASL handshake by closing the connection.
    return new TlsConnectionError(
      `The listener at ${broker} closed the connection when the SASL login began: it most likely requires TLS (a SASL_SSL listener): set client.tls (true, or { ca } for a cluster with a private CA)`,
      'TLS_REQUIRED',
      broker,
      cause,
    );
  }
  if (facts.saslHandshakeFailed) {
    return new AuthenticationFailedError(
      `The SASL handshake with ${broker} failed (mechanism ${mechanism ?? '(unknown)'}): check that this port is the cluster's SASL port and client.sasl.mechanism is one it enables`,
      { mechanism, username, broker },
      cause,
    );
  }
  const cert = facts.tlsCertificate;
  if (cert) {
    const reason = `${cert.code}: ${cert.message}`;
    if (cert.code === 'ERR_TLS_CERT_ALTNAME_INVALID' || cert.code === 'HOSTNAME_MISMATCH') {
      return new TlsConnectionError(
        `The broker's TLS certificate at ${broker} does not name the host connected to (${reason}): connect by a name the certificate lists, or set client.tls.servername to one`,
        cert.code,
        broker,
        cause,
      );
    }
    if (cert.code === 'CERT_HAS_EXPIRED' || cert.code === 'CERT_NOT_YET_VALID') {
      return new TlsConnectionError(
        `The broker's TLS certificate at ${broker} is not valid now (${reason}): the broker needs a current certificate (or this machine's clock is wrong)`,
        cert.code,
        broker,
        cause,
      );
    }
    return new TlsConnectionError(
      `The broker's TLS certificate at ${broker} is not trusted (${reason}): pass the CA that signed it in client.tls.ca (PEM text, e.g. readFileSync('ca.pem'))`,
      cert.code,
      broker,
      cause,
    );
  }
  if (facts.tlsNotOffered && context.tls) {
    return new TlsConnectionError(
      `The listener at ${broker} does not speak TLS (the TLS handshake failed): connect to the cluster's SSL or SASL_SSL port, or remove client.tls for a PLAINTEXT or SASL_PLAINTEXT listener`,
      'TLS_NOT_OFFERED',
      broker,
      cause,
    );
  }
  if (facts.tlsRequired) {
    return new TlsConnectionError(
      `The listener at ${broker} requires TLS and the client connected without it: set client.tls (true, or { ca } for a cluster with a private CA)`,
      'TLS_REQUIRED',
      broker,
      cause,
    );
  }
  return undefined;
}

/** Awaits `promise`, rethrowing its failure as a port error. */
export async function mapped<T>(promise: Promise<T>, context: MapContext): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    throw toPortError(error, context);
  }
}

export interface TopicCreationContext extends MapContext {
  /** The topic whose creation failed. */
  spec: TopicSpec;
  /** Topics of the same request not created yet: named too when they fail for the same reason. */
  pending: readonly TopicSpec[];
  /** Brokers in the cluster, when known. */
  brokers: number | undefined;
}

const LEGAL_TOPIC = "use at most 249 characters from letters, digits, '.', '_' and '-'";

/**
 * The port error for a failed CreateTopics of `context.spec`: a connection or coordinator
 * problem keeps its own class; a broker refusal becomes a TopicCreationError that names the
 * topics, the broker's reason and what to change.
 */
export function toTopicCreationError(error: unknown, context: TopicCreationContext): Error {
  const port = toPortError(error, context);
  if (port instanceof KafkaClientError) return port;
  const facts = errorFacts(error);
  const refusal = facts.protocolErrors[0];
  if (!refusal) return port;
  const { spec } = context;
  const cause = { cause: error };
  const create = (topics: string[], problem: string, fix: string) =>
    new TopicCreationError(topics, refusal.apiId, refusal.serverMessage, problem, fix, cause);
  switch (refusal.apiId) {
    case 'INVALID_REPLICATION_FACTOR': {
      const rf = spec.replicationFactor;
      // Every topic of the request asking for as many replicas fails the same way.
      const topics = [
        spec.name,
        ...context.pending.filter((t) => t.replicationFactor === rf).map((t) => t.name),
      ];
      const brokers = context.brokers ?? brokersFromMessage(refusal.serverMessage);
      if (rf !== undefined && rf < 1) {
        return create(topics, `replicationFactor ${rf} is below 1`, 'set replicationFactor to 1 or more');
      }
      const asked = rf === undefined ? "the broker's default.replication.factor" : `replicationFactor ${rf}`;
      if (brokers === undefined) {
        return create(
          topics,
          `${asked} is more than the number of brokers of the cluster`,
          'set replicationFactor to at most the number of brokers',
        );
      }
      return create(
        topics,
        `${asked} is more than the ${brokers} broker(s) of the cluster`,
        `set replicationFactor to at most ${brokers}`,
      );
    }
    case 'INVALID_TOPIC_EXCEPTION':
      return create([spec.name], 'the name is not a legal Kafka topic name', LEGAL_TOPIC);
    case 'INVALID_PARTITIONS':
      return create(
        [spec.name],
        `${spec.partitions} is not a valid partition count`,
        'ask for 1 partition or more',
      );
    case 'INVALID_CONFIG':
      return create(
        [spec.name],
        'the broker refused its configuration',
        "fix the setting the broker names (a changelog's settings come from the store's logging option)",
      );
    case 'TOPIC_AUTHORIZATION_FAILED':
    case 'CLUSTER_AUTHORIZATION_FAILED':
      return create(
        [spec.name],
        'this client is not allowed to create topics',
        "grant the client's principal CREATE on the topic (or the cluster), or create the topic beforehand",
      );
    case 'POLICY_VIOLATION':
      return create(
        [spec.name],
        "the broker's topic creation policy refused it",
        'create the topic as the policy allows, or change the policy',
      );
    default:
      return create(
        [spec.name],
        'the broker refused it',
        "change what the broker's reason names, or create the topic beforehand (kafka-topics.sh --create)",
      );
  }
}

/** Kafka's "only 1 broker(s) are registered" (4.x) or "available brokers: 1" (older). */
function brokersFromMessage(message: string | undefined): number | undefined {
  const m = message && /only (\d+) broker\(s\)|available brokers: (\d+)/.exec(message);
  return m ? Number(m[1] ?? m[2]) : undefined;
}
