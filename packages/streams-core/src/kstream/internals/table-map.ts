/**
 * The KTable operators that derive each update from that update alone: filter, filterNot and
 * mapValues (applied to both the new and the old value, so that downstream can retract) and
 * toStream. They keep no state of their own; filter and mapValues write a store only when the
 * user materializes their result, and then read the old value from it.
 */

import type { ProcessorContext, ProcessorSupplier } from '../../processor/api/processor.ts';
import type { StreamRecord } from '../../processor/api/record.ts';
import type { KeyValueStore } from '../../state/key-value-store.ts';
import type { ValueAndTimestamp } from '../../state/value-and-timestamp.ts';
import type { Change } from '../change.ts';
import { changeForwarder } from './change-forwarder.ts';

/**
 * KTable filter and mapValues: applied to both sides of the change. An update that neither was
 * nor is in the result is not forwarded (Kafka Streams forwards a tombstone for it when the
 * table is not materialized; we never emit a delete for a key that was never there).
 */
export function tableMapProcessor<K, V, VR>(
  map: (value: V, key: K) => VR | null,
  storeName?: string,
): ProcessorSupplier<K, Change<V>, K, Change<VR>> {
  return () => {
    let ctx: ProcessorContext<K, Change<VR>>;
    let store: KeyValueStore<K, ValueAndTimestamp<VR>> | undefined;
    let forward: (record: StreamRecord<K, Change<VR>>) => void;
    return {
      init(c) {
        ctx = c;
        if (storeName) store = c.getStateStore(storeName);
        forward = store ? changeForwarder(c, store) : (record) => c.forward(record);
      },
      process(r) {
        const newValue = r.value.newValue === null ? null : map(r.value.newValue, r.key);
        let oldValue: VR | null;
        if (store) {
          oldValue = store.get(r.key)?.value ?? null;
          if (newValue === null && oldValue === null) return;
          store.put(r.key, newValue === null ? null : { value: newValue, timestamp: r.timestamp });
        } else {
          oldValue = r.value.oldValue === null ? null : map(r.value.oldValue, r.key);
          if (newValue === null && oldValue === null) return;
        }
        forward({ key: r.key, value: { newValue, oldValue }, timestamp: r.timestamp, headers: r.headers });
      },
    };
  };
}

/** KTable.toStream: the stream of new values; deletes become null values. */
export function tableToStreamProcessor<K, V, KR, VR>(
  mapper?: (key: K, value: V | null) => readonly [KR, VR],
): ProcessorSupplier<K, Change<V>, KR, VR | V | null> {
  return () => {
    let ctx: ProcessorContext<KR | K, VR | V | null>;
    return {
      init(c) {
        ctx = c;
      },
      process(r) {
        if (mapper) {
          const [key, value] = mapper(r.key, r.value.newValue);
          ctx.forward({ key, value, timestamp: r.timestamp, headers: r.headers });
        } else {
          ctx.forward({ key: r.key, value: r.value.newValue, timestamp: r.timestamp, headers: r.headers });
        }
      },
    };
  };
}
