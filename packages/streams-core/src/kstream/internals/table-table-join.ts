/**
 * KTable-KTable joins (inner, left, outer). Each side has a processor that, on an update, reads
 * the other side's current value and forwards the joined change; a merge node unites both sides.
 * Timestamps of results are the larger of the two sides' timestamps, as in Kafka Streams.
 */
import type { ProcessorContext, ProcessorSupplier } from '../../processor/api/processor.ts';
import type { StreamRecord } from '../../processor/api/record.ts';
import type { KeyValueStore } from '../../state/key-value-store.ts';
import type { ValueAndTimestamp } from '../../state/value-and-timestamp.ts';
import type { Change } from '../change.ts';
import { changeForwarder } from './change-forwarder.ts';
import type { TableValueGetter, TableValueGetterSupplier } from './table-value-getter.ts';

export type TableJoinKind = 'inner' | 'left' | 'outer';

/** Whether a side's value may be absent from a result of this join kind. */
function mayLackThis(kind: TableJoinKind, thisIsLeft: boolean): boolean {
  return kind === 'outer' || (kind === 'left' && !thisIsLeft);
}

/**
 * The processor for one side. `join(thisValue, otherValue)` is already oriented so that its
 * arguments are (this side, other side).
 */
export function tableJoinSideProcessor<K, VT, VO, VR>(
  kind: TableJoinKind,
  thisIsLeft: boolean,
  other: TableValueGetterSupplier<K, VO>,
  join: (thisValue: VT | null, otherValue: VO | null) => VR,
): ProcessorSupplier<K, Change<VT>, K, Change<VR>> {
  const otherMayBeAbsent = kind === 'outer' || (kind === 'left' && thisIsLeft);
  const thisMayBeAbsent = mayLackThis(kind, thisIsLeft);
  return () => {
    let ctx: ProcessorContext<K, Change<VR>>;
    let getter: TableValueGetter<K, VO>;
    return {
      init(c) {
        ctx = c;
        getter = other.init(c);
      },
      process(r) {
        const o = getter.get(r.key);
        const otherValue = o?.value ?? null;
        if (otherValue === null && !otherMayBeAbsent) return;
        const { newValue, oldValue } = r.value;
        if (otherValue === null && newValue === null && oldValue === null) return;
        const joinedNew =
          newValue !== null || (thisMayBeAbsent && otherValue !== null) ? join(newValue, otherValue) : null;
        const joinedOld =
          oldValue !== null || (thisMayBeAbsent && otherValue !== null) ? join(oldValue, otherValue) : null;
        const timestamp = o === undefined ? r.timestamp : Math.max(r.timestamp, o.timestamp);
        ctx.forward({
          key: r.key,
          value: { newValue: joinedNew, oldValue: joinedOld },
          timestamp,
          headers: r.headers,
        });
      },
    };
  };
}

/** Unites both sides' results; writes them to the result's store when it is materialized. */
export function tableJoinMergeProcessor<K, VR>(
  storeName: string | undefined,
): ProcessorSupplier<K, Change<VR>, K, Change<VR>> {
  return () => {
    let store: KeyValueStore<K, ValueAndTimestamp<VR>> | undefined;
    let forward: (record: StreamRecord<K, Change<VR>>) => void;
    return {
      init(c) {
        if (storeName) store = c.getStateStore(storeName);
        forward = store ? changeForwarder(c, store) : (record) => c.forward(record);
      },
      process(r) {
        if (store)
          store.put(
            r.key,
            r.value.newValue === null ? null : { value: r.value.newValue, timestamp: r.timestamp },
          );
        forward(r);
      },
    };
  };
}

/** Reads a join result without a store of its own: both sides' values, joined on demand. */
export function tableJoinValueGetter<K, V, VO, VR>(
  kind: TableJoinKind,
  left: TableValueGetterSupplier<K, V>,
  right: TableValueGetterSupplier<K, VO>,
  joiner: (value: V | null, otherValue: VO | null) => VR,
): TableValueGetterSupplier<K, VR> {
  return {
    storeNames: [...new Set([...left.storeNames, ...right.storeNames])],
    init(context) {
      const l = left.init(context);
      const r = right.init(context);
      return {
        get(key) {
          const lv = l.get(key);
          const rv = r.get(key);
          if (kind === 'inner' && (lv === undefined || rv === undefined)) return undefined;
          if (kind === 'left' && lv === undefined) return undefined;
          if (lv === undefined && rv === undefined) return undefined;
          const value = joiner(lv?.value ?? null, rv?.value ?? null);
          return { value, timestamp: Math.max(lv?.timestamp ?? -1, rv?.timestamp ?? -1) };
        },
      };
    },
  };
}
