/**
 * TLS and SASL settings reach every client the factory builds, and the failures a secured
 * cluster answers with become errors that name the setting to change (and are not retried as
 * outages).
 */

import { KafkaStreams, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import {
  AuthenticationError,
  MultipleErrors,
  NetworkError,
  ResponseError,
  UserError,
} from '@platformatic/kafka';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AuthenticationFailedError,
  BrokerUnreachableError,
  isRetriable,
  KafkaClientError,
  TlsConnectionError,
} from '../../src/client/errors.ts';
import { checkOAuthBearerReply, securityOptions } from '../../src/client/platformatic/connection.ts';
import { toPortError } from '../../src/client/platformatic/errors.ts';
import { createPlatformaticClientFactory } from '../../src/client/platformatic/factory.ts';

/** The options every @platformatic/kafka client was constructed with, by kind. */
const constructed = vi.hoisted(() => [] as Array<{ kind: string; options: Record<string, unknown> }>);

vi.mock('@platformatic/kafka', async (importOriginal) => {
  const original = await importOriginal<typeof import('@platformatic/kafka')>();
  // biome-ignore lint/suspicious/noExplicitAny: a mixin's base takes any constructor arguments
  const recording = <T extends new (...args: any[]) => object>(kind: string, Base: T): T =>
    class extends Base {
      // biome-ignore lint/suspicious/noExplicitAny: as the base
      constructor(...args: any[]) {
        super(...args);
        constructed.push({ kind, options: args[0] });
      }
    };
  return {
    ...original,
    Admin: recording('Admin', original.Admin),
    Consumer: recording('Consumer', original.Consumer),
    Producer: recording('Producer', original.Producer),
  };
});

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

afterEach(() => {
  constructed.length = 0;
});

describe('the factory passes TLS and SASL to every client', () => {
  it('admin, group consumer (with its fetch and offsets clients), producers and partition readers', async () => {
    const factory = createPlatformaticClientFactory({
      bootstrapServers: ['kafka.example.com:9094'],
      clientId: 'app',
      tls: { ca: CA, servername: 'kafka.example.com' },
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'app-user', password: 'app-secret' },
    });
    const clients = [
      factory.admin(),
      factory.consumer({
        groupId: 'app',
        clientId: 'app-consumer',
        topics: ['in'],
        isolationLevel: 'read_committed',
        copartitionGroups: [],
      }),
      factory.producer({ clientId: 'app-producer', idempotent: true }),
      factory.producer({ clientId: 'app-0_0-producer', idempotent: true, transactionalId: 'app-0_0' }),
      factory.partitionReader({ clientId: 'app-restore', isolationLevel: 'read_committed' }),
    ];
    try {
      const ids = constructed.map((c) => `${c.kind} ${c.options.clientId}`);
      expect(ids).toEqual([
        'Admin app-admin',
        'Consumer app-consumer',
        'Consumer app-consumer-fetch',
        'Admin app-consumer-offsets',
        'Producer app-producer',
        'Producer app-0_0-producer',
        'Consumer app-restore',
      ]);
      for (const { options } of constructed) {
        expect(options.bootstrapBrokers).toEqual(['kafka.example.com:9094']);
        expect(options.tls).toEqual({ ca: CA, servername: 'kafka.example.com' });
        expect(options.sasl).toEqual({
          mechanism: 'SCRAM-SHA-512',
          username: 'app-user',
          password: 'app-secret',
        });
        // The handshake and the login take a few more round trips than a plaintext connection.
        expect(options.connectTimeout).toBe(5000);
      }
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('passes neither to a plaintext cluster', async () => {
    const factory = createPlatformaticClientFactory({ bootstrapServers: ['127.0.0.1:9092'] });
    const admin = factory.admin();
    try {
      expect(constructed).toHaveLength(1);
      expect(constructed[0]?.options).not.toHaveProperty('tls');
      expect(constructed[0]?.options).not.toHaveProperty('sasl');
      expect(constructed[0]?.options.connectTimeout).toBe(2000);
    } finally {
      await admin.close();
    }
  });

  it('refuses settings that cannot work before any client exists', () => {
    expect(() =>
      createPlatformaticClientFactory({
        bootstrapServers: ['127.0.0.1:9094'],
        sasl: { mechanism: 'PLAIN', username: 'u' } as never,
      }),
    ).toThrow(
      new KafkaClientError(
        'sasl.password must be a non-empty string (mechanism PLAIN logs in with a username and password), got nothing',
      ),
    );
    expect(() =>
      createPlatformaticClientFactory({ bootstrapServers: ['127.0.0.1:9094'], tls: { ca: 'ca.pem' } }),
    ).toThrow('tls.ca must be the PEM content, not a file name');
    expect(constructed).toHaveLength(0);
  });
});

describe('KafkaStreams', () => {
  it('hands client.tls and client.sasl to the clients it opens', async () => {
    const builder = new StreamsBuilder();
    builder.stream('in', { key: Serdes.String(), value: Serdes.String() }).to('out');
    const tls = { ca: CA };
    const sasl = { mechanism: 'PLAIN', username: 'app-user', password: 'app-secret' } as const;
    // Nothing listens on port 1: start() fails once its admin client has been created.
    const app = new KafkaStreams(builder.build(), {
      applicationId: 'app',
      bootstrapServers: '127.0.0.1:1',
      logger: { info() {}, warn() {}, error() {}, debug() {} },
      client: { tls, sasl },
    });
    await expect(app.start()).rejects.toThrow(BrokerUnreachableError);
    await app.close();
    expect(constructed.map((c) => c.kind)).toEqual(['Admin']);
    expect(constructed[0]?.options).toMatchObject({ bootstrapBrokers: ['127.0.0.1:1'], tls, sasl });
  });
});

describe('securityOptions', () => {
  it("maps the settings onto the client's tls and sasl options", () => {
    expect(securityOptions({})).toEqual({});
    expect(securityOptions({ tls: true })).toEqual({ tls: {} });
    expect(securityOptions({ tls: { rejectUnauthorized: false } })).toEqual({
      tls: { rejectUnauthorized: false },
    });
    expect(securityOptions({ sasl: { mechanism: 'PLAIN', username: 'u', password: 'p' } })).toEqual({
      sasl: { mechanism: 'PLAIN', username: 'u', password: 'p' },
    });
    const token = async () => 'jwt';
    expect(
      securityOptions({
        tls: true,
        sasl: { mechanism: 'OAUTHBEARER', token, extensions: { logicalCluster: 'lkc-1' } },
      }),
    ).toEqual({
      tls: {},
      sasl: {
        mechanism: 'OAUTHBEARER',
        token,
        oauthBearerExtensions: { logicalCluster: 'lkc-1' },
        authBytesValidator: checkOAuthBearerReply,
      },
    });
    expect(securityOptions({ sasl: { mechanism: 'OAUTHBEARER', token: 'jwt' } })).toEqual({
      sasl: { mechanism: 'OAUTHBEARER', token: 'jwt', authBytesValidator: checkOAuthBearerReply },
    });
  });

  it('turns an OAUTHBEARER error challenge into a refused login the error mapping names', () => {
    const replies: [Error | null, Buffer][] = [];
    checkOAuthBearerReply(Buffer.alloc(0), (e, b) => replies.push([e, b]));
    checkOAuthBearerReply(Buffer.from('{"status":"invalid_token","scope":"kafka"}'), (e, b) =>
      replies.push([e, b]),
    );
    checkOAuthBearerReply(Buffer.from('not json'), (e, b) => replies.push([e, b]));
    expect(replies.map(([e]) => e?.message ?? null)).toEqual([
      null,
      'token refused with status invalid_token',
      'unexpected OAUTHBEARER reply not json',
    ]);
    // As the client hands it on: wrapped in its "SASL authentication failed." error.
    const refused = new AuthenticationError('SASL authentication failed.', { cause: replies[1]![0]! });
    const error = toPortError(connectFailure('b:9094', refused), {
      bootstrapServers: ['b:9094'],
      tls: true,
      sasl: { mechanism: 'OAUTHBEARER' },
    });
    expect(error).toBeInstanceOf(AuthenticationFailedError);
    expect(error.message).toBe(
      'SASL authentication failed with mechanism OAUTHBEARER at b:9094 (broker: token refused with status invalid_token): check client.sasl token (expired, or issued for another cluster) and client.sasl extensions',
    );
  });
});

/** A failed metadata call as the client reports it: retries of "cannot connect" around `cause`. */
function connectFailure(broker: string, cause: Error): Error {
  const attempt = new MultipleErrors('Cannot connect to any broker.', [
    new NetworkError(`Connection to ${broker} failed.`, { cause }),
  ]);
  return new MultipleErrors('metadata failed 6 times.', [attempt, attempt]);
}

const SASL_SSL = {
  bootstrapServers: ['127.0.0.1:9094'],
  tls: true,
  sasl: { mechanism: 'SCRAM-SHA-512', username: 'kafka-pattern' },
};

describe('errors of a secured cluster', () => {
  it('a refused login names the user, the mechanism and the settings to check', () => {
    const refused = new ResponseError(
      36,
      2,
      {
        // SASL_AUTHENTICATION_FAILED
        '': [
          58,
          'Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512',
        ],
      },
      {},
    );
    const error = toPortError(
      connectFailure(
        '127.0.0.1:9094',
        new AuthenticationError('SASL authentication failed.', { cause: refused }),
      ),
      SASL_SSL,
    );
    expect(error).toBeInstanceOf(AuthenticationFailedError);
    expect(error.message).toBe(
      'SASL authentication failed for user "kafka-pattern" with mechanism SCRAM-SHA-512 at 127.0.0.1:9094 (broker: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512): check client.sasl username/password, and that the user has credentials for this mechanism on the cluster (SCRAM credentials are stored per mechanism: kafka-configs --alter --entity-type users --add-config SCRAM-SHA-512=[password=...])',
    );
    expect(error).toMatchObject({
      mechanism: 'SCRAM-SHA-512',
      username: 'kafka-pattern',
      broker: '127.0.0.1:9094',
    });
    expect(isRetriable(error)).toBe(false);
  });

  it('a refused OAUTHBEARER token points at the token', () => {
    const error = toPortError(
      connectFailure('b:9094', new AuthenticationError('SASL authentication failed.')),
      { bootstrapServers: ['b:9094'], tls: true, sasl: { mechanism: 'OAUTHBEARER' } },
    );
    expect(error.message).toBe(
      'SASL authentication failed with mechanism OAUTHBEARER at b:9094: check client.sasl token (expired, or issued for another cluster) and client.sasl extensions',
    );
  });

  it('an untrusted certificate says to pass its CA', () => {
    const tlsError = Object.assign(new Error('self-signed certificate in certificate chain'), {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
    const error = toPortError(connectFailure('127.0.0.1:9094', tlsError), SASL_SSL);
    expect(error).toBeInstanceOf(TlsConnectionError);
    expect(error.message).toBe(
      "The broker's TLS certificate at 127.0.0.1:9094 is not trusted (SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate in certificate chain): pass the CA that signed it in client.tls.ca (PEM text, e.g. readFileSync('ca.pem'))",
    );
    expect(error).toMatchObject({ code: 'SELF_SIGNED_CERT_IN_CHAIN', broker: '127.0.0.1:9094' });
    expect(isRetriable(error)).toBe(false);
  });

  it('a certificate for another host says which setting names the host', () => {
    const tlsError = Object.assign(new Error("Hostname/IP does not match certificate's altnames"), {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    expect(toPortError(connectFailure('10.0.0.5:9094', tlsError), SASL_SSL).message).toMatch(
      /^The broker's TLS certificate at 10\.0\.0\.5:9094 does not name the host connected to \(ERR_TLS_CERT_ALTNAME_INVALID: .*\): connect by a name the certificate lists, or set client\.tls\.servername to one$/,
    );
  });

  it('TLS on a plaintext listener, and plaintext on a TLS listener', () => {
    const handshake = new UserError('TLS handshake failed. Please verify the broker supports TLS.');
    const tlsOnPlain = toPortError(connectFailure('127.0.0.1:9092', handshake), {
      bootstrapServers: ['127.0.0.1:9092'],
      tls: true,
    });
    expect(tlsOnPlain).toBeInstanceOf(TlsConnectionError);
    expect(tlsOnPlain.message).toBe(
      "The listener at 127.0.0.1:9092 does not speak TLS (the TLS handshake failed): connect to the cluster's SSL or SASL_SSL port, or remove client.tls for a PLAINTEXT or SASL_PLAINTEXT listener",
    );
    const plainOnTls = toPortError(
      new MultipleErrors('metadata failed', [new UserError('Broker requires TLS.')]),
      {
        bootstrapServers: ['127.0.0.1:9094'],
      },
    );
    expect(plainOnTls).toBeInstanceOf(TlsConnectionError);
    expect(plainOnTls.message).toBe(
      'The listener at 127.0.0.1:9094 requires TLS and the client connected without it: set client.tls (true, or { ca } for a cluster with a private CA)',
    );
  });

  it('SASL against a listener without it, and a mechanism the listener does not enable', () => {
    const illegal = new AuthenticationError('Cannot find a suitable SASL mechanism.', {
      cause: new ResponseError(17, 1, { '': [34, null] }, { errorCode: 34, mechanisms: [] }),
    });
    expect(
      toPortError(connectFailure('127.0.0.1:9092', illegal), {
        bootstrapServers: ['127.0.0.1:9092'],
        sasl: { mechanism: 'PLAIN', username: 'u' },
      }).message,
    ).toBe(
      "The listener at 127.0.0.1:9092 does not use SASL (ILLEGAL_SASL_STATE): connect to the cluster's SASL_SSL or SASL_PLAINTEXT port, or remove client.sasl",
    );
    const unsupported = new AuthenticationError('Cannot find a suitable SASL mechanism.', {
      cause: new ResponseError(
        17,
        1,
        { '': [33, null] },
        {
          errorCode: 33,
          mechanisms: ['PLAIN', 'SCRAM-SHA-512'],
        },
      ),
    });
    expect(
      toPortError(connectFailure('127.0.0.1:9094', unsupported), {
        ...SASL_SSL,
        sasl: { mechanism: 'OAUTHBEARER' },
      }).message,
    ).toBe(
      'The listener at 127.0.0.1:9094 does not accept SASL mechanism OAUTHBEARER (it offers PLAIN, SCRAM-SHA-512): set client.sasl.mechanism to one the cluster enables (sasl.enabled.mechanisms)',
    );
    // A TLS listener closes a plaintext SASL handshake.
    const closed = new AuthenticationError('Cannot find a suitable SASL mechanism.', {
      cause: new NetworkError('Connection closed'),
    });
    const noTls = toPortError(connectFailure('127.0.0.1:9094', closed), {
      bootstrapServers: ['127.0.0.1:9094'],
      sasl: { mechanism: 'PLAIN', username: 'u' },
    });
    expect(noTls).toBeInstanceOf(TlsConnectionError);
    expect(noTls.message).toMatch(/it most likely requires TLS \(a SASL_SSL listener\): set client\.tls/);
  });

  it('a broker that does not answer is still an outage', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9094'), { code: 'ECONNREFUSED' });
    const error = toPortError(connectFailure('127.0.0.1:9094', refused), SASL_SSL);
    expect(error).toBeInstanceOf(BrokerUnreachableError);
    expect(isRetriable(error)).toBe(true);
  });
});
