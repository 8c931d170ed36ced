import { Serdes, StreamsBuilder, TimeWindows } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { describe, expect, it } from 'vitest';

function countTopology(windows: TimeWindows) {
  const builder = new StreamsBuilder();
  builder
    .stream('in', { key: Serdes.String(), value: Serdes.String() })
    .groupByKey()
    .windowedBy(windows)
    .count({ name: 'counts' })
    .toStream()
    .to('out', { key: Serdes.TimeWindowed(Serdes.String(), windows.sizeMs), value: Serdes.Long() });
  return builder.build();
}

function open(windows: TimeWindows) {
  const driver = new TopologyTestDriver(countTopology(windows));
  const input = driver.createInputTopic('in', Serdes.String(), Serdes.String());
  const output = driver.createOutputTopic(
    'out',
    Serdes.TimeWindowed(Serdes.String(), windows.sizeMs),
    Serdes.Long(),
  );
  const read = () =>
    output
      .readRecordsToList()
      .map((r) => [r.key.key, r.key.window.start, r.key.window.end, r.value, r.timestamp]);
  return { driver, input, read };
}

describe('TimeWindows', () => {
  it('validates its durations', () => {
    expect(() => TimeWindows.ofSizeWithNoGrace(0)).toThrow(/Window size must be at least 1 ms/);
    expect(() => TimeWindows.ofSizeAndGrace(10, -1)).toThrow(/Grace period must not be negative/);
    expect(() => TimeWindows.ofSizeWithNoGrace(10).advanceBy(11)).toThrow(
      /must not be larger than the window size/,
    );
    expect(() => TimeWindows.ofSizeWithNoGrace(10).advanceBy(0)).toThrow(
      /Window advance must be at least 1 ms/,
    );
    expect(() => TimeWindows.ofSizeWithNoGrace(1.5)).toThrow(/whole number of milliseconds/);
  });

  it('counts per tumbling window, accepts out-of-order records within grace and drops later ones', () => {
    const { driver, input, read } = open(TimeWindows.ofSizeAndGrace(10, 5));
    input.pipeInput('a', 'x', 1);
    input.pipeInput('a', 'x', 12);
    input.pipeInput('a', 'x', 8); // stream time 12: [0,10) closes at 10 + 5 = 15, still open
    input.pipeInput('a', 'x', 15); // stream time 15: [0,10) is now closed
    input.pipeInput('a', 'x', 3); // late
    input.pipeInput('b', 'x', 20);
    expect(read()).toEqual([
      ['a', 0, 10, 1, 1],
      ['a', 10, 20, 1, 12],
      ['a', 0, 10, 2, 8],
      ['a', 10, 20, 2, 15],
      ['b', 20, 30, 1, 20],
    ]);
    expect(driver.metrics()['0_0']).toMatchObject({ lateRecords: 1, droppedRecords: 1 });
    // The store keeps windows for size + grace (15 ms) after the newest window start (20):
    // window [0,10) has expired from it.
    const store = driver.getWindowStore<string, number>('counts');
    expect(store.fetch('a', 0, 100)).toEqual([{ windowStart: 10, value: 2 }]);
    expect(store.fetch('a', 10)).toBe(2);
    expect(store.fetch('a', 0)).toBeUndefined();
    expect(store.all().map((e) => [e.key.key, e.key.window.start, e.key.window.end, e.value])).toEqual([
      ['a', 10, 20, 2],
      ['b', 20, 30, 1],
    ]);
    expect(driver.getTimestampedWindowStore<string, number>('counts').fetch('a', 10)).toEqual({
      value: 2,
      timestamp: 15,
    });
    driver.close();
  });

  it('adds a record to every overlapping hopping window, each closing on its own', () => {
    const { driver, input, read } = open(TimeWindows.ofSizeWithNoGrace(10).advanceBy(5));
    input.pipeInput('a', 'x', 7);
    input.pipeInput('a', 'x', 12);
    input.pipeInput('a', 'x', 9); // [0,10) closed at stream time 12; [5,15) still open
    expect(read()).toEqual([
      ['a', 0, 10, 1, 7],
      ['a', 5, 15, 1, 7],
      ['a', 5, 15, 2, 12],
      ['a', 10, 20, 1, 12],
      ['a', 5, 15, 3, 12],
    ]);
    expect(driver.metrics()['0_0']).toMatchObject({ lateRecords: 1 });
    driver.close();
  });

  it('reduces and aggregates per window with the largest contributing timestamp', () => {
    const builder = new StreamsBuilder();
    const grouped = builder
      .stream('in', { key: Serdes.String(), value: Serdes.Long() })
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeAndGrace(100, 50));
    grouped
      .reduce((a, b) => a + b, { name: 'sums' })
      .toStream()
      .to('sums', { key: Serdes.TimeWindowed(Serdes.String(), 100), value: Serdes.Long() });
    grouped
      .aggregate(
        () => '',
        (_k, v, agg) => `${agg}${v},`,
        { name: 'lists', value: Serdes.String() },
      )
      .toStream()
      .to('lists', { key: Serdes.TimeWindowed(Serdes.String(), 100), value: Serdes.String() });
    const driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('in', Serdes.String(), Serdes.Long());
    const sums = driver.createOutputTopic('sums', Serdes.TimeWindowed(Serdes.String(), 100), Serdes.Long());
    const lists = driver.createOutputTopic(
      'lists',
      Serdes.TimeWindowed(Serdes.String(), 100),
      Serdes.String(),
    );
    input.pipeInput('k', 5, 50);
    input.pipeInput('k', 7, 20);
    input.pipeInput('k', 1, 120);
    expect(sums.readRecordsToList().map((r) => [r.key.window.start, r.value, r.timestamp])).toEqual([
      [0, 5, 50],
      [0, 12, 50],
      [100, 1, 120],
    ]);
    expect(lists.readValuesToList()).toEqual(['5,', '5,7,', '1,']);
    driver.close();
  });
});
