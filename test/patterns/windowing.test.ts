/**
 * The sensor averages pattern on the real broker: expected final averages, and a restart in the
 * middle of a window (with the state directory wiped, so the window comes back from its
 * changelog) loses none of the window's readings.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { KafkaStreams } from '@kafka-pattern/streams-core';
import { type Reading, sensorAverages, type WindowAverage } from '@kafka-pattern/topologies/windowing';
import { describe, expect, it } from 'vitest';
import { bootstrapServers, collect, createTopic, eventually, produce, uniqueName } from '../support/kafka.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';

const cleanups = teardownAfterEach();

// Event time near the wall clock, as live sensors produce it: the window store's changelog keeps
// records for its retention plus a day of wall-clock time, so readings from long ago would be
// deleted by the broker before a restore could read them (as with Kafka Streams).
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
const reading = (topic: string, sensorId: string, celsius: number, offsetMs: number) => ({
  topic,
  key: Buffer.from(sensorId),
  value: Buffer.from(JSON.stringify({ sensorId, celsius, takenAt: T0 + offsetMs } satisfies Reading)),
});

describe('windowing pattern: sensor rolling averages', () => {
  it('produces the expected final averages, across a restart in the middle of a window', async () => {
    const input = await createTopic(uniqueName('readings'), 2);
    const output = await createTopic(uniqueName('averages'), 2);
    const applicationId = uniqueName('sensors');
    const stateDir = tempStateDir(cleanups, 'kp-sensors-');
    const start = async () => {
      const app = new KafkaStreams(sensorAverages({ readings: input, averages: output }), {
        applicationId,
        bootstrapServers: bootstrapServers(),
        processingGuarantee: 'exactly_once_v2',
        stateDir,
      });
      cleanups.push(() => app.close());
      await app.start();
      await app.waitForRunning();
      return app;
    };
    const sensors = ['s1', 's2', 's3', 's4'];
    let app = await start();
    // First half of the window [0, 60 s): 1..6 °C per sensor.
    await produce(sensors.flatMap((s, i) => [1, 2, 3].map((n) => reading(input, s, n + i, n * 10_000))));
    await eventually(
      () => (app.metrics().totals.processedRecords >= 12 ? true : undefined),
      30_000,
      'first half processed',
    );
    await app.close();
    // The window lives only in the changelog now.
    rmSync(join(stateDir, applicationId), { recursive: true, force: true });
    app = await start();
    // Second half, then a reading per sensor past 60 s + grace that closes the window.
    await produce(sensors.flatMap((s, i) => [4, 5].map((n) => reading(input, s, n + i, n * 10_000))));
    await produce(sensors.map((s) => reading(input, s, 0, 75_000)));
    const out = await eventually(
      async () => {
        const records = await collect(output, { timeoutMs: 5_000 });
        return records.length >= sensors.length ? records : undefined;
      },
      60_000,
      'a final average per sensor',
    );
    const averages = out
      .map((r) => JSON.parse(r.value!.toString()) as WindowAverage)
      .sort((a, b) => a.sensorId.localeCompare(b.sensorId));
    expect(averages).toEqual(
      sensors.map((s, i) => ({
        sensorId: s,
        windowStart: T0,
        windowEnd: T0 + 60_000,
        readings: 5,
        averageCelsius: 3 + i,
      })),
    );
    await app.close();
  });
});
