import { Serdes, SessionWindows, StreamsBuilder } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { describe, expect, it } from 'vitest';
import { append, S, windowedAppend } from './support.ts';

describe('SessionWindows', () => {
  it('validates its durations', () => {
    expect(() => SessionWindows.ofInactivityGapWithNoGrace(-1)).toThrow(
      /inactivity gap must not be negative/,
    );
    expect(() => SessionWindows.ofInactivityGapAndGrace(5, -1)).toThrow(/Grace period must not be negative/);
  });

  it('merges sessions a record bridges: a tombstone for each merged session, then the merged one', () => {
    const { driver, input, read } = windowedAppend((g) =>
      g.windowedBy(SessionWindows.ofInactivityGapAndGrace(5, 10)).aggregate(
        () => '',
        append,
        (_k, a, b) => a + b,
        { name: 'sessions', value: S },
      ),
    );
    input.pipeInput('a', 'v1', 10);
    input.pipeInput('a', 'v2', 20);
    expect(read()).toEqual([
      ['a', 10, 10, 'v1,', 10],
      ['a', 20, 20, 'v2,', 20],
    ]);
    input.pipeInput('a', 'v3', 15); // within the gap of both: merges them
    expect(read()).toEqual([
      ['a', 10, 10, null, 10],
      ['a', 20, 20, null, 20],
      ['a', 10, 20, 'v1,v2,v3,', 20],
    ]);
    input.pipeInput('b', 'v4', 12);
    input.pipeInput('a', 'v5', 26); // 6 ms after the session's end: a new session
    expect(read()).toEqual([
      ['b', 12, 12, 'v4,', 12],
      ['a', 26, 26, 'v5,', 26],
    ]);
    input.pipeInput('a', 'v6', 3); // its session would end at 3, closed since 26 - 10 - 5 = 11
    expect(read()).toEqual([]);
    expect(driver.metrics()['0_0']).toMatchObject({ lateRecords: 1 });
    const store = driver.getSessionStore<string, string>('sessions');
    expect(store.fetch('a').map((s) => [s.key.window.start, s.key.window.end, s.value])).toEqual([
      [10, 20, 'v1,v2,v3,'],
      [26, 26, 'v5,'],
    ]);
    expect(store.findSessions('a', 21, 30).map((s) => s.value)).toEqual(['v5,']);
    expect(store.fetchSession('a', 10, 20)).toBe('v1,v2,v3,');
    driver.close();
  });

  it('counts per session, written with the session-windowed serde', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', { key: S, value: S })
      .groupByKey()
      .windowedBy(SessionWindows.ofInactivityGapWithNoGrace(100))
      .count()
      .toStream()
      .to('out', { key: Serdes.SessionWindowed(S), value: Serdes.Long() });
    const driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('in', S, S);
    const output = driver.createOutputTopic('out', Serdes.SessionWindowed(S), Serdes.Long());
    input.pipeInput('u', 'click', 1_000);
    input.pipeInput('u', 'click', 1_050);
    expect(output.readKeyValuesToList()).toEqual([
      { key: { key: 'u', window: { start: 1_000, end: 1_000 } }, value: 1 },
      { key: { key: 'u', window: { start: 1_000, end: 1_000 } }, value: null },
      { key: { key: 'u', window: { start: 1_000, end: 1_050 } }, value: 2 },
    ]);
    driver.close();
  });
});
