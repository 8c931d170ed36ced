/**
 * Demo: three sensors report temperatures every 5 seconds of event time for 3 minutes; the
 * topology prints one final 60-second average per sensor and window, tumbling and then hopping
 * (a 60 s average every 20 s). A few readings arrive out of order and one arrives too late.
 *
 * Run: `pnpm demo windowing` (it starts the local stack when needed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaStreams } from '@kafka-pattern/streams-core';
import { createPlatformaticClientFactory, recordsOf } from '@kafka-pattern/streams-core/client';
import { localStack } from '../src/support/local-stack.ts';
import { type Reading, sensorAverages, type WindowAverage } from './topology.ts';

const { bootstrapServers } = localStack();
const clients = createPlatformaticClientFactory({ bootstrapServers, clientId: 'windowing-demo' });
const run = Date.now().toString(36);
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;

function readings(): Reading[] {
  const out: Reading[] = [];
  const base: Record<string, number> = { 'boiler-room': 60, office: 21, freezer: -18 };
  for (let t = 0; t < 180_000; t += 5_000) {
    for (const [sensorId, celsius] of Object.entries(base)) {
      out.push({
        sensorId,
        celsius: Math.round((celsius + Math.sin(t / 20_000) * 2) * 10) / 10,
        takenAt: T0 + t,
      });
    }
  }
  // Two readings arrive out of order (within the grace period) and one far too late.
  out.splice(40, 0, { sensorId: 'office', celsius: 35, takenAt: T0 + 55_000 });
  out.push({ sensorId: 'office', celsius: 99, takenAt: T0 + 1_000 });
  // A last reading per sensor moves event time past the end of every window, so all of them
  // close. Stream time is kept per partition: a sensor whose partition stays quiet keeps its
  // last window open until something arrives there.
  for (const [sensorId, celsius] of Object.entries(base))
    out.push({ sensorId, celsius, takenAt: T0 + 300_000 });
  return out;
}

async function runVariant(label: string, advanceMs: number | undefined): Promise<void> {
  const input = `sensor-readings-${label}-${run}`;
  const output = `sensor-averages-${label}-${run}`;
  const admin = clients.admin();
  await admin.createTopics([
    { name: input, partitions: 3 },
    { name: output, partitions: 3 },
  ]);
  const stateDir = mkdtempSync(join(tmpdir(), 'kp-windowing-'));
  const app = new KafkaStreams(
    sensorAverages({ readings: input, averages: output, ...(advanceMs ? { advanceMs } : {}) }),
    {
      applicationId: `sensor-averages-${label}-${run}`,
      bootstrapServers,
      processingGuarantee: 'exactly_once_v2',
      stateDir,
    },
  );
  try {
    await app.start();
    await app.waitForRunning();
    const all = readings();
    const producer = clients.producer({ clientId: 'windowing-demo-producer', idempotent: true });
    await producer.send(
      all.map((r) => ({ topic: input, key: Buffer.from(r.sensorId), value: Buffer.from(JSON.stringify(r)) })),
    );
    await producer.close();
    // Windows that end by 180 s + grace close; the closing readings' own windows stay open.
    const expectedWindows = advanceMs ? 3 * ((180_000 + 60_000) / advanceMs - 1) : 3 * 3;
    const reader = clients.partitionReader({
      clientId: 'windowing-demo-reader',
      isolationLevel: 'read_committed',
      maxWaitMs: 200,
    });
    reader.assign([0, 1, 2].map((partition) => ({ topic: output, partition, from: 0n })));
    const results: WindowAverage[] = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && results.length < expectedWindows) {
      for (const r of recordsOf(await reader.poll()))
        results.push(JSON.parse(r.value!.toString()) as WindowAverage);
    }
    await reader.close();
    console.log(
      `\n${label} windows (${advanceMs ? `60 s, advancing every ${advanceMs / 1000} s` : '60 s'}), final results only:`,
    );
    console.log('  sensor        window (event time)   readings  average °C');
    for (const a of results.sort(
      (x, y) => x.sensorId.localeCompare(y.sensorId) || x.windowStart - y.windowStart,
    )) {
      const window = `+${(a.windowStart - T0) / 1000}s..+${(a.windowEnd - T0) / 1000}s`;
      console.log(
        `  ${a.sensorId.padEnd(13)} ${window.padEnd(21)} ${String(a.readings).padStart(8)}  ${a.averageCelsius.toFixed(2).padStart(10)}`,
      );
    }
    const m = app.metrics().totals;
    console.log(
      `  ${all.length} readings in, ${results.length} averages out, ${m.lateRecords} too late to count`,
    );
    if (results.length < expectedWindows) process.exitCode = 1;
    if (app.state === 'ERROR') {
      console.error(`the application stopped in ERROR: ${String(app.error)}`);
      process.exitCode = 1;
    }
  } finally {
    await app.close();
    await admin.deleteTopics([input, output, ...app.internalTopicNames()]).catch(() => {});
    await admin.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await runVariant('tumbling', undefined);
await runVariant('hopping', 20_000);
