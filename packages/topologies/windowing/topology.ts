/**
 * Windowing & aggregation: rolling average temperature per sensor over 60-second windows, in
 * event time (the reading's own timestamp), tumbling or hopping, with final results only.
 */
import {
  Serdes,
  StreamsBuilder,
  Suppressed,
  type TimestampExtractor,
  TimeWindows,
  type Topology,
  type Windowed,
} from '@kafka-pattern/streams-core';

/** A reading as sensors publish it, keyed by sensor id. */
export interface Reading {
  sensorId: string;
  celsius: number;
  /** When the reading was taken, in ms since the epoch: the event time windows are built on. */
  takenAt: number;
}

/** What the topology emits per sensor and window. */
export interface WindowAverage {
  sensorId: string;
  windowStart: number;
  windowEnd: number;
  readings: number;
  averageCelsius: number;
}

interface Sum {
  sum: number;
  count: number;
}

export interface SensorAveragesOptions {
  readings: string;
  averages: string;
  /** Window size; default 60 s. */
  windowMs?: number;
  /** Hopping windows when set (e.g. 10 s: a 60 s average every 10 s); tumbling otherwise. */
  advanceMs?: number;
  /** How long after a window's end a late reading still counts; default 10 s. */
  graceMs?: number;
  /** Emit each window once, after it closes (default), or every update as it happens. */
  finalResultsOnly?: boolean;
  /** Names the window store (queryable, and its changelog topic). */
  storeName?: string;
}

/** Event time comes from the reading, not from when it reached Kafka. */
export const readingTime: TimestampExtractor = (record, partitionTime) => {
  try {
    const takenAt = (JSON.parse(record.value?.toString('utf8') ?? 'null') as Reading | null)?.takenAt;
    return typeof takenAt === 'number' && takenAt >= 0 ? takenAt : Math.max(partitionTime, record.timestamp);
  } catch {
    // An unreadable value fails in its deserializer and goes to the dead-letter topic; its time does not matter.
    return record.timestamp;
  }
};

export function sensorAverages(options: SensorAveragesOptions): Topology {
  const windowMs = options.windowMs ?? 60_000;
  const graceMs = options.graceMs ?? 10_000;
  let windows = TimeWindows.ofSizeAndGrace(windowMs, graceMs);
  if (options.advanceMs !== undefined) windows = windows.advanceBy(options.advanceMs);

  const builder = new StreamsBuilder();
  const sums = builder
    .stream(options.readings, {
      key: Serdes.String(),
      value: Serdes.JSON<Reading>(),
      timestampExtractor: readingTime,
    })
    .groupByKey()
    .windowedBy(windows)
    .aggregate<Sum>(
      () => ({ sum: 0, count: 0 }),
      (_sensor, reading, acc) => ({ sum: acc.sum + reading.celsius, count: acc.count + 1 }),
      { name: options.storeName ?? 'sensor-temperature-sums', value: Serdes.JSON<Sum>() },
    );
  const results = options.finalResultsOnly === false ? sums : sums.suppress(Suppressed.untilWindowCloses());
  results
    .toStream()
    .filter((_k, sum) => sum !== null && sum.count > 0)
    .map<string, WindowAverage>((key: Windowed<string>, sum) => [
      key.key,
      {
        sensorId: key.key,
        windowStart: key.window.start,
        windowEnd: key.window.end,
        readings: sum.count,
        averageCelsius: Math.round((sum.sum / sum.count) * 100) / 100,
      },
    ])
    .to(options.averages, { key: Serdes.String(), value: Serdes.JSON<WindowAverage>() });
  return builder.build();
}
