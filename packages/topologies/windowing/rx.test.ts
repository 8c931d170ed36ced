/**
 * The RxJS rolling averages (./rx.ts) against the topology (./topology.ts) on the same input:
 * for any readings (in and out of order, late within and beyond grace) and tumbling or hopping
 * windows, the operator emits exactly the averages the topology emits under TopologyTestDriver,
 * in the same order.
 */
import { Serdes } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import fc from 'fast-check';
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type ReadingRecord, type RxWindowOptions, windowAverages } from './rx.ts';
import { type Reading, sensorAverages, type WindowAverage } from './topology.ts';

const T0 = 1_700_000_040_000;

interface Input {
  sensorId: string;
  celsius: number;
  takenAt: number;
}

function viaTopology(input: Input[], options: RxWindowOptions): WindowAverage[] {
  const driver = new TopologyTestDriver(
    sensorAverages({ readings: 'readings', averages: 'averages', ...options }),
  );
  try {
    const readings = driver.createInputTopic('readings', Serdes.String(), Serdes.JSON<Reading>());
    const averages = driver.createOutputTopic('averages', Serdes.String(), Serdes.JSON<WindowAverage>());
    for (const r of input) readings.pipeInput(r.sensorId, r, r.takenAt + 1_000);
    return averages.readValuesToList();
  } finally {
    driver.close();
  }
}

async function viaRx(
  input: Input[],
  options: RxWindowOptions,
): Promise<{ out: WindowAverage[]; acked: number }> {
  let acked = 0;
  const records: ReadingRecord[] = input.map((r) => ({
    partition: 0,
    timestamp: r.takenAt + 1_000,
    key: r.sensorId,
    value: r,
    acknowledge: () => acked++,
  }));
  const closed = await lastValueFrom(from(records).pipe(windowAverages(options), toArray()));
  for (const c of closed) c.release();
  return { out: closed.map((c) => c.average), acked };
}

describe('rolling averages with RxJS', () => {
  it('emits what the topology emits, for any input', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            sensorId: fc.constantFrom('s1', 's2', 's3'),
            celsius: fc.integer({ min: -20, max: 40 }),
            takenAt: fc.integer({ min: 0, max: 400_000 }).map((d) => T0 + d),
          }),
          { maxLength: 80 },
        ),
        fc.record({
          advanceMs: fc.constantFrom(undefined, 20_000, 30_000),
          graceMs: fc.constantFrom(0, 5_000, 10_000, 30_000),
        }),
        async (input, { advanceMs, graceMs }) => {
          const options: RxWindowOptions = { graceMs, ...(advanceMs !== undefined ? { advanceMs } : {}) };
          const expected = viaTopology(input, options);
          const { out } = await viaRx(input, options);
          expect(out).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('acknowledges a reading only once every window it counted in is out', async () => {
    const input: Input[] = [
      { sensorId: 's1', celsius: 20, takenAt: T0 + 1_000 },
      { sensorId: 's1', celsius: 30, takenAt: T0 + 61_000 },
      { sensorId: 's1', celsius: 99, takenAt: T0 + 2_000 }, // late: its window is still open (grace 10 s)
      { sensorId: 's1', celsius: 10, takenAt: T0 + 71_000 }, // closes [0, 60 s)
    ];
    const { out, acked } = await viaRx(input, {});
    expect(out).toEqual([
      { sensorId: 's1', windowStart: T0, windowEnd: T0 + 60_000, readings: 2, averageCelsius: 59.5 },
    ]);
    // The two readings of the emitted window; the two of [60 s, 120 s) wait.
    expect(acked).toBe(2);
  });
});
