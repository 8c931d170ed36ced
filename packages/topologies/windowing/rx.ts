/**
 * The rolling averages of ./topology.ts written with RxJS on the rx receiver and sender: the same
 * windows (tumbling or hopping, event time from the reading, grace for late readings) and the
 * same final results, computed by an operator over the received records instead of a windowed
 * store.
 *
 * As in the topology, time is per partition: a partition's stream time is the largest event time
 * it has seen; a reading is dropped for a window once that window has closed (its end plus grace
 * is at or before stream time), and a window's average is emitted once it closes.
 * A record is acknowledged once every window it counted in has been emitted and sent (or at once
 * when it counted in none), so the committed offset never passes a reading whose average is not
 * out yet.
 */
import type {
  KafkaReceiver,
  KafkaSender,
  ReceiverRecord,
  SenderResult,
} from '@kafka-pattern/streams-core/rx';
import { concatMap, from, map, Observable, type OperatorFunction } from 'rxjs';
import type { Reading, WindowAverage } from './topology.ts';

export interface RxWindowOptions {
  /** Window size; default 60 s. */
  windowMs?: number;
  /** Hopping windows when set; tumbling otherwise. */
  advanceMs?: number;
  /** How long after a window's end a late reading still counts; default 10 s. */
  graceMs?: number;
}

/** What the operator reads: a reading with where it came from and how to acknowledge it. */
export interface ReadingRecord {
  readonly partition: number;
  /** The record's own timestamp: event time when the reading has no usable `takenAt`. */
  readonly timestamp: number;
  readonly key: string | null;
  readonly value: Reading | null;
  /** Called once every window the reading counted in has been emitted and released. */
  readonly acknowledge?: () => void;
}

/** An average to send, and the acknowledgement of the readings it held once it is out. */
export interface ClosedWindow {
  readonly average: WindowAverage;
  /** Call once the average is written: acknowledges the readings no open window holds any more. */
  readonly release: () => void;
}

interface OpenWindow {
  sensorId: string;
  start: number;
  end: number;
  sum: number;
  count: number;
  holders: Holder[];
}

/** A reading's count of windows not emitted yet. */
interface Holder {
  open: number;
  acknowledge: (() => void) | undefined;
}

interface PartitionTime {
  streamTime: number;
  /** Open windows by `${start}|${sensorId}`. */
  windows: Map<string, OpenWindow>;
}

/** The windows a timestamp falls in, as Kafka Streams' TimeWindows computes them. */
export function windowStarts(timestamp: number, sizeMs: number, advanceMs: number): number[] {
  const starts: number[] = [];
  let start = Math.floor(Math.max(0, timestamp - sizeMs + advanceMs) / advanceMs) * advanceMs;
  for (; start <= timestamp; start += advanceMs) starts.push(start);
  return starts;
}

/**
 * Windowed averages per sensor, final results only: emits each window once it closes, in order
 * of window end per partition (then start, then sensor id, as the topology's buffer does).
 */
export function windowAverages(options: RxWindowOptions = {}): OperatorFunction<ReadingRecord, ClosedWindow> {
  const size = options.windowMs ?? 60_000;
  const advance = options.advanceMs ?? size;
  const grace = options.graceMs ?? 10_000;
  return (source) =>
    new Observable<ClosedWindow>((subscriber) => {
      const partitions = new Map<number, PartitionTime>();
      return source.subscribe({
        next: (record) => {
          let p = partitions.get(record.partition);
          if (!p) {
            p = { streamTime: -1, windows: new Map() };
            partitions.set(record.partition, p);
          }
          const reading = record.value;
          // Like the topology: a record without a key or value is skipped by the aggregation.
          if (record.key === null || reading === null) {
            record.acknowledge?.();
            return;
          }
          const takenAt = reading.takenAt;
          const time =
            typeof takenAt === 'number' && takenAt >= 0 ? takenAt : Math.max(p.streamTime, record.timestamp);
          p.streamTime = Math.max(p.streamTime, time);
          const holder: Holder = { open: 0, acknowledge: record.acknowledge };
          for (const start of windowStarts(time, size, advance)) {
            const end = start + size;
            if (end + grace <= p.streamTime) continue; // closed: late for this window
            const id = `${start}|${record.key}`;
            let w = p.windows.get(id);
            if (!w) {
              w = { sensorId: record.key, start, end, sum: 0, count: 0, holders: [] };
              p.windows.set(id, w);
            }
            w.sum += reading.celsius;
            w.count++;
            w.holders.push(holder);
            holder.open++;
          }
          if (holder.open === 0) holder.acknowledge?.();
          const closed = [...p.windows.values()]
            .filter((w) => w.end + grace <= p.streamTime)
            .sort((a, b) => a.end - b.end || a.start - b.start || (a.sensorId < b.sensorId ? -1 : 1));
          for (const w of closed) {
            p.windows.delete(`${w.start}|${w.sensorId}`);
            subscriber.next({
              average: {
                sensorId: w.sensorId,
                windowStart: w.start,
                windowEnd: w.end,
                readings: w.count,
                averageCelsius: Math.round((w.sum / w.count) * 100) / 100,
              },
              release: () => {
                for (const h of w.holders) if (--h.open === 0) h.acknowledge?.();
              },
            });
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}

/**
 * The pipeline: readings from `receiver`, averages written by `sender` to `averages` (keyed by
 * sensor id), each reading acknowledged once the averages it counted in are written. Emits each
 * average's send result. The receiver's `maxBufferedPerPartition` must exceed the readings one
 * partition receives within a window plus grace: the readings of open windows are
 * unacknowledged, and a partition at its bound is paused until they are.
 */
export function rxSensorAverages(
  receiver: KafkaReceiver<string, Reading>,
  sender: KafkaSender<string, WindowAverage>,
  averages: string,
  options: RxWindowOptions = {},
): Observable<SenderResult<ClosedWindow>> {
  return receiver.receive().pipe(
    map(
      (r: ReceiverRecord<string, Reading>): ReadingRecord => ({
        partition: r.partition,
        timestamp: r.timestamp,
        key: r.key,
        value: r.value,
        acknowledge: () => r.receiverOffset.acknowledge(),
      }),
    ),
    windowAverages(options),
    concatMap((closed) =>
      sender.send(
        from([
          {
            topic: averages,
            key: closed.average.sensorId,
            value: closed.average,
            correlationMetadata: closed,
          },
        ]),
      ),
    ),
    map((result) => {
      // A failed average (stopOnError false) keeps its readings unacknowledged: they are received again after a restart.
      if (!result.error) result.correlationMetadata.release();
      return result;
    }),
  );
}
