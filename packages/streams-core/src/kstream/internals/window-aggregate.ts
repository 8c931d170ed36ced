/**
 * Windowed aggregations of a grouped stream over TimeWindows (tumbling, hopping) and
 * SlidingWindows. Each forwards every update of a window as a `Change` keyed by `Windowed<K>`,
 * with the largest timestamp that contributed to the window. Records for windows that have closed
 * (window end + grace <= the operator's stream time) are dropped and counted as late.
 */
import type { Processor, ProcessorContext, ProcessorSupplier } from '../../processor/api/processor.ts';
import type { StreamRecord } from '../../processor/api/record.ts';
import type { Window, Windowed } from '../../serdes/windowed.ts';
import type { ValueAndTimestamp } from '../../state/value-and-timestamp.ts';
import type { TimestampedWindowStore } from '../../state/window-store.ts';
import type { Change } from '../change.ts';
import type { SlidingWindows } from '../windows/sliding-windows.ts';
import type { TimeWindows } from '../windows/time-windows.ts';
import { countDropped, countLate } from './dropped-records.ts';
import type { TableValueGetterSupplier } from './table-value-getter.ts';

const NO_TIMESTAMP = -1;

type Aggregator<K, V, VA> = (key: K, value: V, aggregate: VA) => VA;

/**
 * TimeWindows: the record is added to every window it falls in that is still open. As in Kafka
 * Streams, records with a null key are dropped but null values reach the aggregator (a windowed
 * count counts them).
 */
export function timeWindowAggregateProcessor<K, V, VA>(
  storeName: string,
  windows: TimeWindows,
  initializer: () => VA | null,
  aggregator: Aggregator<K, V, VA | null>,
): ProcessorSupplier<K, V, Windowed<K>, Change<VA>> {
  return () => {
    let ctx: ProcessorContext<Windowed<K>, Change<VA>>;
    let store: TimestampedWindowStore<K, VA>;
    let observedStreamTime = NO_TIMESTAMP;
    const p: Processor<K, V, Windowed<K>, Change<VA>> = {
      init(c) {
        ctx = c;
        store = c.getStateStore(storeName);
      },
      // Records older than the advanced stream time are late, as if a record had moved it.
      onStreamTimeAdvance(streamTime) {
        observedStreamTime = Math.max(observedStreamTime, streamTime);
      },
      process(r) {
        if (r.key === null || r.key === undefined) {
          countDropped(ctx);
          return;
        }
        observedStreamTime = Math.max(observedStreamTime, r.timestamp);
        const closeTime = observedStreamTime - windows.graceMs;
        let late = false;
        for (const window of windows.windowsFor(r.timestamp)) {
          if (window.end <= closeTime) {
            late = true;
            continue;
          }
          const old = store.fetch(r.key, window.start);
          const newTimestamp = old === undefined ? r.timestamp : Math.max(r.timestamp, old.timestamp);
          // A new window's old value is the initializer's, as Kafka Streams forwards it.
          const oldAgg = old === undefined ? initializer() : old.value;
          const newAgg = aggregator(r.key, r.value, oldAgg);
          store.put(
            r.key,
            newAgg === null || newAgg === undefined ? null : { value: newAgg, timestamp: newTimestamp },
            window.start,
          );
          forward(ctx, r, window, oldAgg, newAgg, newTimestamp);
        }
        if (late) countLate(ctx);
      },
    };
    return p;
  };
}

function forward<K, V, VA>(
  ctx: ProcessorContext<Windowed<K>, Change<VA>>,
  r: StreamRecord<K, V>,
  window: Window,
  oldValue: VA | null,
  newValue: VA | null,
  timestamp: number,
): void {
  ctx.forward({
    key: { key: r.key, window: { start: window.start, end: window.end } },
    value: { newValue: newValue ?? null, oldValue },
    timestamp,
    headers: r.headers,
  });
}

/**
 * SlidingWindows, with Kafka Streams' algorithm: each record has a left window ending at its
 * timestamp and, when a later record falls within the time difference, a right window starting
 * just after it. Windows exist only where records are, so every window's content is distinct.
 * Records earlier than the time difference share the window `[0, timeDifference]`.
 */
export function slidingWindowAggregateProcessor<K, V, VA>(
  storeName: string,
  windows: SlidingWindows,
  initializer: () => VA | null,
  aggregator: Aggregator<K, V, VA | null>,
): ProcessorSupplier<K, V, Windowed<K>, Change<VA>> {
  const diff = windows.timeDifferenceMs;
  return () => {
    let ctx: ProcessorContext<Windowed<K>, Change<VA>>;
    let store: TimestampedWindowStore<K, VA>;
    let observedStreamTime = NO_TIMESTAMP;
    let late = false;

    const windowOf = (start: number): Window => ({ start, end: start + diff });

    /** Adds the record to a window (existing or new) unless the window has closed. */
    const update = (
      window: Window,
      current: ValueAndTimestamp<VA | null> | null,
      r: StreamRecord<K, V>,
      closeTime: number,
    ): void => {
      if (window.end < closeTime) {
        late = true;
        return;
      }
      const oldAgg = current?.value ?? null;
      const newAgg = aggregator(r.key, r.value, oldAgg);
      const newTimestamp = oldAgg === null ? r.timestamp : Math.max(r.timestamp, current!.timestamp);
      store.put(
        r.key,
        newAgg === null || newAgg === undefined ? null : { value: newAgg, timestamp: newTimestamp },
        window.start,
      );
      forward(ctx, r, window, oldAgg, newAgg, newTimestamp);
    };

    /** The new record's right window holds exactly what a later window held: copied, not re-aggregated. */
    const createRightWindow = (r: StreamRecord<K, V>, agg: ValueAndTimestamp<VA>): void => {
      const window = windowOf(r.timestamp + 1);
      store.put(r.key, agg, window.start);
      forward(ctx, r, window, null, agg.value, agg.timestamp);
    };

    const createPreviousRightWindow = (start: number, r: StreamRecord<K, V>, closeTime: number): void => {
      update(windowOf(start), { value: initializer(), timestamp: r.timestamp }, r, closeTime);
    };

    const processEarly = (r: StreamRecord<K, V>, closeTime: number): void => {
      let combined: { start: number; value: ValueAndTimestamp<VA> } | undefined;
      let rightWinAgg: ValueAndTimestamp<VA> | undefined;
      let rightWinAlreadyCreated = false;
      const starts = new Set<number>();
      let previousRecordTimestamp: number | undefined;
      for (const w of store.fetch(r.key, 0, r.timestamp + 1)) {
        starts.add(w.windowStart);
        if (w.windowStart === 0) {
          combined = { start: 0, value: w.value };
          if (w.value.timestamp < r.timestamp) previousRecordTimestamp = w.value.timestamp;
        } else if (w.windowStart <= r.timestamp) {
          rightWinAgg = w.value;
          update(windowOf(w.windowStart), w.value, r, closeTime);
        } else if (w.windowStart === r.timestamp + 1) {
          rightWinAlreadyCreated = true;
        } else {
          throw new Error(
            `Sliding window aggregation found an unexpected window starting at ${w.windowStart} for a record at ${r.timestamp}`,
          );
        }
      }
      // The combined window holds only records after this one when no right window was found.
      if (rightWinAgg === undefined && combined !== undefined && combined.value.timestamp > r.timestamp)
        rightWinAgg = combined.value;
      if (!rightWinAlreadyCreated && rightWinAgg !== undefined && rightWinAgg.timestamp > r.timestamp)
        createRightWindow(r, rightWinAgg);
      if (previousRecordTimestamp !== undefined && !starts.has(previousRecordTimestamp + 1))
        createPreviousRightWindow(previousRecordTimestamp + 1, r, closeTime);
      if (combined === undefined)
        update(windowOf(0), { value: initializer(), timestamp: r.timestamp }, r, closeTime);
      else update(windowOf(0), combined.value, r, closeTime);
    };

    const processRecord = (r: StreamRecord<K, V>, closeTime: number): void => {
      const starts = new Set<number>();
      let leftWinAgg: ValueAndTimestamp<VA> | undefined;
      let rightWinAgg: ValueAndTimestamp<VA> | undefined;
      let leftWinAlreadyCreated = false;
      let rightWinAlreadyCreated = false;
      let previousRecordTimestamp: number | undefined;
      // Newest window first: windows after the record are updated, then the scan stops at the
      // first window entirely before it, which holds the aggregate of its left window.
      for (const w of store.backwardFetch(r.key, Math.max(0, r.timestamp - 2 * diff), r.timestamp + 1)) {
        starts.add(w.windowStart);
        const end = w.windowStart + diff;
        if (w.windowStart === r.timestamp + 1) {
          rightWinAlreadyCreated = true;
        } else if (end > r.timestamp) {
          rightWinAgg ??= w.value;
          update(windowOf(w.windowStart), w.value, r, closeTime);
        } else if (end === r.timestamp) {
          leftWinAlreadyCreated = true;
          update(windowOf(w.windowStart), w.value, r, closeTime);
          if (w.value.timestamp < r.timestamp) previousRecordTimestamp = w.value.timestamp;
          else return; // a record at this timestamp was seen before: every window it needs exists
        } else {
          leftWinAgg = w.value;
          previousRecordTimestamp = w.value.timestamp;
          break;
        }
      }
      if (previousRecordTimestamp !== undefined) {
        const start = previousRecordTimestamp + 1;
        if (!starts.has(start) && start + diff >= r.timestamp) createPreviousRightWindow(start, r, closeTime);
      }
      if (!leftWinAlreadyCreated) {
        const leftNotEmpty =
          previousRecordTimestamp !== undefined && r.timestamp - diff <= previousRecordTimestamp;
        const value = leftNotEmpty ? leftWinAgg!.value : initializer();
        update(windowOf(r.timestamp - diff), { value, timestamp: r.timestamp }, r, closeTime);
      }
      if (!rightWinAlreadyCreated && rightWinAgg !== undefined && rightWinAgg.timestamp > r.timestamp)
        createRightWindow(r, rightWinAgg);
    };

    const p: Processor<K, V, Windowed<K>, Change<VA>> = {
      init(c) {
        ctx = c;
        store = c.getStateStore(storeName);
      },
      // Records older than the advanced stream time are late, as if a record had moved it.
      onStreamTimeAdvance(streamTime) {
        observedStreamTime = Math.max(observedStreamTime, streamTime);
      },
      process(r) {
        if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) {
          countDropped(ctx);
          return;
        }
        observedStreamTime = Math.max(observedStreamTime, r.timestamp);
        const closeTime = observedStreamTime - windows.graceMs;
        if (r.timestamp + diff < closeTime) {
          countLate(ctx);
          return;
        }
        late = false;
        if (r.timestamp < diff) processEarly(r, closeTime);
        else processRecord(r, closeTime);
        if (late) countLate(ctx);
      },
    };
    return p;
  };
}

/** Reads a windowed aggregation's result for one `Windowed<K>` (joins with a windowed table). */
export function windowStoreValueGetter<K, VA>(storeName: string): TableValueGetterSupplier<Windowed<K>, VA> {
  return {
    storeNames: [storeName],
    init(context) {
      const store = context.getStateStore<TimestampedWindowStore<K, VA>>(storeName);
      return { get: (key) => store.fetch(key.key, key.window.start) };
    },
  };
}
