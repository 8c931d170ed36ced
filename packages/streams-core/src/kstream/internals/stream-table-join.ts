/**
 * Joins of a stream with a table (KTable or GlobalKTable): each stream record looks up the
 * table's current row and is joined with it; table updates trigger nothing. The two differ only
 * in the key they look up: the record's own key for a KTable, which must be co-partitioned with
 * the stream, and a key derived from the record for a GlobalKTable, which every instance holds
 * whole.
 */

import type { ProcessorContext, ProcessorSupplier } from '../../processor/api/processor.ts';
import type { Serde } from '../../serdes/serde.ts';
import type { GlobalKTable } from '../global-ktable.ts';
import type { KStream } from '../kstream.ts';
import type { KTable } from '../ktable.ts';
import type { Joined, Named } from '../options.ts';
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

/**
 * Joins a stream with a table of its builder; returns the join node and the key serde of its
 * results. A stream whose key changed is repartitioned first, so that it meets the table's rows.
 */
export function addStreamTableJoin<K, V, VT, VR>(
  stream: KStream<K, V>,
  table: KTable<K, VT>,
  joiner: (v: V, t: VT | null, k: K) => VR,
  left: boolean,
  joined: Joined<K, V, VT> | undefined,
): { nodeName: string; keySerde: Serde<K> | undefined } {
  const ctx = stream.ctx;
  let input: KStream<K, V> = stream;
  if (stream.repartitionRequired) {
    input = stream.repartition({
      ...(joined?.name ? { name: joined.name } : {}),
      ...((joined?.key ?? stream.keySerde) ? { key: (joined?.key ?? stream.keySerde)! } : {}),
      ...((joined?.value ?? stream.valueSerde) ? { value: (joined?.value ?? stream.valueSerde)! } : {}),
    });
  }
  const getter = table.valueGetterSupplier();
  const name = ctx.addProcessor(
    left ? 'KSTREAM-LEFTJOIN' : 'KSTREAM-JOIN',
    streamTableJoinProcessor(getter, joiner, left),
    [input.nodeName],
    joined?.name ? `${joined.name}-join` : undefined,
  );
  for (const s of getter.storeNames) ctx.topology.connectProcessorAndStateStores(s, name);
  ctx.requireCopartition(input.nodeName, table.nodeName);
  return { nodeName: name, keySerde: input.keySerde };
}

/**
 * Joins a stream with a global table; returns the join node. The global table is complete on
 * every instance: no repartitioning, no co-partitioning.
 */
export function addStreamGlobalTableJoin<K, V, GK, GV, VR>(
  stream: KStream<K, V>,
  table: GlobalKTable<GK, GV>,
  keySelector: (key: K, value: V) => GK,
  joiner: (value: V, globalValue: GV | null, key: K) => VR,
  left: boolean,
  named: Named | undefined,
): string {
  const name = stream.ctx.addProcessor(
    left ? 'KSTREAM-LEFTJOIN' : 'KSTREAM-JOIN',
    streamGlobalTableJoinProcessor(table.getter, keySelector, joiner, left),
    [stream.nodeName],
    named?.name,
  );
  for (const s of table.getter.storeNames) stream.ctx.topology.connectProcessorAndStateStores(s, name);
  return name;
}
