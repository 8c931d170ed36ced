/**
 * Stateful processors: stream aggregations and the KTable operators, all of which forward
 * `Change` values (new and old) so that downstream tables can retract what they added before.
 */

import { Headers } from '../../processor/api/headers.ts';
import type { Processor, ProcessorContext, ProcessorSupplier } from '../../processor/api/processor.ts';
import type { StreamRecord } from '../../processor/api/record.ts';
import type { TaskMetrics } from '../../processor/internals/task-metrics.ts';
import type { KeyValueStore, TypedKeyValueStore } from '../../state/key-value-store.ts';
import type { ValueAndTimestamp } from '../../state/value-and-timestamp.ts';
import type { Change } from '../change.ts';
import type { TableValueGetterSupplier } from './table-value-getter.ts';

type TimestampedStore<K, V> = KeyValueStore<K, ValueAndTimestamp<V>>;

/**
 * Sends a table update downstream now, or, when the store has the record cache on, when the
 * cache flushes it: repeated updates of a key between commits then reach downstream once, with
 * the value they replaced at the last flush as the old value (Kafka Streams' caching semantics).
 * Flushed updates carry no headers: the cache keeps values, not the records that made them.
 */
export function changeForwarder<K, V>(
  ctx: ProcessorContext<K, Change<V>>,
  store: TimestampedStore<K, V> & {
    setFlushListener?: TypedKeyValueStore<K, ValueAndTimestamp<V>>['setFlushListener'];
  },
): (record: StreamRecord<K, Change<V>>) => void {
  const cached = store.setFlushListener?.((key, n, o) => {
    ctx.forward({
      key,
      value: { newValue: n?.value ?? null, oldValue: o?.value ?? null },
      timestamp: n?.timestamp ?? o?.timestamp ?? Math.max(ctx.currentStreamTimeMs(), 0),
      headers: new Headers(),
    });
  });
  return cached ? () => {} : (record) => ctx.forward(record);
}

function dropped(ctx: ProcessorContext<any, any>): void {
  const metrics = (ctx as unknown as { taskMetrics?: TaskMetrics }).taskMetrics;
  if (metrics) metrics.droppedRecords++;
}

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
    let store: TimestampedStore<K, VA>;
    let forward: (record: StreamRecord<K, Change<VA>>) => void;
    const p: Processor<K, V, K, Change<VA>> = {
      init(c) {
        ctx = c;
        store = c.getStateStore(storeName);
        forward = changeForwarder(c, store);
      },
      process(r: StreamRecord<K, V>) {
        if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) {
          dropped(ctx);
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

/** Materializes a changelog stream (table source, toTable): null value = delete. */
export function tableSourceProcessor<K, V>(storeName: string): ProcessorSupplier<K, V, K, Change<V>> {
  return () => {
    let ctx: ProcessorContext<K, Change<V>>;
    let store: TimestampedStore<K, V>;
    let forward: (record: StreamRecord<K, Change<V>>) => void;
    return {
      init(c) {
        ctx = c;
        store = c.getStateStore(storeName);
        forward = changeForwarder(c, store);
      },
      process(r) {
        if (r.key === null || r.key === undefined) {
          dropped(ctx);
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
    let store: TimestampedStore<K, VR> | undefined;
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
    let store: TimestampedStore<K, VA>;
    let forward: (record: StreamRecord<K, Change<VA>>) => void;
    return {
      init(c) {
        ctx = c;
        store = c.getStateStore(storeName);
        forward = changeForwarder(c, store);
      },
      process(r) {
        if (r.key === null || r.key === undefined) {
          dropped(ctx);
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
            dropped(ctx);
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
          dropped(ctx);
          return;
        }
        const gk = keySelector(r.key, r.value);
        const gv = gk === null || gk === undefined ? undefined : table.get(gk);
        if (gv === undefined && !left) {
          if (gk === null || gk === undefined) dropped(ctx);
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
