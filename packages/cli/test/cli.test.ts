import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { describe, expect, it } from 'vitest';
import { demoPatterns, stackScript } from '../src/demo.ts';
import { inputTopicsOf, loadTopologies, renderDescriptions, topologiesOf } from '../src/describe.ts';
import { buildProgram, parseDateTime, parseList } from '../src/program.ts';
import { queryUrl } from '../src/query.ts';
import { describePlan, internalTopicsOf } from '../src/reset.ts';
import { securityFromFlags } from '../src/security.ts';

async function run(...args: string[]): Promise<{ out: string; err: string; error?: Error }> {
  let out = '';
  let err = '';
  const program = buildProgram({ out: (t) => (out += t), err: (t) => (err += t) }).exitOverride();
  const override = (c: typeof program): void => {
    for (const sub of c.commands) {
      sub.exitOverride();
      override(sub);
    }
  };
  override(program);
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out, err };
  } catch (error) {
    return { out, err, error: error as Error };
  }
}

function wordCount() {
  const builder = new StreamsBuilder();
  builder
    .stream('text', { key: Serdes.String(), value: Serdes.String() })
    .flatMapValues((line) => line.split(' '))
    .groupBy((_k, w) => w, { key: Serdes.String(), value: Serdes.String() })
    .count({ name: 'word-counts' })
    .toStream()
    .to('word-counts-out', { key: Serdes.String(), value: Serdes.Long() });
  return builder.build();
}

describe('kafka-pattern arguments', () => {
  it('--help lists the commands', async () => {
    const { out } = await run('--help');
    expect(out).toContain('Usage: kafka-pattern');
    expect(out).toMatch(/describe \[options\] <module>/);
    expect(out).toMatch(/demo \[options\] \[pattern\]/);
  });

  it('describe --help documents --mermaid', async () => {
    const { out } = await run('describe', '--help');
    expect(out).toContain('--mermaid');
    expect(out).toContain('<module>');
  });

  it('describe without a module is an error naming the missing argument', async () => {
    const { err, error } = await run('describe');
    expect(error).toBeDefined();
    expect(err).toContain("missing required argument 'module'");
  });

  it('parses ISO date-times and refuses others', () => {
    expect(parseDateTime('2026-01-31T12:00:00Z')).toBe(Date.UTC(2026, 0, 31, 12));
    expect(() => parseDateTime('yesterday')).toThrow(/not an ISO-8601 date-time/);
    expect(() => parseDateTime('12345')).toThrow(/not an ISO-8601/);
  });

  it('parses comma-separated, repeatable lists', () => {
    expect(parseList('a, b', parseList('c'))).toEqual(['c', 'a', 'b']);
  });
});

describe('describe', () => {
  it('finds topologies exported directly, in objects and built by functions', () => {
    const t = wordCount();
    const found = topologiesOf({
      topology: t,
      app: { a: t, n: 1 },
      build: () => t,
      needsArgs: (_o: unknown) => t,
      x: 3,
    });
    expect(found.map((f) => f.name)).toEqual(['app.a', 'build()', 'topology']);
  });

  it('prints the windowing pattern in Kafka Streams text shape and as Mermaid', async () => {
    const found = await loadTopologies('windowing');
    expect(found.map((f) => f.name)).toEqual(['sensorAverages()']);
    const text = renderDescriptions(found, 'text');
    expect(text).toMatch(
      /^Topologies:\n {3}Sub-topology: 0\n {4}Source: \S+ \(topics: \[sensor-readings\]\)/,
    );
    expect(text).toContain('(topic: sensor-averages)');
    const mermaid = renderDescriptions(found, 'mermaid');
    expect(mermaid.startsWith('flowchart TD\n')).toBe(true);
    expect(mermaid).toContain('topic_sensor_readings[("sensor-readings")]');
  });

  it('heads each topology with its name when a module exports several', async () => {
    const text = renderDescriptions(await loadTopologies('saga'), 'text');
    expect(text).toContain('# orderSaga().orderService\nTopologies:');
    expect(text).toContain('# orderSaga().paymentService\n');
  });

  it('loads a file path and prints through the command', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kp-cli-'));
    const file = join(dir, 'app.ts');
    const core = import.meta.resolve('@kafka-pattern/streams-core');
    writeFileSync(
      file,
      `import { Serdes, StreamsBuilder } from '${core}';\nconst b = new StreamsBuilder();\nb.stream('in', { key: Serdes.String(), value: Serdes.String() }).to('out', { key: Serdes.String(), value: Serdes.String() });\nexport const topology = b.build();\n`,
    );
    const { out, error } = await run('describe', file);
    expect(error).toBeUndefined();
    expect(out).toMatch(/Source: \S+ \(topics: \[in\]\)/);
    expect(out).toContain('(topic: out)');
  });

  it('says what to do when a module exports no topology', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kp-cli-'));
    const file = join(dir, 'empty.ts');
    writeFileSync(file, 'export const n = 1;\n');
    await expect(loadTopologies(file)).rejects.toThrow(/exports no topology: export a Topology/);
    await expect(loadTopologies(join(dir, 'missing.ts'))).rejects.toThrow(/no module at/);
  });
});

describe('demo', () => {
  it('lists the pattern folders with a demo', async () => {
    expect(demoPatterns()).toEqual(expect.arrayContaining(['windowing', 'dead-letter', 'saga']));
    const { out } = await run('demo');
    expect(out).toContain('  windowing\n');
  });

  it('finds the stack script of a checkout of the repository, and none where the packages are installed', () => {
    expect(stackScript()).toMatch(/scripts\/stack\.sh$/);
    const installed = mkdtempSync(join(tmpdir(), 'kp-demo-'));
    expect(stackScript(join(installed, 'node_modules', '@kafka-pattern', 'topologies'))).toBeUndefined();
  });

  it('refuses an unknown pattern, naming the known ones', async () => {
    const { error } = await run('demo', 'nope');
    expect(error?.message).toMatch(/no pattern demo named "nope": choose one of .*windowing/);
  });
});

describe('TLS and SASL options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kp-cli-tls-'));
  const caFile = join(dir, 'ca.pem');
  const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  writeFileSync(caFile, ca);

  it('reset and dlt redrive document them', async () => {
    for (const command of [['reset'], ['dlt', 'redrive']]) {
      const { out } = await run(...command, '--help');
      for (const o of ['--tls', '--tls-ca <file>', '--sasl-mechanism <mechanism>', '--sasl-username <name>'])
        expect(out).toContain(o);
      expect(out).toContain('KAFKA_SASL_PASSWORD');
    }
  });

  it('turn flags and the password in the environment into the client settings', () => {
    expect(securityFromFlags({})).toEqual({});
    expect(securityFromFlags({ tls: true })).toEqual({ tls: true });
    expect(
      securityFromFlags(
        { tlsCa: caFile, saslMechanism: 'SCRAM-SHA-512', saslUsername: 'ops' },
        { KAFKA_SASL_PASSWORD: 'secret' },
      ),
    ).toEqual({ tls: { ca }, sasl: { mechanism: 'SCRAM-SHA-512', username: 'ops', password: 'secret' } });
    expect(
      securityFromFlags({ tls: true, saslMechanism: 'OAUTHBEARER' }, { KAFKA_SASL_OAUTHBEARER_TOKEN: 'jwt' }),
    ).toEqual({ tls: true, sasl: { mechanism: 'OAUTHBEARER', token: 'jwt' } });
  });

  it('refuse what cannot work, before touching the cluster', () => {
    expect(() => securityFromFlags({ saslMechanism: 'PLAIN', saslUsername: 'ops' }, {})).toThrow(
      '--sasl-mechanism PLAIN needs --sasl-username and the password in KAFKA_SASL_PASSWORD',
    );
    expect(() => securityFromFlags({ saslUsername: 'ops' }, {})).toThrow(
      '--sasl-username needs --sasl-mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)',
    );
    expect(() =>
      securityFromFlags({ saslMechanism: 'SCRAM', saslUsername: 'ops' }, { KAFKA_SASL_PASSWORD: 'p' }),
    ).toThrow(
      "--sasl-mechanism \"SCRAM\" is not supported: use 'PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'",
    );
    expect(() => securityFromFlags({ saslMechanism: 'OAUTHBEARER' }, {})).toThrow(
      '--sasl-mechanism OAUTHBEARER needs the token in KAFKA_SASL_OAUTHBEARER_TOKEN',
    );
    expect(() => securityFromFlags({ tlsCa: join(dir, 'missing.pem') })).toThrow(
      /^--tls-ca .*missing\.pem: cannot read it/,
    );
    const notPem = join(dir, 'ca.txt');
    writeFileSync(notPem, 'hello');
    expect(() => securityFromFlags({ tlsCa: notPem })).toThrow(
      `--tls-ca ${notPem}: not a PEM certificate file (no BEGIN CERTIFICATE line)`,
    );
  });
});

describe('reset', () => {
  it('reset --help documents its options', async () => {
    const { out } = await run('reset', '--help');
    for (const o of [
      '--input-topics',
      '--to-earliest',
      '--to-datetime',
      '--state-dir',
      '--dry-run',
      '<applicationId>',
    ])
      expect(out).toContain(o);
  });

  it('refuses --to-earliest with --to-datetime, and a bad date-time, before touching the cluster', async () => {
    const both = await run('reset', 'app', '--to-earliest', '--to-datetime', '2026-01-01T00:00:00Z');
    expect(both.error?.message).toMatch(/--to-earliest and --to-datetime exclude each other/);
    const bad = await run('reset', 'app', '--to-datetime', 'soon');
    expect(bad.err).toMatch(/"soon" is not an ISO-8601 date-time/);
  });

  it('takes input topics from a topology, leaving out repartition topics', () => {
    expect(inputTopicsOf([{ name: 't', topology: wordCount() }])).toEqual(['text']);
  });

  it('picks the application’s changelog and repartition topics only', () => {
    expect(
      internalTopicsOf('wc', [
        'wc-counts-changelog',
        'wc-x-repartition',
        'wc-out',
        'wcx-a-changelog',
        'other-changelog',
        'text',
      ]),
    ).toEqual(['wc-counts-changelog', 'wc-x-repartition']);
  });

  it('lists a dry run’s steps', () => {
    const lines = describePlan(
      'wc',
      {
        offsets: [{ topic: 'text', partition: 0, offset: 0n }],
        internalTopics: ['wc-counts-changelog'],
        stateDir: '/s/wc',
      },
      true,
    );
    expect(lines).toEqual([
      'Reset of application "wc" (dry run: nothing is changed):',
      '  would set offset of text-0 to 0',
      '  would delete internal topic wc-counts-changelog',
      '  would delete local state directory /s/wc',
    ]);
  });
});

describe('query and dlt arguments', () => {
  it('builds the key URL with escaped segments and window bounds', () => {
    expect(queryUrl('http://127.0.0.1:8080', 'word counts', 'a/b').href).toBe(
      'http://127.0.0.1:8080/stores/word%20counts/keys/a%2Fb',
    );
    expect(queryUrl('http://h:1/base/', 's', 'k', { from: 0, to: 60000 }).href).toBe(
      'http://h:1/base/stores/s/keys/k?from=0&to=60000',
    );
    expect(() => queryUrl('not a url', 's', 'k')).toThrow(/is not a URL: give the instance's endpoint/);
  });

  it('query requires --url and integer window bounds', async () => {
    expect((await run('query', 'counts', 'the')).err).toContain(
      "required option '--url <endpoint>' not specified",
    );
    expect((await run('query', 'counts', 'the', '--url', 'http://h:1', '--from', 'x')).err).toContain(
      '"x" is not a non-negative integer',
    );
  });

  it('dlt redrive documents its filters and refuses an unknown --timestamp', async () => {
    const help = await run('dlt', 'redrive', '--help');
    for (const o of ['--original-topic', '--exception', '--message', '--key', '--dry-run', '<dlt>'])
      expect(help.out).toContain(o);
    const bad = await run('dlt', 'redrive', 'orders.DLT', '--timestamp', 'later');
    expect(bad.error?.message).toMatch(/--timestamp "later": give original or now/);
  });
});
