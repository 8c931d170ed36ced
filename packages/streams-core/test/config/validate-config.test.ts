import {
  ConfigException,
  KafkaStreams,
  Serdes,
  StreamsBuilder,
  type StreamsConfig,
} from '@kafka-pattern/streams-core';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/streams-config.ts';

const base: StreamsConfig = { applicationId: 'app', bootstrapServers: ['127.0.0.1:9092'] };

/** The ConfigException message `validateConfig` throws for `base` with `extra` on top. */
function rejection(extra: Record<string, unknown>): string {
  try {
    validateConfig({ ...base, ...extra } as StreamsConfig);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigException);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(extra)}`);
}

describe('validateConfig', () => {
  it('accepts a full, well-typed configuration', () => {
    expect(() =>
      validateConfig({
        ...base,
        processingGuarantee: 'exactly_once_v2',
        stateDir: '/var/lib/kp',
        commitIntervalMs: 0,
        advanceIdleStreamTimeAfterMs: 500,
        numStandbyReplicas: 1,
        replicationFactor: 3,
        cacheMaxBytes: 0,
        applicationServer: 'h:7070',
        clientId: 'c',
        defaultKeySerde: Serdes.String(),
        defaultValueSerde: Serdes.String(),
        defaultTimestampExtractor: (r) => r.timestamp,
        deserializationExceptionHandler: 'log-and-continue',
        processingExceptionHandler: () => 'CONTINUE',
        productionExceptionHandler: 'continue',
        deadLetter: { topic: (t) => `${t}.dlq`, headers: 'kip1034' },
        client: { sessionTimeoutMs: 6000, maxWaitMs: 100 },
        logger: { debug() {}, info() {}, warn() {}, error() {} },
      }),
    ).not.toThrow();
    // An option given as undefined is an option not given.
    expect(() => validateConfig({ ...base, stateDir: undefined, commitIntervalMs: undefined })).not.toThrow();
  });

  it('rejects commitIntervalMs that is not a finite number >= 0', () => {
    expect(rejection({ commitIntervalMs: Number.POSITIVE_INFINITY })).toBe(
      'commitIntervalMs must be a finite number of milliseconds >= 0, got Infinity',
    );
    expect(rejection({ commitIntervalMs: '100' })).toBe(
      'commitIntervalMs must be a finite number of milliseconds >= 0, got "100" (a string): write 100 without quotes',
    );
    expect(rejection({ commitIntervalMs: Number.NaN })).toBe(
      'commitIntervalMs must be a finite number of milliseconds >= 0, got NaN',
    );
    expect(rejection({ commitIntervalMs: -1 })).toBe(
      'commitIntervalMs must be a finite number of milliseconds >= 0, got -1',
    );
  });

  it('rejects the other numeric options out of type or range', () => {
    expect(rejection({ cacheMaxBytes: -5 })).toBe(
      'cacheMaxBytes must be a whole number of bytes >= 0, got -5',
    );
    expect(rejection({ cacheMaxBytes: 1.5 })).toBe(
      'cacheMaxBytes must be a whole number of bytes >= 0, got 1.5',
    );
    expect(rejection({ replicationFactor: 0 })).toBe(
      "replicationFactor must be a whole number >= 1 or -1 for the broker's default.replication.factor, got 0",
    );
    expect(() => validateConfig({ ...base, replicationFactor: -1 } as StreamsConfig)).not.toThrow();
    expect(rejection({ replicationFactor: '3' })).toBe(
      `replicationFactor must be a whole number >= 1 or -1 for the broker's default.replication.factor, got "3" (a string): write 3 without quotes`,
    );
    expect(rejection({ numStandbyReplicas: 1.5 })).toBe(
      'numStandbyReplicas must be a whole number >= 0, got 1.5',
    );
    expect(rejection({ numStandbyReplicas: null })).toBe(
      'numStandbyReplicas must be a whole number >= 0, got null',
    );
    expect(rejection({ numStreamThreads: 0 })).toBe('numStreamThreads must be a whole number >= 1, got 0');
    expect(rejection({ numStreamThreads: 2.5 })).toBe(
      'numStreamThreads must be a whole number >= 1, got 2.5',
    );
    expect(rejection({ numStreamThreads: '2' })).toBe(
      'numStreamThreads must be a whole number >= 1, got "2" (a string): write 2 without quotes',
    );
    expect(() => validateConfig({ ...base, numStreamThreads: 4 })).not.toThrow();
    expect(rejection({ advanceIdleStreamTimeAfterMs: -10 })).toBe(
      'advanceIdleStreamTimeAfterMs must be a finite number of milliseconds >= 0, got -10',
    );
    expect(rejection({ advanceIdleStreamTimeAfterMs: Number.POSITIVE_INFINITY })).toBe(
      'advanceIdleStreamTimeAfterMs must be a finite number of milliseconds >= 0, got Infinity',
    );
  });

  it('keeps the client settings check, and bounds them to what Kafka can send', () => {
    expect(rejection({ client: { sessionTimeoutMs: 0 } })).toBe(
      'client.sessionTimeoutMs must be a positive number of milliseconds, got 0',
    );
    expect(rejection({ client: { maxWaitMs: '200' } })).toBe(
      'client.maxWaitMs must be a positive number of milliseconds, got "200"',
    );
    expect(rejection({ client: { transactionTimeoutMs: 3_000_000_000 } })).toBe(
      'client.transactionTimeoutMs must be at most 2147483647 milliseconds (Kafka sends it as a 32-bit integer), got 3000000000',
    );
    expect(rejection({ client: { sessionTimeout: 6000 } })).toBe(
      'client.sessionTimeout is not a known client setting: did you mean sessionTimeoutMs? use sessionTimeoutMs, heartbeatIntervalMs, rebalanceTimeoutMs, maxWaitMs, transactionTimeoutMs, maxPollRecords, tls, sasl',
    );
    expect(rejection({ client: { fetchMaxBytes: 1 } })).toBe(
      'client.fetchMaxBytes is not a known client setting: use sessionTimeoutMs, heartbeatIntervalMs, rebalanceTimeoutMs, maxWaitMs, transactionTimeoutMs, maxPollRecords, tls, sasl',
    );
    expect(rejection({ client: { maxPollRecords: 0.5 } })).toBe(
      'client.maxPollRecords must be a whole number >= 1, got 0.5',
    );
    expect(rejection({ taskTimeoutMs: Number.POSITIVE_INFINITY })).toMatch(
      /^taskTimeoutMs must be a finite number of milliseconds >= 0, got /,
    );
    expect(rejection({ client: 'fast' })).toBe(
      'client must be an object of client settings (sessionTimeoutMs, heartbeatIntervalMs, rebalanceTimeoutMs, maxWaitMs, transactionTimeoutMs, maxPollRecords, tls, sasl), got "fast" (a string)',
    );
  });

  it('accepts TLS and SASL settings of each kind', () => {
    const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const accepted: StreamsConfig['client'][] = [
      { tls: true },
      { tls: { ca, servername: 'kafka.internal', rejectUnauthorized: true } },
      { tls: { ca: [ca, Buffer.from(ca)], cert: ca, key: ca, passphrase: 'p' } },
      { tls: true, sasl: { mechanism: 'PLAIN', username: 'key', password: 'secret' } },
      { sasl: { mechanism: 'SCRAM-SHA-256', username: 'u', password: 'p' } },
      { tls: true, sasl: { mechanism: 'SCRAM-SHA-512', username: 'u', password: 'p' } },
      { tls: true, sasl: { mechanism: 'OAUTHBEARER', token: 'jwt' } },
      {
        tls: true,
        sasl: { mechanism: 'OAUTHBEARER', token: async () => 'jwt', extensions: { logicalCluster: 'lkc-1' } },
      },
    ];
    for (const client of accepted) expect(() => validateConfig({ ...base, client })).not.toThrow();
  });

  it('rejects TLS and SASL settings that cannot work, naming the fix', () => {
    expect(rejection({ client: { tls: 'yes' } })).toBe(
      'client.tls must be true or an object of TLS options (ca, cert, key, passphrase, servername, rejectUnauthorized), got "yes"',
    );
    expect(rejection({ client: { tls: { cafile: 'ca.pem' } } })).toBe(
      'client.tls.cafile is not a TLS option: use ca, cert, key, passphrase, servername, rejectUnauthorized',
    );
    expect(rejection({ client: { tls: { ca: '/etc/kafka/ca.pem' } } })).toBe(
      'client.tls.ca must be the PEM content, not a file name: read it first, e.g. readFileSync("/etc/kafka/ca.pem")',
    );
    expect(rejection({ client: { tls: { ca: 42 } } })).toBe(
      "client.tls.ca must be PEM text (a string or Buffer, e.g. readFileSync('ca.pem')) or an array of them, got number 42",
    );
    expect(rejection({ client: { tls: { rejectUnauthorized: 'false' } } })).toBe(
      'client.tls.rejectUnauthorized must be true or false, got "false"',
    );
    expect(rejection({ client: { tls: { cert: '-----BEGIN CERTIFICATE-----' } } })).toBe(
      'client.tls.cert and client.tls.key go together (the client certificate and its private key): give both or neither',
    );
    expect(rejection({ client: { sasl: 'PLAIN' } })).toBe(
      'client.sasl must be an object { mechanism, username, password } or { mechanism: \'OAUTHBEARER\', token }, got "PLAIN"',
    );
    expect(
      rejection({ client: { sasl: { mechanism: 'scram_sha_512', username: 'u', password: 'p' } } }),
    ).toBe(
      "client.sasl.mechanism \"scram_sha_512\" is not supported (did you mean 'SCRAM-SHA-512'?): use 'PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'",
    );
    expect(rejection({ client: { sasl: { mechanism: 'GSSAPI' } } })).toBe(
      "client.sasl.mechanism \"GSSAPI\" is not supported: use 'PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'",
    );
    expect(rejection({ client: { sasl: { mechanism: 'PLAIN', username: 'u' } } })).toBe(
      'client.sasl.password must be a non-empty string (mechanism PLAIN logs in with a username and password), got nothing',
    );
    expect(rejection({ client: { sasl: { mechanism: 'SCRAM-SHA-256', username: 'u', password: '' } } })).toBe(
      'client.sasl.password must be a non-empty string (mechanism SCRAM-SHA-256 logs in with a username and password), got an empty string',
    );
    expect(
      rejection({ client: { sasl: { mechanism: 'PLAIN', username: 'u', password: 'p', token: 't' } } }),
    ).toBe(
      'client.sasl.token does not apply to mechanism PLAIN: give client.sasl.mechanism, client.sasl.username, client.sasl.password',
    );
    expect(rejection({ client: { sasl: { mechanism: 'OAUTHBEARER', username: 'u' } } })).toBe(
      'client.sasl.username does not apply to mechanism OAUTHBEARER: give client.sasl.mechanism, client.sasl.token, client.sasl.extensions',
    );
    expect(rejection({ client: { sasl: { mechanism: 'OAUTHBEARER', token: '' } } })).toBe(
      'client.sasl.token must be the bearer token (a non-empty string) or a function returning one, got ""',
    );
    expect(
      rejection({ client: { sasl: { mechanism: 'OAUTHBEARER', token: 't', extensions: { n: 1 } } } }),
    ).toBe('client.sasl.extensions must be an object of string values, got an object');
  });

  it('makes a SASL login that cannot work fail to compile', () => {
    const client = (settings: NonNullable<StreamsConfig['client']>) => settings;
    // @ts-expect-error: PLAIN needs a password
    client({ sasl: { mechanism: 'PLAIN', username: 'u' } });
    // @ts-expect-error: OAUTHBEARER takes a token, not a username and password
    client({ sasl: { mechanism: 'OAUTHBEARER', username: 'u', password: 'p' } });
    // @ts-expect-error: a token belongs to OAUTHBEARER
    client({ sasl: { mechanism: 'SCRAM-SHA-512', username: 'u', password: 'p', token: 't' } });
    // @ts-expect-error: not a mechanism the clients support
    client({ sasl: { mechanism: 'GSSAPI', username: 'u', password: 'p' } });
    // @ts-expect-error: tls is true or an object of TLS options
    client({ tls: 'SASL_SSL' });
    // @ts-expect-error: the CA is PEM text, not a number
    client({ tls: { ca: 1 } });
    expect(client({ tls: true }).tls).toBe(true);
  });

  it('names an unknown option and the one it was probably meant to be', () => {
    expect(rejection({ comitIntervalMs: 100 })).toBe(
      'Unknown option "comitIntervalMs": did you mean commitIntervalMs?',
    );
    // Kafka's Java property names and case slips are recognised too.
    expect(rejection({ 'num.standby.replicas': 1 })).toBe(
      'Unknown option "num.standby.replicas": did you mean numStandbyReplicas?',
    );
    expect(rejection({ stateDIR: '/tmp' })).toBe('Unknown option "stateDIR": did you mean stateDir?');
    expect(rejection({ threads: 4 })).toMatch(
      /^Unknown option "threads": the options are applicationId, bootstrapServers, processingGuarantee, stateDir, .*, logger, taskTimeoutMs$/,
    );
    expect(rejection({ deadLetter: { topics: () => 'x' } })).toBe(
      'Unknown option "deadLetter.topics": did you mean deadLetter.topic?',
    );
  });

  it('rejects strings, functions and objects of the wrong kind', () => {
    expect(rejection({ stateDir: 42 })).toBe(
      'stateDir must be a directory path (a non-empty string), got 42',
    );
    expect(rejection({ stateDir: '' })).toBe(
      'stateDir must be a directory path (a non-empty string), got "" (a string)',
    );
    expect(rejection({ clientId: ['a'] })).toBe('clientId must be a name (a non-empty string), got an array');
    expect(rejection({ applicationServer: 7070 })).toBe(
      'applicationServer must be "host:port" (a non-empty string), got 7070',
    );
    expect(rejection({ processingGuarantee: 'exactly_once' })).toBe(
      `processingGuarantee "exactly_once" is invalid: use 'at_least_once' or 'exactly_once_v2'`,
    );
    expect(rejection({ processingExceptionHandler: 'skip' })).toBe(
      `processingExceptionHandler "skip" is invalid: use 'dead-letter', 'log-and-continue', 'log-and-fail' or a function`,
    );
    expect(rejection({ productionExceptionHandler: 'ignore' })).toBe(
      `productionExceptionHandler "ignore" is invalid: use 'fail', 'continue' or a function (error, records) => 'fail' | 'continue'`,
    );
    expect(rejection({ defaultTimestampExtractor: 'wallclock' })).toBe(
      'defaultTimestampExtractor must be a function (record, partitionTime) => timestamp, got "wallclock" (a string)',
    );
    expect(rejection({ defaultKeySerde: 'string' })).toBe(
      'defaultKeySerde must be a Serde (an object with serialize and deserialize), got "string" (a string): use one of Serdes, e.g. Serdes.String()',
    );
    expect(rejection({ deadLetter: { topic: 'errors' } })).toBe(
      'deadLetter.topic must be a function (sourceTopic) => topic name, got "errors" (a string): e.g. (t) => `${t}-dlt`',
    );
    expect(rejection({ deadLetter: { headers: 'java' } })).toBe(
      `deadLetter.headers "java" is invalid: use 'spring' or 'kip1034'`,
    );
    expect(rejection({ logger: { info() {}, warn() {} } })).toBe(
      `logger must have debug, info, warn and error methods taking (obj, msg), as pino's do; it has no debug, error`,
    );
    expect(rejection({ bootstrapServers: [9092] })).toBe(
      `bootstrapServers [9092] is invalid: give host:port pairs, e.g. ['127.0.0.1:9092']`,
    );
    expect(rejection({ bootstrapServers: 9092 })).toBe(
      `bootstrapServers 9092 is invalid: give host:port pairs, e.g. ['127.0.0.1:9092']`,
    );
  });

  it('is what the KafkaStreams constructor applies', () => {
    const builder = new StreamsBuilder();
    builder.stream('in', { key: Serdes.String(), value: Serdes.String() }).to('out');
    const create = (extra: Record<string, unknown>) =>
      new KafkaStreams(builder.build(), { ...base, ...extra } as StreamsConfig);
    expect(() => create({ commitIntervalMs: Number.POSITIVE_INFINITY })).toThrow(ConfigException);
    expect(() => create({ comitIntervalMs: 100 })).toThrow(
      'Unknown option "comitIntervalMs": did you mean commitIntervalMs?',
    );
    expect(() => create({ cacheMaxBytes: -5 })).toThrow(
      'cacheMaxBytes must be a whole number of bytes >= 0, got -5',
    );
  });
});
