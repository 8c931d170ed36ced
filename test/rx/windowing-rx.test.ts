/**
 * The RxJS rolling averages (packages/topologies/windowing/rx.ts) on the broker: readings on two
 * partitions through KafkaReceiver → windowAverages → KafkaSender give exactly the averages the
 * topology gives for each partition's readings (TopologyTestDriver, one partition at a time: time
 * is per partition in both), and the group's committed offset of each partition stops at its
 * first reading whose window is still open.
 */
import { Serdes } from '@kafka-pattern/streams-core';
import { KafkaReceiver, KafkaSender } from '@kafka-pattern/streams-core/rx';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { type Reading, sensorAverages, type WindowAverage } from '@kafka-pattern/topologies/windowing';
import { rxSensorAverages } from '@kafka-pattern/topologies/windowing/rx';
import type { Subscription } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { bootstrapServers, collect, createTopic, eventually, produce, uniqueName } from '../support/kafka.ts';
import { committed } from './support.ts';

const T0 = 1_700_000_040_000;
const S = Serdes.String();
const J = Serdes.JSON<Reading>();
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function viaTopology(readings: Reading[]): WindowAverage[] {
  const driver = new TopologyTestDriver(sensorAverages({ readings: 'r', averages: 'a', advanceMs: 20_000 }));
  try {
    const input = driver.createInputTopic('r', S, J);
    const output = driver.createOutputTopic('a', S, Serdes.JSON<WindowAverage>());
    for (const r of readings) input.pipeInput(r.sensorId, r, r.takenAt);
    return output.readValuesToList();
  } finally {
    driver.close();
  }
}

describe('rolling averages with RxJS on the broker', () => {
  it('writes the averages the topology computes and commits only readings whose windows are out', async () => {
    const readingsTopic = await createTopic(uniqueName('rx-win-in'), 2);
    const averagesTopic = await createTopic(uniqueName('rx-win-out'), 2);
    // Per partition: sensors every 5 s of event time for 5 minutes, some 4 s late.
    const byPartition: Reading[][] = [[], []];
    for (let p = 0; p < 2; p++)
      for (let i = 0; i < 60; i++) {
        const sensorId = `s${p}-${i % 3}`;
        const late = i % 7 === 3 ? -4_000 : 0;
        byPartition[p]!.push({ sensorId, celsius: 10 + ((i * 7 + p) % 23), takenAt: T0 + i * 5_000 + late });
      }
    await produce(
      byPartition.flatMap((readings, partition) =>
        readings.map((r) => ({
          topic: readingsTopic,
          partition,
          key: Buffer.from(r.sensorId),
          value: J.serialize(readingsTopic, r),
          timestamp: r.takenAt,
        })),
      ),
    );
    const groupId = uniqueName('rx-win-g');
    const receiver = KafkaReceiver.create({
      bootstrapServers: bootstrapServers(),
      groupId,
      topics: [readingsTopic],
      keyDeserializer: S,
      valueDeserializer: J,
      commitIntervalMs: 100,
    });
    const sender = KafkaSender.create({
      bootstrapServers: bootstrapServers(),
      keySerializer: S,
      valueSerializer: Serdes.JSON<WindowAverage>(),
    });
    cleanup.push(
      () => sender.close(),
      () => receiver.close(),
    );
    const sub: Subscription = rxSensorAverages(receiver, sender, averagesTopic, {
      advanceMs: 20_000,
    }).subscribe();
    cleanup.push(() => sub.unsubscribe());

    const expected = byPartition.flatMap((readings) => viaTopology(readings));
    const written = await collect(averagesTopic, { count: expected.length, timeoutMs: 60_000 });
    const key = (a: WindowAverage) => `${a.sensorId}|${a.windowStart}`;
    const got = written.map((r) => JSON.parse(r.value!.toString()) as WindowAverage);
    expect(got.sort((a, b) => (key(a) < key(b) ? -1 : 1))).toEqual(
      [...expected].sort((a, b) => (key(a) < key(b) ? -1 : 1)),
    );

    // The first reading of each partition that still counts in an open window: stream time is its
    // last reading's takenAt, a window is open while end + 10 s grace > stream time.
    const holdsAt = byPartition.map((readings) => {
      const streamTime = Math.max(...readings.map((r) => r.takenAt));
      const firstOpen = readings.findIndex((r) => {
        const lastWindowEnd = Math.floor(r.takenAt / 20_000) * 20_000 + 60_000;
        return lastWindowEnd + 10_000 > streamTime;
      });
      return BigInt(firstOpen);
    });
    for (const h of holdsAt) expect(h > 0n && h < 60n).toBe(true);
    await eventually(
      async () => {
        const c = await committed(groupId, readingsTopic, 2);
        return c[0] === holdsAt[0] && c[1] === holdsAt[1] ? true : undefined;
      },
      20_000,
      `committed offsets at ${holdsAt.join(', ')}`,
    );
  }, 120_000);
});
