/**
 * Materializes a changelog stream as a table: the source of `builder.table`, `KStream.toTable` and
 * the result node of a foreign-key join. It is the one place where a plain record becomes a table
 * update, so it is where a null value turns into a delete and where the old value of each update
 * is read back from the store.
 */

import type { ProcessorContext, ProcessorSupplier } from '../../processor/api/processor.ts';
import type { StreamRecord } from '../../processor/api/record.ts';
import type { KeyValueStore } from '../../state/key-value-store.ts';
import type { ValueAndTimestamp } from '../../state/value-and-timestamp.ts';
import type { Change } from '../change.ts';
import { changeForwarder } from './change-forwarder.ts';
import { countDropped } from './dropped-records.ts';

/** Materializes a changelog stream (table source, toTable): null value = delete. */
export function tableSourceProcessor<K, V>(storeName: string): ProcessorSupplier<K, V, K, Change<V>> {
  return () => {
    let ctx: ProcessorContext<K, Change<V>>;
    let store: KeyValueStore<K, ValueAndTimestamp<V>>;
    let forward: (record: StreamRecord<K, Change<V>>) => void;
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
        const value = r.value === undefined ? null : r.value;
        if (value === null && old === undefined) return; // deleting an absent key changes nothing
        store.put(r.key, value === null ? null : { value, timestamp: r.timestamp });
        forward({
          key: r.key,
          value: { newValue: value, oldValue: old?.value ?? null },
          timestamp: r.timestamp,
          headers: r.headers,
        });
      },
    };
  };
}
