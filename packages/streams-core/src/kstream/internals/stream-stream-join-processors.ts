/**
 * The run-time side of a stream-stream join over JoinWindows, as Kafka Streams 3.x/4.x does it.
 * Each side first passes a "windowed" node that buffers its records in a window store (every
 * record kept: retainDuplicates) after forwarding them to that side's join node, which looks up
 * the other side's buffer; so a side never joins itself. Inner results are emitted on each match,
 * with the later of the two timestamps. A left/outer record without a match is handed to the
 * unmatched records (stream-stream-join-unmatched.ts), which emit it once no match can come.
 */

import { Headers } from '../../processor/api/headers.ts';
import type { Processor, ProcessorContext, ProcessorSupplier } from '../../processor/api/processor.ts';
import type { WindowStore } from '../../state/window-store.ts';
import type { JoinWindows } from '../windows/join-windows.ts';
import { countDropped, countLate } from './dropped-records.ts';
import {
  type JoinTimeTracker,
  type OuterJoinStore,
  sharedTimeTracker,
  UnmatchedRecords,
} from './stream-stream-join-unmatched.ts';

/** Puts each record in its side's buffer after the join node has seen it (a side never joins itself). */
export function joinWindowProcessor<K, V>(storeName: string): ProcessorSupplier<K, V, K, V> {
  return () => {
    let ctx: ProcessorContext<K, V>;
    let store: WindowStore<K, V>;
    return {
      init(c) {
        ctx = c;
        store = c.getStateStore(storeName);
      },
      process(r) {
        ctx.forward(r);
        if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
        if (!store.put(r.key, r.value, r.timestamp)) countLate(ctx);
      },
    };
  };
}

export interface JoinSideOptions<K, VThis, VOther, VR> {
  readonly windows: JoinWindows;
  readonly thisIsLeft: boolean;
  /** This side may be emitted without a match (left side of left/outer, right side of outer). */
  readonly outer: boolean;
  readonly otherStoreName: string;
  readonly outerStoreName: string | undefined;
  /** Oriented as (this side, other side); the DSL's joiner is reversed for the right side. */
  readonly joiner: (thisValue: VThis | null, otherValue: VOther | null, key: K) => VR;
}

/**
 * The join node of one side. Kafka Streams throttles the scan for closed windows to once per
 * second of wall-clock time; we scan on every record that advances stream time (as Kafka Streams
 * does with that interval set to 0), so results come as early as the semantics allow.
 */
export function streamJoinSideProcessor<K, VThis, VOther, VR>(
  options: JoinSideOptions<K, VThis, VOther, VR>,
): ProcessorSupplier<K, VThis, K, VR> {
  const { windows, thisIsLeft, outer, joiner } = options;
  // A left record at t joins right records in [t - before, t + after]; the right side looks the other way.
  const joinBeforeMs = thisIsLeft ? windows.beforeMs : windows.afterMs;
  const joinAfterMs = thisIsLeft ? windows.afterMs : windows.beforeMs;
  return () => {
    let ctx: ProcessorContext<K, VR>;
    let otherStore: WindowStore<K, VOther>;
    let unmatched: UnmatchedRecords<K, VThis, VOther, VR> | undefined;
    let tracker: JoinTimeTracker = { streamTime: -1, minTime: Number.POSITIVE_INFINITY };

    const p: Processor<K, VThis, K, VR> = {
      init(c) {
        ctx = c;
        otherStore = c.getStateStore(options.otherStoreName);
        if (options.outerStoreName) {
          const store = c.getStateStore<OuterJoinStore<K, any, any>>(options.outerStoreName);
          tracker = sharedTimeTracker(store, tracker);
          unmatched = new UnmatchedRecords(c, store, tracker, windows, thisIsLeft, joiner);
        }
      },
      onStreamTimeAdvance(streamTime) {
        tracker.streamTime = Math.max(tracker.streamTime, streamTime);
        // Unmatched records whose window closed by the advanced time are emitted now, without headers.
        if (unmatched) unmatched.emitClosed(new Headers());
      },
      process(r) {
        const t = r.timestamp;
        tracker.streamTime = Math.max(tracker.streamTime, t);
        const keyless = r.key === null || r.key === undefined;
        const valueless = r.value === null || r.value === undefined;
        if (outer && keyless && !valueless) {
          // Without a key there is nothing to join with; left/outer joins keep the record (KIP-962).
          ctx.forward({ key: r.key, value: joiner(r.value, null, r.key), timestamp: t, headers: r.headers });
          return;
        }
        if (keyless || valueless) {
          countDropped(ctx);
          return;
        }
        if (unmatched && t === tracker.streamTime) unmatched.emitClosed(r.headers);
        const timeFrom = Math.max(0, t - joinBeforeMs);
        const timeTo = Math.max(0, t + joinAfterMs);
        const matches = otherStore.fetch(r.key, timeFrom, timeTo);
        for (const m of matches) {
          unmatched?.matched(r.key, m.windowStart);
          ctx.forward({
            key: r.key,
            value: joiner(r.value, m.value, r.key),
            timestamp: Math.max(t, m.windowStart),
            headers: r.headers,
          });
        }
        if (outer && matches.length === 0) {
          // Too old to wait for a match that could still come: emitted at once, as Kafka Streams does.
          if (!unmatched || timeTo < tracker.streamTime) {
            ctx.forward({
              key: r.key,
              value: joiner(r.value, null, r.key),
              timestamp: t,
              headers: r.headers,
            });
          } else {
            unmatched.hold(r.key, t, r.value);
          }
        }
      },
    };
    return p;
  };
}
