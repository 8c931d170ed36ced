/**
 * Every producer the framework creates is idempotent or transactional: a send the client retries
 * after a lost acknowledgement must never write its batch twice (the idempotent-producer pattern
 * shows what happens otherwise).
 *
 * The runtime: the client factory is wrapped to record the options of every producer asked for,
 * through start, processing, a dead letter and close, under both guarantees.
 * The rest of the repository (demos, test helpers, the bench's producers on the raw client): every
 * place that creates a producer is read, and its options must ask for idempotence; the one
 * exception is the pattern's unsafe baseline, which says so in its client id.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KafkaStreams, Serdes, StreamsBuilder, type StreamsConfig } from '@kafka-pattern/streams-core';
import type { KafkaClientFactory, ProducerOptions } from '@kafka-pattern/streams-core/client';
import { describe, expect, it } from 'vitest';
import { eventually, rec, useHarness } from '../support/harness.ts';

const harness = useHarness();
const S = Serdes.String();

function recordingProducers(factory: KafkaClientFactory): {
  factory: KafkaClientFactory;
  producers: ProducerOptions[];
} {
  const producers: ProducerOptions[] = [];
  return {
    producers,
    factory: {
      ...factory,
      producer: (options) => {
        producers.push({ ...options });
        return factory.producer(options);
      },
    },
  };
}

/** Upper-cases values; a value "boom" throws and goes to the dead-letter topic. */
function upperCase() {
  const builder = new StreamsBuilder();
  builder
    .stream('in', { key: S, value: S })
    .mapValues((v) => {
      if (v === 'boom') throw new Error('boom');
      return v.toUpperCase();
    })
    .to('out', { key: S, value: S });
  return builder.build();
}

async function runOnce(
  processingGuarantee: StreamsConfig['processingGuarantee'],
): Promise<ProducerOptions[]> {
  const h = harness();
  h.kafka.createTopic('in', 2);
  h.kafka.createTopic('out', 2);
  const { factory, producers } = recordingProducers(h.kafka.factory());
  const app = new KafkaStreams(
    upperCase(),
    {
      applicationId: `producers-${processingGuarantee}`,
      bootstrapServers: 'in-memory:9092',
      stateDir: h.stateDir(),
      processingGuarantee,
      commitIntervalMs: 0,
      client: { maxWaitMs: 20 },
    },
    { clientFactory: factory },
  );
  try {
    await app.start();
    h.kafka.produce([rec('in', 'a', 'x'), rec('in', 'b', 'boom'), rec('in', 'c', 'z')]);
    await eventually(
      () =>
        h.kafka.records('out').length === 2 &&
        h.kafka.records('in-dlt', { isolation: 'read_uncommitted' }).length === 1,
      'two outputs and one dead letter',
    );
  } finally {
    await app.close();
  }
  return producers;
}

describe('the producers the runtime creates', () => {
  it('at_least_once: idempotent', async () => {
    const producers = await runOnce('at_least_once');
    expect(producers.length).toBeGreaterThan(0);
    for (const p of producers) expect(p).toMatchObject({ idempotent: true });
  });

  it('exactly_once_v2: transactional (and so idempotent)', async () => {
    const producers = await runOnce('exactly_once_v2');
    expect(producers.length).toBeGreaterThan(0);
    for (const p of producers) {
      expect(p.idempotent).toBe(true);
      expect(p.transactionalId).toEqual(expect.any(String));
    }
  });
});

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
// Where producers are created: the packages' code, the pattern folders, the bench, the tests.
const SCANNED = ['packages', 'bench', 'test'];
const ADAPTER = join(ROOT, 'packages/streams-core/src/client/platformatic/producer.ts');
const CREATION = /new Producer\(|\.producer\(\{/g;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The argument list of the call that starts at `from` (just past its opening parenthesis). */
function callArguments(text: string, from: number): string {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return text.slice(from, i);
  }
  return text.slice(from);
}

describe('the producers the rest of the repository creates', () => {
  it('ask for idempotence, except the unsafe baseline that says so', () => {
    const offenders: string[] = [];
    let creations = 0;
    for (const file of SCANNED.flatMap((d) => sourceFiles(join(ROOT, d)))) {
      const text = readFileSync(file, 'utf8');
      // The port's adapter passes the caller's choice on; the callers are what is checked.
      if (file.endsWith('idempotent-producers.test.ts') || file === ADAPTER) continue;
      for (const m of text.matchAll(CREATION)) {
        const args = callArguments(text, m.index + m[0].indexOf('(') + 1);
        // A variable or a spread of options is not checked here: name the options in the call.
        if (!args.trimStart().startsWith('{')) continue;
        creations++;
        const where = `${relative(ROOT, file)}:${text.slice(0, m.index).split('\n').length}`;
        if (/idempotent:\s*true/.test(args)) continue;
        if (/idempotent:\s*false/.test(args) && /clientId:\s*'unsafe-baseline-/.test(args)) continue;
        offenders.push(`${where}: ${args.replace(/\s+/g, ' ').trim()}`);
      }
    }
    expect(creations).toBeGreaterThan(10);
    expect(offenders).toEqual([]);
  });
});
