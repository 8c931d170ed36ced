/**
 * Session-windowed aggregation of a grouped stream. A record opens a session `[t, t]` or joins
 * every session of its key within the inactivity gap, merging them: each merged-away session is
 * deleted and forwarded as a tombstone, then the merged session is forwarded. Results carry the
 * session's end as their timestamp. A record whose merged session has closed (end + gap + grace
 * <= the operator's stream time) is dropped and counted as late.
 */
import type { Processor, ProcessorContext, ProcessorSupplier } from '../../processor/api/processor.ts';
import type { Windowed } from '../../serdes/windowed.ts';
import type { SessionStore } from '../../state/session-store.ts';
import type { Change } from '../change.ts';
import type { SessionWindows } from '../windows/session-windows.ts';
import { countDropped, countLate } from './dropped-records.ts';
import type { TableValueGetterSupplier } from './table-value-getter.ts';

export function sessionWindowAggregateProcessor<K, V, VA>(
  storeName: string,
  windows: SessionWindows,
  initializer: () => VA | null,
  aggregator: (key: K, value: V, aggregate: VA | null) => VA | null,
  merger: (key: K, aggregate1: VA | null, aggregate2: VA | null) => VA | null,
): ProcessorSupplier<K, V, Windowed<K>, Change<VA>> {
  const gap = windows.inactivityGapMs;
  return () => {
    let ctx: ProcessorContext<Windowed<K>, Change<VA>>;
    let store: SessionStore<K, VA>;
    let observedStreamTime = -1;
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
        const t = r.timestamp;
        observedStreamTime = Math.max(observedStreamTime, t);
        const closeTime = observedStreamTime - windows.graceMs - gap;
        const merged = store.findSessions(r.key, t - gap, t + gap);
        let agg = initializer();
        let start = t;
        let end = t;
        for (const s of merged) {
          agg = merger(r.key, agg, s.value);
          start = Math.min(start, s.key.window.start);
          end = Math.max(end, s.key.window.end);
        }
        if (end < closeTime) {
          countLate(ctx);
          return;
        }
        if (start !== t || end !== t) {
          for (const s of merged) {
            store.remove(s.key);
            ctx.forward({
              key: s.key,
              value: { newValue: null, oldValue: s.value },
              timestamp: s.key.window.end,
              headers: r.headers,
            });
          }
        }
        agg = aggregator(r.key, r.value, agg);
        const session: Windowed<K> = { key: r.key, window: { start, end } };
        store.put(session, agg ?? null);
        ctx.forward({
          key: session,
          value: { newValue: agg ?? null, oldValue: null },
          timestamp: end,
          headers: r.headers,
        });
      },
    };
    return p;
  };
}

/** Reads a session aggregation's result for one session (joins with a session-windowed table). */
export function sessionStoreValueGetter<K, VA>(storeName: string): TableValueGetterSupplier<Windowed<K>, VA> {
  return {
    storeNames: [storeName],
    init(context) {
      const store = context.getStateStore<SessionStore<K, VA>>(storeName);
      return {
        get(key) {
          const value = store.fetchSession(key.key, key.window.start, key.window.end);
          return value === undefined ? undefined : { value, timestamp: key.window.end };
        },
      };
    },
  };
}
