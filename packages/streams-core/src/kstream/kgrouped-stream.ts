/**
 * A stream grouped by key, ready to aggregate. When the key changed upstream, the aggregation
 * reads from a repartition topic so that all records of a key meet in one task.
 */

import type { Serde } from '../serdes/serde.ts';
import { Serdes } from '../serdes/serdes.ts';
import type { BuilderContext } from './internals/builder-context.ts';
import { streamAggregateProcessor } from './internals/stream-aggregate.ts';
import { KTable } from './ktable.ts';
import type { Materialized, Named } from './options.ts';
import { SessionWindowedKStream } from './session-windowed-kstream.ts';
import { TimeWindowedKStream } from './time-windowed-kstream.ts';
import { SessionWindows } from './windows/session-windows.ts';
import type { SlidingWindows } from './windows/sliding-windows.ts';
import type { TimeWindows } from './windows/time-windows.ts';

export class KGroupedStream<K, V> {
  /** @internal */ readonly ctx: BuilderContext;
  /** @internal */ readonly nodeName: string;
  /** @internal */ readonly keySerde: Serde<K> | undefined;
  /** @internal */ readonly valueSerde: Serde<V> | undefined;
  /** @internal */ readonly repartitionRequired: boolean;
  /** @internal */ readonly groupedName: string | undefined;

  /** @internal */
  constructor(
    ctx: BuilderContext,
    nodeName: string,
    keySerde: Serde<K> | undefined,
    valueSerde: Serde<V> | undefined,
    repartitionRequired: boolean,
    groupedName: string | undefined,
  ) {
    this.ctx = ctx;
    this.nodeName = nodeName;
    this.keySerde = keySerde;
    this.valueSerde = valueSerde;
    this.repartitionRequired = repartitionRequired;
    this.groupedName = groupedName;
  }

  /** Number of records per key. */
  count(materialized: Materialized<K, number> & Named = {}): KTable<K, number> {
    return this.#aggregate(
      'KSTREAM-AGGREGATE',
      () => 0,
      (_k, _v, n: number) => n + 1,
      false,
      { ...materialized, value: materialized.value ?? Serdes.Long() },
    );
  }

  /** Combines the values of a key; the first value is the start. */
  reduce(
    reducer: (aggregate: V, value: V) => V,
    materialized: Materialized<K, V> & Named = {},
  ): KTable<K, V> {
    return this.#aggregate(
      'KSTREAM-REDUCE',
      () => undefined as unknown as V,
      (_k, v, agg: V) => reducer(agg, v),
      true,
      {
        ...materialized,
        ...((materialized.value ?? this.valueSerde)
          ? { value: (materialized.value ?? this.valueSerde)! }
          : {}),
      },
    );
  }

  aggregate<VA>(
    initializer: () => VA,
    aggregator: (key: K, value: V, aggregate: VA) => VA,
    materialized: Materialized<K, VA> & Named = {},
  ): KTable<K, VA> {
    return this.#aggregate('KSTREAM-AGGREGATE', initializer, aggregator, false, materialized);
  }

  /** Aggregates per key and window: TimeWindows (tumbling, hopping), SlidingWindows or SessionWindows. */
  windowedBy(windows: SessionWindows): SessionWindowedKStream<K, V>;
  windowedBy(windows: TimeWindows | SlidingWindows): TimeWindowedKStream<K, V>;
  windowedBy(
    windows: TimeWindows | SlidingWindows | SessionWindows,
  ): TimeWindowedKStream<K, V> | SessionWindowedKStream<K, V> {
    return windows instanceof SessionWindows
      ? new SessionWindowedKStream(this, windows)
      : new TimeWindowedKStream(this, windows);
  }

  /** @internal the node aggregations read from: the grouped stream, or its repartition source. */
  upstream(storeName: string): string {
    if (!this.repartitionRequired) return this.nodeName;
    return this.ctx.repartition(this.nodeName, this.groupedName ?? storeName, this.keySerde, this.valueSerde);
  }

  #aggregate<VA>(
    kind: string,
    initializer: () => VA,
    aggregator: (key: K, value: V, aggregate: VA) => VA,
    reduce: boolean,
    materialized: Materialized<K, VA> & Named,
  ): KTable<K, VA> {
    const processorName = this.ctx.names.generate(kind, this.nodeName);
    const keySerde = materialized.key ?? this.keySerde;
    const store = this.ctx.keyValueStore(
      materialized,
      `${kind}-STATE-STORE`,
      processorName,
      keySerde,
      materialized.value,
    );
    const upstream = this.upstream(store.name);
    this.ctx.topology.addProcessor(
      processorName,
      streamAggregateProcessor(store.name, initializer, aggregator, reduce),
      upstream,
    );
    this.ctx.topology.addStateStore(store.builder, processorName);
    return KTable.materialized(this.ctx, processorName, keySerde, materialized.value, store.name);
  }
}
