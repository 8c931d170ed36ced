/**
 * KTable.groupBy and the aggregation of a grouped table. Unlike a stream, a table's rows change
 * and disappear, so an aggregate must take back what a row contributed before: the groupBy side
 * turns each update into a subtraction of the old mapping and an addition of the new one, which
 * cross the repartition topic as a `Change`, and the aggregating side applies the subtractor and
 * then the adder.
 */

import type { ProcessorContext, ProcessorSupplier } from '../../processor/api/processor.ts';
import type { StreamRecord } from '../../processor/api/record.ts';
import type { KeyValueStore } from '../../state/key-value-store.ts';
import type { ValueAndTimestamp } from '../../state/value-and-timestamp.ts';
import type { Change } from '../change.ts';
import { changeForwarder } from './change-forwarder.ts';
import { countDropped } from './dropped-records.ts';

/**
 * KTable.groupBy before the repartition: each update becomes a subtraction of the old mapping
 * and an addition of the new. When both map to the same key they travel as one record, so the
 * aggregate changes once; otherwise the subtraction goes first.
 */
export function tableRepartitionMapProcessor<K, V, KR, VR>(
  selector: (key: K, value: V) => readonly [KR, VR],
  sameKey: (a: KR, b: KR) => boolean,
): ProcessorSupplier<K, Change<V>, KR, Change<VR>> {
  return () => {
    let ctx: ProcessorContext<KR, Change<VR>>;
    return {
      init(c) {
        ctx = c;
      },
      process(r) {
        const { newValue, oldValue } = r.value;
        const next = newValue === null ? undefined : selector(r.key, newValue);
        const prev = oldValue === null ? undefined : selector(r.key, oldValue);
        if (next && prev && sameKey(next[0], prev[0])) {
          ctx.forward({
            key: next[0],
            value: { newValue: next[1], oldValue: prev[1] },
            timestamp: r.timestamp,
            headers: r.headers,
          });
          return;
        }
        if (prev)
          ctx.forward({
            key: prev[0],
            value: { newValue: null, oldValue: prev[1] },
            timestamp: r.timestamp,
            headers: r.headers,
          });
        if (next)
          ctx.forward({
            key: next[0],
            value: { newValue: next[1], oldValue: null },
            timestamp: r.timestamp,
            headers: r.headers,
          });
      },
    };
  };
}

/** count/reduce/aggregate of a grouped table: subtract the old value, add the new one. */
export function tableAggregateProcessor<K, V, VA>(
  storeName: string,
  initializer: () => VA,
  adder: (key: K, value: V, aggregate: VA) => VA,
  subtractor: (key: K, value: V, aggregate: VA) => VA,
  /** reduce: the first added value is the aggregate. */
  reduce = false,
): ProcessorSupplier<K, Change<V>, K, Change<VA>> {
  return () => {
    let ctx: ProcessorContext<K, Change<VA>>;
    let store: KeyValueStore<K, ValueAndTimestamp<VA>>;
    let forward: (record: StreamRecord<K, Change<VA>>) => void;
    return {
      init(c) {
        ctx = c;
        store = c.getStateStore(storeName);
        forward = changeForwarder(c, store);
      },
      process(r) {
        if (r.key === null || r.key === undefined) {
          countDropped(ctx);
          return;
        }
        const old = store.get(r.key);
        const oldAgg = old?.value ?? null;
        // Subtract the old value, then add the new one; an aggregate created by adding starts
        // from the initializer (aggregate) or from the first value (reduce).
        let agg: VA | null = oldAgg;
        if (r.value.oldValue !== null && agg !== null) agg = subtractor(r.key, r.value.oldValue, agg);
        if (r.value.newValue !== null) {
          if (agg === null)
            agg = reduce
              ? (r.value.newValue as unknown as VA)
              : adder(r.key, r.value.newValue, initializer());
          else agg = adder(r.key, r.value.newValue, agg);
        }
        const timestamp = old === undefined ? r.timestamp : Math.max(r.timestamp, old.timestamp);
        store.put(r.key, agg === null ? null : { value: agg, timestamp });
        forward({ key: r.key, value: { newValue: agg, oldValue: oldAgg }, timestamp, headers: r.headers });
      },
    };
  };
}
