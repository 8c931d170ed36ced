import { JoinWindows, Serdes, StreamsBuilder, Suppressed, TimeWindows } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { describe, expect, it } from 'vitest';

/** Event time starts at the wall clock, as it does for live data. */
const NOW = 1_700_000_040_000;

function suppressedCounts() {
  const builder = new StreamsBuilder();
  builder
    .stream('in', { key: Serdes.String(), value: Serdes.String() })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeAndGrace(60_000, 5_000))
    .count({ name: 'counts' })
    .suppress(Suppressed.untilWindowCloses())
    .toStream()
    .to('out', { key: Serdes.TimeWindowed(Serdes.String(), 60_000), value: Serdes.Long() });
  return builder.build();
}

describe('advancing stream time of idle tasks by the wall clock', () => {
  it('closes a suppressed window on a quiet stream once the wall clock has passed it', () => {
    const driver = new TopologyTestDriver(suppressedCounts(), {
      initialWallClockTime: NOW,
      config: { advanceIdleStreamTimeAfterMs: 2_000 },
    });
    const input = driver.createInputTopic('in', Serdes.String(), Serdes.String());
    const output = driver.createOutputTopic(
      'out',
      Serdes.TimeWindowed(Serdes.String(), 60_000),
      Serdes.Long(),
    );
    input.pipeInput('a', 'x', NOW + 1_000);
    input.pipeInput('a', 'x', NOW + 2_000);
    driver.advanceWallClockTime(30_000);
    expect(output.isEmpty()).toBe(true); // the window [NOW, NOW + 60 s) is still open
    driver.advanceWallClockTime(40_000); // wall clock NOW + 70 s; stream time NOW + 68 s >= end + grace
    expect(output.readKeyValuesToList()).toEqual([
      { key: { key: 'a', window: { start: NOW, end: NOW + 60_000 } }, value: 2 },
    ]);
    // A record for the closed window is now late: dropped, so no second "final" result follows.
    input.pipeInput('a', 'x', NOW + 3_000);
    driver.advanceWallClockTime(60_000);
    expect(output.readKeyValuesToList().filter((kv) => kv.key.window.start === NOW)).toEqual([]);
    expect(Object.values(driver.metrics()).reduce((n, m) => n + m.lateRecords, 0)).toBe(1);
    driver.close();
  });

  it('does nothing unless enabled: stream time moves with records only, as in Kafka Streams', () => {
    const driver = new TopologyTestDriver(suppressedCounts(), { initialWallClockTime: NOW });
    const input = driver.createInputTopic('in', Serdes.String(), Serdes.String());
    const output = driver.createOutputTopic(
      'out',
      Serdes.TimeWindowed(Serdes.String(), 60_000),
      Serdes.Long(),
    );
    input.pipeInput('a', 'x', NOW + 1_000);
    driver.advanceWallClockTime(10 * 60_000);
    expect(output.isEmpty()).toBe(true);
    driver.close();
  });

  it('emits an unmatched left-join record once its window has closed by the wall clock', () => {
    const builder = new StreamsBuilder();
    const left = builder.stream('left', { key: Serdes.String(), value: Serdes.String() });
    const right = builder.stream('right', { key: Serdes.String(), value: Serdes.String() });
    left
      .leftJoin(right, (l, r) => `${l}+${r ?? 'none'}`, JoinWindows.ofTimeDifferenceAndGrace(10_000, 1_000), {
        key: Serdes.String(),
        value: Serdes.String(),
        otherValue: Serdes.String(),
      })
      .to('joined', { key: Serdes.String(), value: Serdes.String() });
    const driver = new TopologyTestDriver(builder.build(), {
      initialWallClockTime: NOW,
      config: { advanceIdleStreamTimeAfterMs: 1_000 },
    });
    const l = driver.createInputTopic('left', Serdes.String(), Serdes.String());
    const out = driver.createOutputTopic('joined', Serdes.String(), Serdes.String());
    l.pipeInput('k', 'order', NOW);
    driver.advanceWallClockTime(5_000);
    expect(out.isEmpty()).toBe(true);
    driver.advanceWallClockTime(10_000); // stream time NOW + 14 s > NOW + 10 s + 1 s grace
    expect(out.readKeyValuesToList()).toEqual([{ key: 'k', value: 'order+none' }]);
    driver.close();
  });
});
