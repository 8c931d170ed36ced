import { SlidingWindows } from '@kafka-pattern/streams-core';
import { describe, expect, it } from 'vitest';
import { append, S, windowedAppend } from './support.ts';

describe('SlidingWindows', () => {
  it('validates its durations', () => {
    expect(() => SlidingWindows.ofTimeDifferenceWithNoGrace(0)).toThrow(
      /time difference must be at least 1 ms/,
    );
    expect(() => SlidingWindows.ofTimeDifferenceAndGrace(10, -1)).toThrow(
      /Grace period must not be negative/,
    );
  });

  it('creates left and right windows only where records are, both ends included', () => {
    const { driver, input, read } = windowedAppend((g) =>
      g
        .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(10, 10))
        .aggregate(() => '', append, { name: 'sliding', value: S }),
    );
    input.pipeInput('a', 'v1', 15);
    expect(read()).toEqual([['a', 5, 15, 'v1,', 15]]);
    input.pipeInput('a', 'v2', 18);
    // v1's right window [16, 26] now holds v2; v2's left window [8, 18] holds both.
    expect(read()).toEqual([
      ['a', 16, 26, 'v2,', 18],
      ['a', 8, 18, 'v1,v2,', 18],
    ]);
    input.pipeInput('a', 'v3', 12); // out of order, within grace
    expect(read()).toEqual([
      ['a', 8, 18, 'v1,v2,v3,', 18],
      ['a', 5, 15, 'v1,v3,', 15],
      ['a', 2, 12, 'v3,', 12],
      ['a', 13, 23, 'v1,v2,', 18],
    ]);
    input.pipeInput('a', 'v4', 40);
    expect(read()).toEqual([['a', 30, 40, 'v4,', 40]]);
    input.pipeInput('a', 'v5', 5); // its windows end by 15, closed at stream time 40 - grace 10
    expect(read()).toEqual([]);
    expect(driver.metrics()['0_0']).toMatchObject({ lateRecords: 1 });
    expect(driver.getWindowStore<string, string>('sliding').fetch('a', 30)).toBe('v4,');
    driver.close();
  });

  it('gathers records earlier than the time difference in the window [0, timeDifference]', () => {
    const { driver, input, read } = windowedAppend((g) =>
      g.windowedBy(SlidingWindows.ofTimeDifferenceWithNoGrace(10)).aggregate(() => '', append, { value: S }),
    );
    input.pipeInput('a', 'v1', 3);
    input.pipeInput('a', 'v2', 7);
    expect(read()).toEqual([
      ['a', 0, 10, 'v1,', 3],
      ['a', 4, 14, 'v2,', 7],
      ['a', 0, 10, 'v1,v2,', 7],
    ]);
    driver.close();
  });
});
