import {
  KafkaStreams,
  Serdes,
  StreamsBuilder,
  type StreamsState,
  type UncaughtExceptionResponse,
} from '@kafka-pattern/streams-core';
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

async function failingApp(response: UncaughtExceptionResponse) {
  const input = await createTopic(uniqueName('life-in'), 1);
  const output = await createTopic(uniqueName('life-out'), 1);
  let failures = 0;
  const builder = new StreamsBuilder();
  builder
    .stream(input, { key: Serdes.String(), value: Serdes.String() })
    .mapValues((v) => {
      // Fails the first time it sees "flaky", succeeds when the record is processed again.
      if (v === 'flaky' && failures++ === 0) throw new Error('temporary failure');
      return v.toUpperCase();
    })
    .to(output, { key: Serdes.String(), value: Serdes.String() });
  const stateDir = tempStateDir(cleanups, 'kp-life-');
  const app = new KafkaStreams(builder.build(), {
    applicationId: uniqueName('life'),
    bootstrapServers: bootstrapServers(),
    processingGuarantee: 'exactly_once_v2',
    processingExceptionHandler: 'log-and-fail',
    stateDir,
  });
  const states: StreamsState[] = [];
  app.onStateChange((s) => states.push(s));
  const errors: unknown[] = [];
  app.setUncaughtExceptionHandler((e) => {
    errors.push(e);
    return response;
  });
  cleanups.push(() => app.close());
  await app.start();
  await app.waitForRunning();
  await produce([record(input, 'k1', 'a'), record(input, 'k2', 'flaky'), record(input, 'k3', 'b')]);
  return { app, states, errors, output };
}

describe('lifecycle', () => {
  it('goes CREATED → REBALANCING → RUNNING → PENDING_SHUTDOWN → NOT_RUNNING', async () => {
    const input = await createTopic(uniqueName('life-in'), 1);
    const builder = new StreamsBuilder();
    builder.stream(input, { key: Serdes.String(), value: Serdes.String() }).foreach(() => {});
    const app = new KafkaStreams(builder.build(), {
      applicationId: uniqueName('life'),
      bootstrapServers: bootstrapServers(),
      stateDir: tempStateDir(cleanups, 'kp-life-'),
    });
    const seen: string[] = [app.state];
    app.onStateChange((s, old) => seen.push(`${old}->${s}`));
    await app.start();
    await app.waitForRunning();
    await app.close();
    expect(seen).toEqual([
      'CREATED',
      'CREATED->REBALANCING',
      'REBALANCING->RUNNING',
      'RUNNING->PENDING_SHUTDOWN',
      'PENDING_SHUTDOWN->NOT_RUNNING',
    ]);
  });

  it('REPLACE_THREAD: the failed work is aborted and processed again by a new stream thread', async () => {
    const { app, errors, output } = await failingApp('REPLACE_THREAD');
    const out = await eventually(
      async () => {
        const records = await collect(output, { timeoutMs: 5_000 });
        return records.length >= 3 ? records : undefined;
      },
      60_000,
      'all three records after the replacement',
    );
    expect(out.map((r) => r.value!.toString())).toEqual(['A', 'FLAKY', 'B']);
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/temporary failure/);
    expect(app.state).toBe('RUNNING');
  });

  it('SHUTDOWN_CLIENT: the instance stops in ERROR, and nothing of the failed transaction is visible', async () => {
    const { app, states, output } = await failingApp('SHUTDOWN_CLIENT');
    await eventually(() => (app.state === 'ERROR' ? true : undefined), 30_000, 'state ERROR');
    expect(states.slice(-2)).toEqual(['PENDING_ERROR', 'ERROR']);
    // Nothing from the failed record on is visible: its transaction was aborted.
    const values = (await collect(output, { timeoutMs: 3_000 })).map((r) => r.value!.toString());
    expect(values).not.toContain('FLAKY');
    expect(values).not.toContain('B');
  });
});
