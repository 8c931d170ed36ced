import { KafkaStreams, type RestoreProgress, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
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

async function failover(numStandbyReplicas: number) {
  const input = await createTopic(uniqueName('standby-in'), 2);
  const output = await createTopic(uniqueName('standby-out'), 2);
  const applicationId = uniqueName('standby');
  const builder = new StreamsBuilder();
  builder
    .stream(input, { key: Serdes.String(), value: Serdes.String() })
    .groupByKey()
    .count({ name: 'counts' })
    .toStream()
    .to(output, { key: Serdes.String(), value: Serdes.Long() });
  const topology = builder.build();
  const restoredBy = new Map<string, RestoreProgress[]>();
  const start = async (name: string) => {
    const stateDir = tempStateDir(cleanups, 'kp-standby-');
    const app = new KafkaStreams(topology, {
      applicationId,
      bootstrapServers: bootstrapServers(),
      processingGuarantee: 'exactly_once_v2',
      stateDir,
      numStandbyReplicas,
      // Every update reaches the changelog, so a full restore is as long as the input.
      cacheMaxBytes: 0,
      client: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 },
    });
    restoredBy.set(name, []);
    app.setRestoreListener({ onRestoreEnd: (p) => restoredBy.get(name)!.push(p) });
    cleanups.push(() => app.close());
    await app.start();
    return app;
  };
  const a = await start('a');
  await a.waitForRunning();
  const b = await start('b');
  await eventually(
    () =>
      a.state === 'RUNNING' &&
      b.state === 'RUNNING' &&
      a.activeTaskIds().length === 1 &&
      b.activeTaskIds().length === 1
        ? true
        : undefined,
    60_000,
    'one task each',
  );
  const keys = Array.from({ length: 20 }, (_, i) => `key-${i}`);
  await produce(Array.from({ length: 2_000 }, (_, i) => record(input, keys[i % keys.length]!, 'x')));
  await eventually(
    async () => {
      const out = await collect(output, { timeoutMs: 5_000 });
      const m = new Map(out.map((r) => [r.key!.toString(), Number(r.value!.readBigInt64BE(0))]));
      return keys.every((k) => m.get(k) === 100) ? true : undefined;
    },
    60_000,
    'all counts at 100',
  );
  if (numStandbyReplicas > 0) {
    expect(a.standbyTaskIds()).toEqual(b.activeTaskIds());
    // Let the standby catch up with the changelog before the failover.
    await eventually(
      () => (a.metrics().standbyRecords >= 900 ? true : undefined),
      30_000,
      'standby caught up',
    );
  }
  const moved = b.activeTaskIds()[0]!;
  await b.close();
  await eventually(
    () => (a.state === 'RUNNING' && a.activeTaskIds().length === 2 ? true : undefined),
    60_000,
    'a owns both tasks',
  );
  const restoredForMoved = restoredBy
    .get('a')!
    .filter((p) => p.taskId === moved)
    .reduce((n, p) => n + p.restored, 0);
  await produce(keys.map((k) => record(input, k, 'x')));
  await eventually(
    async () => {
      const out = await collect(output, { timeoutMs: 5_000 });
      const m = new Map(out.map((r) => [r.key!.toString(), Number(r.value!.readBigInt64BE(0))]));
      return keys.every((k) => m.get(k) === 101) ? true : undefined;
    },
    60_000,
    'all counts at 101 after the failover',
  );
  return { restoredForMoved, standbyRecords: a.metrics().standbyRecords };
}

describe('standby replicas', () => {
  it('let the survivor take over a task without a full restore', async () => {
    const withStandby = await failover(1);
    console.log(
      `with a standby: restored ${withStandby.restoredForMoved} records on failover (standby applied ${withStandby.standbyRecords})`,
    );
    const without = await failover(0);
    console.log(`without a standby: restored ${without.restoredForMoved} records on failover`);
    expect(without.restoredForMoved).toBeGreaterThanOrEqual(900);
    expect(withStandby.restoredForMoved).toBeLessThan(100);
  });

  it('place numStandbyReplicas copies of each task on the instances after its owner', async () => {
    const input = await createTopic(uniqueName('standby3-in'), 3);
    const output = await createTopic(uniqueName('standby3-out'), 3);
    const applicationId = uniqueName('standby3');
    const builder = new StreamsBuilder();
    builder
      .stream(input, { key: Serdes.String(), value: Serdes.String() })
      .groupByKey()
      .count({ name: 'counts' })
      .toStream()
      .to(output, { key: Serdes.String(), value: Serdes.Long() });
    const topology = builder.build();
    const apps: KafkaStreams[] = [];
    for (let i = 0; i < 3; i++) {
      const stateDir = tempStateDir(cleanups, 'kp-standby3-');
      const app = new KafkaStreams(topology, {
        applicationId,
        bootstrapServers: bootstrapServers(),
        stateDir,
        numStandbyReplicas: 1,
        client: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 },
      });
      cleanups.push(() => app.close());
      await app.start();
      apps.push(app);
    }
    await eventually(
      () => (apps.every((a) => a.state === 'RUNNING' && a.activeTaskIds().length === 1) ? true : undefined),
      60_000,
      'one task per instance',
    );
    const placement = await eventually(
      () => {
        const standbys = apps.flatMap((a) => a.standbyTaskIds());
        return standbys.length === 3 ? standbys : undefined;
      },
      30_000,
      'three standbys in all',
    );
    // Every task has exactly one standby, and never on the instance that runs it.
    expect([...placement].sort()).toEqual(['0_0', '0_1', '0_2']);
    for (const a of apps) for (const t of a.standbyTaskIds()) expect(a.activeTaskIds()).not.toContain(t);
  });
});
