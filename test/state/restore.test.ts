/**
 * State restoration from changelogs on the real broker: a stateful count is stopped, its state
 * directory deleted, and restarted; the counts continue exactly where they were.
 */
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  KafkaStreams,
  type ProcessingGuarantee,
  type RestoreProgress,
  Serdes,
  StreamsBuilder,
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

function countTopology(input: string, output: string) {
  const builder = new StreamsBuilder();
  builder
    .stream(input, { key: Serdes.String(), value: Serdes.String() })
    .groupByKey()
    .count({ name: 'counts' })
    .toStream()
    .to(output, { key: Serdes.String(), value: Serdes.Long() });
  return builder.build();
}

async function latestCounts(output: string): Promise<Map<string, number>> {
  const out = await collect(output, { timeoutMs: 5_000 });
  return new Map(out.map((r) => [r.key!.toString(), Number(r.value!.readBigInt64BE(0))]));
}

async function scenario(guarantee: ProcessingGuarantee, damage: (stateDir: string) => void) {
  const input = await createTopic(uniqueName('restore-in'), 2);
  const output = await createTopic(uniqueName('restore-out'), 2);
  const applicationId = uniqueName('restore');
  const stateDir = tempStateDir(cleanups, 'kp-restore-');
  const restores: RestoreProgress[] = [];
  const start = async () => {
    const app = new KafkaStreams(countTopology(input, output), {
      applicationId,
      bootstrapServers: bootstrapServers(),
      processingGuarantee: guarantee,
      stateDir,
      commitIntervalMs: 100,
    });
    app.setRestoreListener({ onRestoreEnd: (p) => restores.push(p) });
    cleanups.push(() => app.close());
    await app.start();
    await app.waitForRunning();
    return app;
  };
  const keys = Array.from({ length: 50 }, (_, i) => `key-${i}`);
  const first = await start();
  await produce(Array.from({ length: 2_000 }, (_, i) => record(input, keys[i % keys.length]!, 'x')));
  await eventually(
    async () => {
      const m = await latestCounts(output);
      return keys.every((k) => m.get(k) === 40) ? true : undefined;
    },
    60_000,
    'first round of counts',
  );
  await first.close();
  expect(restores.reduce((n, p) => n + p.restored, 0)).toBe(0);

  damage(stateDir);
  const second = await start();
  const restored = restores.reduce((n, p) => n + p.restored, 0);
  const rate = second.metrics().restoreRatePerSec;
  console.log(`restored ${restored} changelog records at ${Math.round(rate)} records/s (${guarantee})`);
  await produce(keys.map((k) => record(input, k, 'x')));
  await eventually(
    async () => {
      const m = await latestCounts(output);
      return keys.every((k) => m.get(k) === 41) ? true : undefined;
    },
    60_000,
    'counts continuing at 41',
  );
  await second.close();
  return { restored, rate };
}

describe('restoration from the changelog', () => {
  it('continues exactly after the state directory is deleted (exactly_once_v2)', async () => {
    const { restored, rate } = await scenario('exactly_once_v2', (dir) =>
      rmSync(dir, { recursive: true, force: true }),
    );
    // Every key's latest count was restored: at least one changelog record per key, at most one per update.
    expect(restored).toBeGreaterThanOrEqual(50);
    expect(restored).toBeLessThanOrEqual(2_000);
    expect(rate).toBeGreaterThan(0);
  });

  it('continues exactly after the state directory is deleted (at_least_once)', async () => {
    const { restored } = await scenario('at_least_once', (dir) =>
      rmSync(dir, { recursive: true, force: true }),
    );
    expect(restored).toBeGreaterThanOrEqual(50);
  });

  it('restores fully when a task database is corrupt, never keeping wrong state', async () => {
    const { restored } = await scenario('exactly_once_v2', (dir) => {
      for (const app of readdirSync(dir)) {
        for (const task of readdirSync(join(dir, app))) {
          if (/^\d+_\d+$/.test(task))
            writeFileSync(join(dir, app, task, 'state.sqlite'), 'this is not a database');
        }
      }
    });
    expect(restored).toBeGreaterThanOrEqual(50);
  });

  it('restores only the tail after a clean restart with the state directory intact', async () => {
    const { restored } = await scenario('exactly_once_v2', () => {});
    expect(restored).toBe(0);
  });
});
