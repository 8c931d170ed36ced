/**
 * Joins of a stream with a table (KTable or GlobalKTable): each stream record looks up the
 * table's current row and is joined with it; table updates trigger nothing. The two differ only
 * in the key they look up: the record's own key for a KTable, which must be co-partitioned with
 * the stream, and a key derived from the record for a GlobalKTable, which every instance holds
 * whole.
 */

import type { ProcessorContext, ProcessorSupplier } from '../../processor/api/processor.ts';
import { countDropped } from './dropped-records.ts';
import type { TableValueGetterSupplier } from './table-value-getter.ts';

/** Stream-table join: each stream record looks up the table's current value for its key. */
export function streamTableJoinProcessor<K, V, VT, VR>(
  getter: TableValueGetterSupplier<K, VT>,
  joiner: (streamValue: V, tableValue: VT | null, key: K) => VR,
  left: boolean,
): ProcessorSupplier<K, V, K, VR> {
  return () => {
    let ctx: ProcessorContext<K, VR>;
    let table: ReturnType<TableValueGetterSupplier<K, VT>['init']>;
    return {
      init(c) {
        ctx = c;
        table = getter.init(c);
      },
      process(r) {
        // An inner join needs a key to look up; a left join keeps records without one (KIP-962).
        if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) {
          if (!left || r.value === null || r.value === undefined) {
            countDropped(ctx);
            return;
          }
          ctx.forward({
            key: r.key,
            value: joiner(r.value, null, r.key),
            timestamp: r.timestamp,
            headers: r.headers,
          });
          return;
        }
        const tv = table.get(r.key);
        if (tv === undefined && !left) return;
        ctx.forward({
          key: r.key,
          value: joiner(r.value, tv?.value ?? null, r.key),
          timestamp: r.timestamp,
          headers: r.headers,
        });
      },
    };
  };
}

/**
 * Stream-global-table join: each record looks up the global table by a key derived from it.
 * A null derived key finds nothing: inner joins drop the record, left joins join it with null.
 */
export function streamGlobalTableJoinProcessor<K, V, GK, GV, VR>(
  getter: TableValueGetterSupplier<GK, GV>,
  keySelector: (key: K, value: V) => GK,
  joiner: (value: V, globalValue: GV | null, key: K) => VR,
  left: boolean,
): ProcessorSupplier<K, V, K, VR> {
  return () => {
    let ctx: ProcessorContext<K, VR>;
    let table: ReturnType<TableValueGetterSupplier<GK, GV>['init']>;
    return {
      init(c) {
        ctx = c;
        table = getter.init(c);
      },
      process(r) {
        if (r.value === null || r.value === undefined) {
          countDropped(ctx);
          return;
        }
        const gk = keySelector(r.key, r.value);
        const gv = gk === null || gk === undefined ? undefined : table.get(gk);
        if (gv === undefined && !left) {
          if (gk === null || gk === undefined) countDropped(ctx);
          return;
        }
        ctx.forward({
          key: r.key,
          value: joiner(r.value, gv?.value ?? null, r.key),
          timestamp: r.timestamp,
          headers: r.headers,
        });
      },
    };
  };
}
