import {
  type Cancellable,
  Headers,
  type ProcessorContext,
  PunctuationType,
  Serdes,
  StreamsBuilder,
} from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { afterEach, describe, expect, it } from 'vitest';

const S = Serdes.String();

let driver: TopologyTestDriver | undefined;
afterEach(() => {
  driver?.close();
  driver = undefined;
});

interface Probe {
  fired: number[];
  cancellable?: Cancellable;
  ctx?: ProcessorContext<string, string>;
  metadataInPunctuator?: unknown;
}

/** A processor that schedules one punctuator in init and forwards `tick@<time>` from it. */
function scheduled(
  type: PunctuationType,
  intervalMs: number,
  options: { initialWallClockTime?: number; cancelAfter?: number } = {},
) {
  const probe: Probe = { fired: [] };
  const builder = new StreamsBuilder();
  builder
    .stream('in', { key: S, value: S })
    .process<string, string>(() => ({
      init(c) {
        probe.ctx = c;
        probe.cancellable = c.schedule(intervalMs, type, (time) => {
          probe.fired.push(time);
          probe.metadataInPunctuator = c.recordMetadata();
          c.forward({ key: 'tick', value: `${type}@${time}`, timestamp: time, headers: new Headers() });
          if (options.cancelAfter !== undefined && probe.fired.length >= options.cancelAfter)
            probe.cancellable!.cancel();
        });
      },
      process() {},
    }))
    .to('ticks', { key: S, value: S });
  driver = new TopologyTestDriver(builder.build(), {
    initialWallClockTime: options.initialWallClockTime ?? 0,
  });
  return {
    probe,
    input: driver.createInputTopic('in', S, S),
    ticks: driver.createOutputTopic('ticks', S, S),
  };
}

describe('STREAM_TIME punctuation', () => {
  it('fires as stream time passes each interval, aligned at 0, from the first record on', () => {
    const { probe, input } = scheduled(PunctuationType.STREAM_TIME, 1_000);
    expect(probe.fired).toEqual([]);
    input.pipeInput('k', 'v', 500);
    expect(probe.fired).toEqual([500]);
    input.pipeInput('k', 'v', 999);
    expect(probe.fired).toEqual([500]);
    input.pipeInput('k', 'v', 1_000);
    expect(probe.fired).toEqual([500, 1_000]);
    input.pipeInput('k', 'v', 1_999);
    expect(probe.fired).toEqual([500, 1_000]);
  });

  it('fires once for a jump over several intervals, then continues on the 0-aligned grid', () => {
    const { probe, input } = scheduled(PunctuationType.STREAM_TIME, 1_000);
    input.pipeInput('k', 'v', 100);
    input.pipeInput('k', 'v', 3_500);
    expect(probe.fired).toEqual([100, 3_500]);
    input.pipeInput('k', 'v', 3_999);
    expect(probe.fired).toEqual([100, 3_500]);
    input.pipeInput('k', 'v', 4_000);
    expect(probe.fired).toEqual([100, 3_500, 4_000]);
  });

  it('does not fire for out-of-order records (stream time does not go back) nor for wall-clock time', () => {
    const { probe, input } = scheduled(PunctuationType.STREAM_TIME, 1_000);
    input.pipeInput('k', 'v', 2_000);
    input.pipeInput('k', 'v', 500);
    input.pipeInput('k', 'v', 2_500);
    driver!.advanceWallClockTime(60_000);
    expect(probe.fired).toEqual([2_000]);
    expect(probe.ctx!.currentStreamTimeMs()).toBe(2_500);
  });

  it('records forwarded by a punctuator reach the sink, and have no record metadata', () => {
    const { input, ticks, probe } = scheduled(PunctuationType.STREAM_TIME, 10);
    input.pipeInput('k', 'v', 25);
    expect(ticks.readRecordsToList().map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['tick', 'STREAM_TIME@25', 25],
    ]);
    expect(probe.metadataInPunctuator).toBeUndefined();
  });
});

describe('WALL_CLOCK_TIME punctuation', () => {
  it('fires one interval after scheduling as advanceWallClockTime passes it, skipping missed intervals once', () => {
    const { probe, ticks } = scheduled(PunctuationType.WALL_CLOCK_TIME, 1_000, {
      initialWallClockTime: 10_000,
    });
    driver!.advanceWallClockTime(999);
    expect(probe.fired).toEqual([]);
    driver!.advanceWallClockTime(1);
    expect(probe.fired).toEqual([11_000]);
    driver!.advanceWallClockTime(2_500);
    expect(probe.fired).toEqual([11_000, 13_500]);
    driver!.advanceWallClockTime(499);
    expect(probe.fired).toEqual([11_000, 13_500]);
    driver!.advanceWallClockTime(1);
    expect(probe.fired).toEqual([11_000, 13_500, 14_000]);
    expect(probe.ctx!.currentSystemTimeMs()).toBe(14_000);
    expect(ticks.readValuesToList()).toEqual([
      'WALL_CLOCK_TIME@11000',
      'WALL_CLOCK_TIME@13500',
      'WALL_CLOCK_TIME@14000',
    ]);
  });

  it('does not fire as stream time advances', () => {
    const { probe, input } = scheduled(PunctuationType.WALL_CLOCK_TIME, 1_000, { initialWallClockTime: 0 });
    input.pipeInput('k', 'v', 50_000);
    expect(probe.fired).toEqual([]);
  });
});

describe('cancel()', () => {
  it('stops a punctuator, from inside it', () => {
    const { probe } = scheduled(PunctuationType.WALL_CLOCK_TIME, 100, { cancelAfter: 2 });
    for (let i = 0; i < 5; i++) driver!.advanceWallClockTime(100);
    expect(probe.fired).toEqual([100, 200]);
  });

  it('stops a punctuator, from outside it', () => {
    const { probe, input } = scheduled(PunctuationType.STREAM_TIME, 100);
    input.pipeInput('k', 'v', 0);
    input.pipeInput('k', 'v', 100);
    probe.cancellable!.cancel();
    input.pipeInput('k', 'v', 200);
    input.pipeInput('k', 'v', 300);
    expect(probe.fired).toEqual([0, 100]);
  });
});
