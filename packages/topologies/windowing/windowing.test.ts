import { Serdes } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { describe, expect, it } from 'vitest';
import { type Reading, sensorAverages, type WindowAverage } from './topology.ts';

const T0 = 1_700_000_040_000; // a window boundary: a multiple of 60 s

function drive(options: Partial<Parameters<typeof sensorAverages>[0]>) {
  const driver = new TopologyTestDriver(
    sensorAverages({ readings: 'readings', averages: 'averages', ...options }),
  );
  const input = driver.createInputTopic('readings', Serdes.String(), Serdes.JSON<Reading>());
  const output = driver.createOutputTopic('averages', Serdes.String(), Serdes.JSON<WindowAverage>());
  const send = (sensorId: string, celsius: number, offsetMs: number) =>
    input.pipeInput(sensorId, { sensorId, celsius, takenAt: T0 + offsetMs }, T0 + offsetMs + 5_000);
  return { driver, send, output };
}

describe('sensor rolling averages', () => {
  it('emits one final average per sensor and tumbling window, after the window closes', () => {
    const { driver, send, output } = drive({});
    send('s1', 20, 1_000);
    send('s1', 22, 30_000);
    send('s2', 10, 59_999);
    send('s1', 30, 45_000);
    expect(output.isEmpty()).toBe(true); // nothing final yet: the window is still open
    send('s1', 25, 70_000); // stream time 70 s: [0, 60 s) closes at 60 s + 10 s grace
    const out = output.readValuesToList();
    expect(out).toEqual([
      { sensorId: 's1', windowStart: T0, windowEnd: T0 + 60_000, readings: 3, averageCelsius: 24 },
      { sensorId: 's2', windowStart: T0, windowEnd: T0 + 60_000, readings: 1, averageCelsius: 10 },
    ]);
    driver.close();
  });

  it('counts a late reading within grace and drops one beyond it', () => {
    const { driver, send, output } = drive({});
    send('s1', 20, 10_000);
    send('s1', 40, 65_000); // next window; stream time 65 s
    send('s1', 30, 50_000); // late but within grace (window closes at 70 s)
    send('s1', 50, 75_000); // stream time 75 s closes the first window
    send('s1', 99, 20_000); // beyond grace: dropped
    expect(output.readValuesToList()).toEqual([
      { sensorId: 's1', windowStart: T0, windowEnd: T0 + 60_000, readings: 2, averageCelsius: 25 },
    ]);
    expect(Object.values(driver.metrics()).reduce((n, m) => n + m.lateRecords, 0)).toBe(1);
    driver.close();
  });

  it('hopping windows give a 60 s average every 20 s', () => {
    const { driver, send, output } = drive({ advanceMs: 20_000, graceMs: 0 });
    send('s1', 10, 5_000); // windows starting at -40 s, -20 s, 0 s
    send('s1', 20, 25_000); // windows starting at -20 s, 0 s, 20 s
    send('s1', 30, 45_000); // windows starting at 0 s, 20 s, 40 s
    send('s1', 0, 200_000); // closes everything before
    const byStart = new Map(output.readValuesToList().map((a) => [a.windowStart - T0, a]));
    expect(byStart.get(-40_000)).toMatchObject({ readings: 1, averageCelsius: 10 });
    expect(byStart.get(-20_000)).toMatchObject({ readings: 2, averageCelsius: 15 });
    expect(byStart.get(0)).toMatchObject({ readings: 3, averageCelsius: 20 });
    expect(byStart.get(20_000)).toMatchObject({ readings: 2, averageCelsius: 25 });
    expect(byStart.get(40_000)).toMatchObject({ readings: 1, averageCelsius: 30 });
    driver.close();
  });

  it('without suppression emits every update of the running average', () => {
    const { driver, send, output } = drive({ finalResultsOnly: false });
    send('s1', 20, 1_000);
    send('s1', 30, 2_000);
    expect(output.readValuesToList().map((a) => a.averageCelsius)).toEqual([20, 25]);
    driver.close();
  });

  it('a reading that is not JSON goes to the dead-letter topic and the rest flows on', () => {
    const driver = new TopologyTestDriver(
      sensorAverages({ readings: 'readings', averages: 'averages', finalResultsOnly: false }),
    );
    const raw = driver.createInputTopic('readings', Serdes.String(), Serdes.String());
    const dlt = driver.createOutputTopic('readings-dlt', Serdes.String(), Serdes.String());
    const output = driver.createOutputTopic('averages', Serdes.String(), Serdes.JSON<WindowAverage>());
    raw.pipeInput('s1', '{broken', T0);
    raw.pipeInput('s1', JSON.stringify({ sensorId: 's1', celsius: 21, takenAt: T0 + 1 }), T0 + 1);
    expect(dlt.readKeyValuesToList()).toEqual([{ key: 's1', value: '{broken' }]);
    expect(output.readValuesToList().map((a) => a.averageCelsius)).toEqual([21]);
    driver.close();
  });
});
