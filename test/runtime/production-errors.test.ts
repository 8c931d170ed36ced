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

async function run(productionExceptionHandler: 'fail' | 'continue') {
  const input = await createTopic(uniqueName('big-in'), 1);
  const output = await createTopic(uniqueName('big-out'), 1, { 'max.message.bytes': '10000' });
  const builder = new StreamsBuilder();
  builder
    .stream(input, { key: Serdes.String(), value: Serdes.String() })
    .mapValues((v) => (v === 'big' ? 'x'.repeat(50_000) : v))
    .to(output, { key: Serdes.String(), value: Serdes.String() });
  const stateDir = tempStateDir(cleanups, 'kp-big-');
  const app = new KafkaStreams(builder.build(), {
    applicationId: uniqueName('big'),
    bootstrapServers: bootstrapServers(),
    stateDir,
    productionExceptionHandler,
  });
  cleanups.push(() => app.close());
  await app.start();
  await app.waitForRunning();
  await produce([record(input, 'k1', 'big')]);
  return { app, input, output };
}

describe('production errors', () => {
  it('stop the instance with the cause by default', async () => {
    const { app } = await run('fail');
    await eventually(() => (app.state === 'ERROR' ? true : undefined), 30_000, 'state ERROR');
    expect(String(app.error)).toMatch(/Producing 1 records failed/);
  });

  it('are dropped and counted with productionExceptionHandler: continue, and the stream goes on', async () => {
    const { app, input, output } = await run('continue');
    await eventually(
      () => (app.metrics().productionErrors === 1 ? true : undefined),
      30_000,
      'the refused record counted',
    );
    await produce([record(input, 'k2', 'small')]);
    const out = await eventually(
      async () => {
        const r = await collect(output, { timeoutMs: 5_000 });
        return r.length > 0 ? r : undefined;
      },
      30_000,
      'the next record',
    );
    expect(out.map((r) => r.value!.toString())).toEqual(['small']);
    expect(app.state).toBe('RUNNING');
  });
});
