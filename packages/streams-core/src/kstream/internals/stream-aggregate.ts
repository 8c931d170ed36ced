/**
 * count, reduce and aggregate of a grouped stream without windows: one running aggregate per key
 * in a timestamped key-value store, forwarded as a `Change` so that the table it builds can
 * retract the value each update replaces. Windowed aggregations keep one aggregate per window
 * and live beside their windows (window-aggregate.ts, session-aggregate.ts).
 */

import type { Processor, ProcessorContext, ProcessorSupplier } from '../../processor/api/processor.ts';
import type { StreamRecord } from '../../processor/api/record.ts';
import type { KeyValueStore } from '../../state/key-value-store.ts';
import type { ValueAndTimestamp } from '../../state/value-and-timestamp.ts';
import type { Change } from '../change.ts';
import { changeForwarder } from './change-forwarder.ts';
import { countDropped } from './dropped-records.ts';

/**
 * count, reduce and aggregate on a grouped stream. Records with a null key or value are dropped
 * and counted. The result's timestamp is the largest timestamp that contributed to it.
 */
export function streamAggregateProcessor<K, V, VA>(
  storeName: string,
  initializer: () => VA,
  aggregator: (key: K, value: V, aggregate: VA) => VA,
  /** reduce: the first value is the aggregate, not initializer + value. */
  firstValueIsAggregate = false,
): ProcessorSupplier<K, V, K, Change<VA>> {
  return () => {
    let ctx: ProcessorContext<K, Change<VA>>;
    let store: KeyValueStore<K, ValueAndTimestamp<VA>>;
    let forward: (record: StreamRecord<K, Change<VA>>) => void;
    const p: Processor<K, V, K, Change<VA>> = {
      init(c) {
        ctx = c;
        store = c.getStateStore(storeName);
        forward = changeForwarder(c, store);
      },
      process(r: StreamRecord<K, V>) {
        if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) {
          countDropped(ctx);
          return;
        }
        const old = store.get(r.key);
        let newAgg: VA;
        let timestamp: number;
        if (old === undefined) {
          newAgg = firstValueIsAggregate
            ? (r.value as unknown as VA)
            : aggregator(r.key, r.value, initializer());
          timestamp = r.timestamp;
        } else {
          newAgg = aggregator(r.key, r.value, old.value);
          timestamp = Math.max(r.timestamp, old.timestamp);
        }
        store.put(r.key, { value: newAgg, timestamp });
        forward({
          key: r.key,
          value: { newValue: newAgg, oldValue: old?.value ?? null },
          timestamp,
          headers: r.headers,
        });
      },
    };
    return p;
  };
}
