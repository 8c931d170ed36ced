import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaStreams, Serdes, StreamsBuilder, type ProcessingGuarantee } from '@kafka-pattern/streams-core';
import { bootstrapServers, collect, createTopic, produce, record, uniqueName } from '../support/kafka.ts';

function wordCountTopology(input: string, output: string) {
  const builder = new StreamsBuilder();
  builder
    .stream(input, { key: Serdes.String(), value: Serdes.String() })
    .flatMapValues((line) => line.toLowerCase().split(/\W+/).filter(Boolean))
    .groupBy((_k, word) => word, { key: Serdes.String(), value: Serdes.String() })
    .count({ name: 'counts' })
    .toStream()
    .to(output, { key: Serdes.String(), value: Serdes.Long() });
  return builder.build();
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function runWordCount(guarantee: ProcessingGuarantee) {
  const input = await createTopic(uniqueName('text'), 3);
  const output = await createTopic(uniqueName('counts-out'), 3);
  const stateDir = mkdtempSync(join(tmpdir(), 'kp-wc-'));
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const app = new KafkaStreams(wordCountTopology(input, output), {
    applicationId: uniqueName('wc'),
    bootstrapServers: bootstrapServers(),
    processingGuarantee: guarantee,
    stateDir,
    commitIntervalMs: 200,
  });
  cleanups.push(() => app.close());
  await app.start();
  await app.waitForRunning(60_000);
  const lines = ['the quick brown fox', 'the lazy dog', 'The fox and the dog'];
  await produce(lines.map((l, i) => record(input, `k${i}`, l)));
  const expected = new Map<string, number>();
  for (const w of lines.join(' ').toLowerCase().split(/\W+/)) expected.set(w, (expected.get(w) ?? 0) + 1);
  const out = await collect(output, { count: 12, isolationLevel: 'read_committed', timeoutMs: 30_000 });
  const latest = new Map<string, number>();
  for (const r of out) latest.set(r.key!.toString(), Number(r.value!.readBigInt64BE(0)));
  expect(latest).toEqual(expected);
  expect(app.metrics().totals.processedRecords).toBeGreaterThanOrEqual(lines.length + 12);
  await app.close();
  expect(app.state).toBe('NOT_RUNNING');
}

describe('KafkaStreams on the real broker', () => {
  it('counts words under at_least_once', async () => {
    await runWordCount('at_least_once');
  });

  it('counts words under exactly_once_v2', async () => {
    await runWordCount('exactly_once_v2');
  });

  it('fails to start with a clear message when a source topic is missing', async () => {
    const app = new KafkaStreams(wordCountTopology(uniqueName('missing'), uniqueName('out')), {
      applicationId: uniqueName('wc'),
      bootstrapServers: bootstrapServers(),
    });
    await expect(app.start()).rejects.toThrow(/Source topic "missing-[^"]+" does not exist: create it before starting/);
    expect(app.state).toBe('ERROR');
  });
});
