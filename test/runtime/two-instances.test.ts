import { KafkaStreams, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
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

const cleanups = teardownAfterEach();

function topology(input: string, output: string) {
  const builder = new StreamsBuilder();
  builder
    .stream(input, { key: Serdes.String(), value: Serdes.String() })
    .groupBy((_k, word) => word, { key: Serdes.String(), value: Serdes.String() })
    .count({ name: 'counts' })
    .toStream()
    .to(output, { key: Serdes.String(), value: Serdes.Long() });
  return builder.build();
}

describe('two instances of one application', () => {
  it('share the partitions, and the survivor finishes exactly when one stops', async () => {
    const input = await createTopic(uniqueName('two-in'), 3);
    const output = await createTopic(uniqueName('two-out'), 3);
    const applicationId = uniqueName('two');
    const start = async () => {
      const stateDir = tempStateDir(cleanups, 'kp-two-');
      const app = new KafkaStreams(topology(input, output), {
        applicationId,
        bootstrapServers: bootstrapServers(),
        processingGuarantee: 'exactly_once_v2',
        stateDir,
        // Every update is emitted, so the output can be counted against the input one for one.
        cacheMaxBytes: 0,
        client: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 },
      });
      cleanups.push(() => app.close());
      await app.start();
      return app;
    };
    const a = await start();
    await a.waitForRunning();
    const b = await start();
    // Both instances hold tasks once the group settled: 3 input partitions + 3 repartition partitions = 6 tasks.
    await eventually(
      () => {
        const ta = a.activeTaskIds();
        const tb = b.activeTaskIds();
        return a.state === 'RUNNING' &&
          b.state === 'RUNNING' &&
          ta.length > 0 &&
          tb.length > 0 &&
          ta.length + tb.length === 6
          ? true
          : undefined;
      },
      60_000,
      'both instances to own tasks',
    );
    expect(new Set([...a.activeTaskIds(), ...b.activeTaskIds()])).toEqual(
      new Set(['0_0', '0_1', '0_2', '1_0', '1_1', '1_2']),
    );

    const words = Array.from({ length: 600 }, (_, i) => `w${i % 30}`);
    await produce(words.slice(0, 300).map((w, i) => record(input, `k${i}`, w)));
    await eventually(
      async () => ((await collect(output, { timeoutMs: 5_000 })).length >= 300 ? true : undefined),
      60_000,
      'first half processed',
    );

    await b.close();
    expect(b.state).toBe('NOT_RUNNING');
    await produce(words.slice(300).map((w, i) => record(input, `k${300 + i}`, w)));
    await eventually(
      () => (a.state === 'RUNNING' && a.activeTaskIds().length === 6 ? true : undefined),
      60_000,
      'the survivor to own every task',
    );

    const out = await eventually(
      async () => {
        const records = await collect(output, { timeoutMs: 5_000 });
        return records.length >= 600 ? records : undefined;
      },
      60_000,
      'every update',
    );
    const latest = new Map<string, number>();
    for (const r of out) latest.set(r.key!.toString(), Number(r.value!.readBigInt64BE(0)));
    expect(latest).toEqual(new Map(Array.from({ length: 30 }, (_, i) => [`w${i}`, 20])));
    // Exactly one committed update per input record: no duplicate across the handover.
    expect(out.length).toBe(600);
  });
});
