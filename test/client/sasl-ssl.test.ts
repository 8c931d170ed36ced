/**
 * The broker's SASL_SSL listener (scripts/stack.sh: TLS with the stack's own CA, SASL PLAIN,
 * SCRAM-SHA-256/512 and OAUTHBEARER), reached as a managed Kafka is: a word count runs through it
 * exactly once with SCRAM-SHA-512, each other mechanism makes a produce and consume round trip
 * (OAUTHBEARER also a word count, its token fetched by a function for each connection), and the
 * mistakes people make first (a wrong password, a CA not given, an expired token) fail start()
 * at once with a message naming the setting to change.
 */
import { buildProgram } from '@kafka-pattern/cli';
import { KafkaStreams, type SaslSettings, type StreamsConfig } from '@kafka-pattern/streams-core';
import {
  AuthenticationFailedError,
  createPlatformaticClientFactory,
  type KafkaClientFactory,
  TlsConnectionError,
} from '@kafka-pattern/streams-core/client';
import { describe, expect, it } from 'vitest';
import { wordCountTopology } from '../runtime/fixtures/word-count-topology.ts';
import { collect, createTopics, eventually, produce, record, uniqueName } from '../support/kafka.ts';
import { saslSslService } from '../support/services.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';

const cleanups = teardownAfterEach();
const service = saslSslService();

function login(
  mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512',
  password = service.password,
): SaslSettings {
  return { mechanism, username: service.username, password };
}

function securedFactory(sasl: SaslSettings): KafkaClientFactory {
  return createPlatformaticClientFactory({
    bootstrapServers: service.bootstrapServers,
    clientId: uniqueName('sasl-ssl'),
    tls: { ca: service.ca },
    sasl,
  });
}

/**
 * An unsigned JWT ("alg":"none") for `sub`, valid for `ttlSeconds` (negative: already expired), as
 * the listener's unsecured validator takes; a real cluster wants one signed by its identity provider.
 */
function unsignedToken(sub: string, ttlSeconds = 3600): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ sub, iat: now - 120, exp: now + ttlSeconds })}.`;
}

const lines = ['the quick brown fox', 'the lazy dog', 'the fox and the dog'];
const expected = new Map<string, number>();
for (const w of lines.join(' ').split(' ')) expected.set(w, (expected.get(w) ?? 0) + 1);

/** A word count whose every client connects through the SASL_SSL listener with `client`. */
function wordCount(
  input: string,
  output: string,
  client: StreamsConfig['client'],
  applicationId = uniqueName('sasl-wc'),
): KafkaStreams {
  const app = new KafkaStreams(wordCountTopology(input, output), {
    applicationId,
    bootstrapServers: service.bootstrapServers,
    processingGuarantee: 'exactly_once_v2',
    stateDir: tempStateDir(cleanups, 'kp-sasl-'),
    commitIntervalMs: 200,
    ...(client !== undefined ? { client } : {}),
  });
  cleanups.push(() => app.close());
  return app;
}

/** start() of an application that cannot connect: how it failed and how long it took. */
async function failedStart(client: StreamsConfig['client']): Promise<{ error: Error; ms: number }> {
  const app = wordCount('sasl-never-read', 'sasl-never-written', client);
  const started = performance.now();
  const error = await app.start().then(
    () => new Error('start() succeeded'),
    (e: unknown) => e as Error,
  );
  const ms = Math.round(performance.now() - started);
  expect(app.state).toBe('ERROR');
  return { error, ms };
}

/**
 * Fills a new input topic with `lines` through `factory`, runs a word count whose clients connect
 * with `client`, and gives the application (still running) and its final counts.
 */
async function countWords(
  factory: KafkaClientFactory,
  client: StreamsConfig['client'],
  applicationId = uniqueName('sasl-wc'),
): Promise<{ app: KafkaStreams; input: string; counts: Map<string, number> }> {
  const input = uniqueName('sasl-text');
  const output = uniqueName('sasl-counts');
  await createTopics(
    [
      { name: input, partitions: 2 },
      { name: output, partitions: 2 },
    ],
    factory,
  );
  await produce(
    lines.map((l, i) => record(input, `k${i}`, l)),
    factory,
  );
  const app = wordCount(input, output, client, applicationId);
  await app.start();
  const counts = await eventually(
    async () => {
      const m = new Map<string, number>();
      const records = await collect(output, { isolationLevel: 'read_committed', timeoutMs: 5_000 }, factory);
      for (const r of records) m.set(r.key!.toString(), Number(r.value!.readBigInt64BE(0)));
      return [...expected].every(([w, n]) => m.get(w) === n) ? m : undefined;
    },
    60_000,
    'every final count',
  );
  return { app, input, counts };
}

describe(`the SASL_SSL listener at ${service.bootstrapServers.join(',')}`, () => {
  it('runs a word count exactly once with SCRAM-SHA-512 over TLS, and kafka-pattern reset reaches it too', async () => {
    const factory = securedFactory(login('SCRAM-SHA-512'));
    const applicationId = uniqueName('sasl-wc');
    const { app, input, counts } = await countWords(
      factory,
      { tls: { ca: service.ca }, sasl: login('SCRAM-SHA-512') },
      applicationId,
    );
    expect(counts).toEqual(expected);
    expect(app.state).toBe('RUNNING');
    await app.close();

    // The command line tool, with the password in the environment as it documents.
    let out = '';
    let err = '';
    const saved = process.env.KAFKA_SASL_PASSWORD;
    process.env.KAFKA_SASL_PASSWORD = service.password;
    try {
      await buildProgram({ out: (t) => (out += t), err: (t) => (err += t) }).parseAsync(
        [
          'reset',
          applicationId,
          '--bootstrap-servers',
          service.bootstrapServers.join(','),
          '--tls-ca',
          service.caFile,
          '--sasl-mechanism',
          'SCRAM-SHA-512',
          '--sasl-username',
          service.username,
          '--input-topics',
          input,
          '--dry-run',
        ],
        { from: 'user' },
      );
    } finally {
      if (saved === undefined) delete process.env.KAFKA_SASL_PASSWORD;
      else process.env.KAFKA_SASL_PASSWORD = saved;
    }
    expect(out).toBe('');
    expect(err).toContain(`  would set offset of ${input}-0 to 0`);
    expect(err).toContain(`  would set offset of ${input}-1 to 0`);
    expect(err).toContain(`  would delete internal topic ${applicationId}-counts-changelog`);
    expect(err).toContain(`  would delete internal topic ${applicationId}-counts-repartition`);
  });

  it.each(['PLAIN', 'SCRAM-SHA-256'] as const)(
    'connects, produces and consumes with %s',
    async (mechanism) => {
      const factory = securedFactory(login(mechanism));
      const topic = uniqueName(`sasl-${mechanism.toLowerCase()}`);
      await createTopics([{ name: topic, partitions: 1 }], factory);
      const sent = ['a', 'b', 'c'].map((k, i) => record(topic, k, `${mechanism} ${i}`));
      const offsets = await produce(sent, factory);
      expect(offsets).toEqual([{ topic, partition: 0, lastOffset: 2n }]);
      const received = await collect(topic, { count: 3 }, factory);
      expect(received.map((r) => [r.key?.toString(), r.value?.toString(), r.offset])).toEqual([
        ['a', `${mechanism} 0`, 0n],
        ['b', `${mechanism} 1`, 1n],
        ['c', `${mechanism} 2`, 2n],
      ]);
    },
  );

  it('connects, produces and consumes with OAUTHBEARER, and runs a word count with a token fetched per connection', async () => {
    const factory = securedFactory({ mechanism: 'OAUTHBEARER', token: unsignedToken(service.username) });
    const topic = uniqueName('sasl-oauthbearer');
    await createTopics([{ name: topic, partitions: 1 }], factory);
    const offsets = await produce([record(topic, 'a', 'OAUTHBEARER 0')], factory);
    expect(offsets).toEqual([{ topic, partition: 0, lastOffset: 0n }]);
    const received = await collect(topic, { count: 1 }, factory);
    expect(received.map((r) => [r.key?.toString(), r.value?.toString()])).toEqual([['a', 'OAUTHBEARER 0']]);

    let fetched = 0;
    const { counts } = await countWords(factory, {
      tls: { ca: service.ca },
      sasl: {
        mechanism: 'OAUTHBEARER',
        token: async () => {
          fetched++;
          return unsignedToken(service.username);
        },
      },
    });
    expect(counts).toEqual(expected);
    // The consumer, the producer and the admin client each open connections and log in on each.
    expect(fetched).toBeGreaterThanOrEqual(3);
    console.log(
      `OAUTHBEARER word count: ${counts.size} words counted, the token function called ${fetched} times`,
    );
  });

  it('an expired OAUTHBEARER token fails start() at once, pointing at client.sasl token', async () => {
    const { error, ms } = await failedStart({
      tls: { ca: service.ca },
      sasl: { mechanism: 'OAUTHBEARER', token: unsignedToken(service.username, -60) },
    });
    console.log(`expired token: start() failed after ${ms} ms: ${error.name}: ${error.message}`);
    expect(error).toBeInstanceOf(AuthenticationFailedError);
    expect(error.message).toContain(
      `SASL authentication failed with mechanism OAUTHBEARER at ${service.bootstrapServers[0]} (broker: token refused with status invalid_token)`,
    );
    expect(error.message).toContain('check client.sasl token (expired, or issued for another cluster)');
    expect(ms).toBeLessThan(30_000);
  });

  it('a wrong password fails start() at once, naming the user, the mechanism and client.sasl', async () => {
    const { error, ms } = await failedStart({
      tls: { ca: service.ca },
      sasl: login('SCRAM-SHA-512', 'not-the-password'),
    });
    console.log(`wrong password: start() failed after ${ms} ms: ${error.name}: ${error.message}`);
    expect(error).toBeInstanceOf(AuthenticationFailedError);
    expect(error.message).toContain(
      `SASL authentication failed for user "${service.username}" with mechanism SCRAM-SHA-512 at ${service.bootstrapServers[0]}`,
    );
    expect(error.message).toContain('invalid credentials');
    expect(error.message).toContain('check client.sasl username/password');
    expect(error.message).not.toContain('not-the-password');
    // Not an outage: no retrying for taskTimeoutMs (5 minutes by default).
    expect(ms).toBeLessThan(30_000);
  });

  it('a certificate of an untrusted CA (client.tls.ca not given) fails start() at once, saying to pass the CA', async () => {
    const { error, ms } = await failedStart({ tls: true, sasl: login('SCRAM-SHA-512') });
    console.log(`untrusted certificate: start() failed after ${ms} ms: ${error.name}: ${error.message}`);
    expect(error).toBeInstanceOf(TlsConnectionError);
    expect(error.message).toContain(
      `The broker's TLS certificate at ${service.bootstrapServers[0]} is not trusted (SELF_SIGNED_CERT_IN_CHAIN`,
    );
    expect(error.message).toContain('pass the CA that signed it in client.tls.ca');
    expect(ms).toBeLessThan(30_000);
  });

  it('a client without TLS is told the listener requires it', async () => {
    const admin = createPlatformaticClientFactory({
      bootstrapServers: service.bootstrapServers,
      clientId: uniqueName('sasl-plaintext'),
    }).admin();
    cleanups.push(() => admin.close());
    const error = await admin.listGroups().then(
      () => new Error('listGroups() succeeded'),
      (e: unknown) => e as Error,
    );
    console.log(`plaintext client: ${error.name}: ${error.message}`);
    expect(error).toBeInstanceOf(TlsConnectionError);
    expect(error.message).toBe(
      `The listener at ${service.bootstrapServers[0]} requires TLS and the client connected without it: set client.tls (true, or { ca } for a cluster with a private CA)`,
    );
  });
});
