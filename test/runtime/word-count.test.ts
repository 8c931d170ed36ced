import { KafkaStreams, type ProcessingGuarantee, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { describe, expect, it } from 'vitest';
import {
  bootstrapServers,
  collect,
  createTopic,
  eventually,
  produce,
  record,
  uniqueName,
} from '../support/kafka.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';

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

const cleanups = teardownAfterEach();

async function runWordCount(guarantee: ProcessingGuarantee) {
  const input = await createTopic(uniqueName('text'), 3);
  const output = await createTopic(uniqueName('counts-out'), 3);
  const stateDir = tempStateDir(cleanups, 'kp-wc-');
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
  const latest = await eventually(
    async () => {
      const out = await collect(output, { isolationLevel: 'read_committed', timeoutMs: 5_000 });
      const m = new Map<string, number>();
      for (const r of out) m.set(r.key!.toString(), Number(r.value!.readBigInt64BE(0)));
      return [...expected].every(([w, n]) => m.get(w) === n) ? m : undefined;
    },
    30_000,
    'every final count',
  );
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

  it('folds repeated updates of a key between commits in the record cache, and emits every update without it', async () => {
    const outputs: number[] = [];
    for (const cacheMaxBytes of [1024 * 1024, 0]) {
      const input = await createTopic(uniqueName('cache-in'), 1);
      const output = await createTopic(uniqueName('cache-out'), 1);
      const stateDir = tempStateDir(cleanups, 'kp-cache-');
      // The input is written before the application starts, so one poll carries many updates of each key.
      await produce(Array.from({ length: 600 }, (_, i) => record(input, `k${i}`, i % 2 ? 'odd' : 'even')));
      const app = new KafkaStreams(wordCountTopology(input, output), {
        applicationId: uniqueName('cache'),
        bootstrapServers: bootstrapServers(),
        processingGuarantee: 'exactly_once_v2',
        stateDir,
        commitIntervalMs: 1_000,
        cacheMaxBytes,
      });
      cleanups.push(() => app.close());
      await app.start();
      const out = await eventually(
        async () => {
          const records = await collect(output, { timeoutMs: 5_000 });
          const latest = new Map(records.map((r) => [r.key!.toString(), Number(r.value!.readBigInt64BE(0))]));
          return latest.get('odd') === 300 && latest.get('even') === 300 ? records : undefined;
        },
        60_000,
        'final counts',
      );
      outputs.push(out.length);
      await app.close();
    }
    const [cached, uncached] = outputs;
    expect(uncached).toBe(600);
    expect(cached).toBeLessThan(60);
  });

  it('fails to start with a clear message when a source topic is missing', async () => {
    const app = new KafkaStreams(wordCountTopology(uniqueName('missing'), uniqueName('out')), {
      applicationId: uniqueName('wc'),
      bootstrapServers: bootstrapServers(),
    });
    await expect(app.start()).rejects.toThrow(
      /Source topic "missing-[^"]+" does not exist: create it before starting/,
    );
    expect(app.state).toBe('ERROR');
  });
});
