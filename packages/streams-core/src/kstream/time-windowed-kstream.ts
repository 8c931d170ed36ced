/**
 * A grouped stream cut into TimeWindows or SlidingWindows, ready to aggregate per key and window.
 * Results are a KTable keyed by `Windowed<K>` whose key serde is `Serdes.TimeWindowed(inner, size)`.
 */

import type { Serde } from '../serdes/serde.ts';
import { Serdes } from '../serdes/serdes.ts';
import { TimeWindowedSerde, type Windowed } from '../serdes/windowed.ts';
import {
  slidingWindowAggregateProcessor,
  timeWindowAggregateProcessor,
  windowStoreValueGetter,
} from './internals/window-aggregate.ts';
import { declareGrace } from './internals/window-grace.ts';
import { dslWindowStore, windowRetention } from './internals/window-stores.ts';
import type { KGroupedStream } from './kgrouped-stream.ts';
import { KTable } from './ktable.ts';
import type { Materialized, Named } from './options.ts';
import type { SlidingWindows } from './windows/sliding-windows.ts';
import { TimeWindows } from './windows/time-windows.ts';

export class TimeWindowedKStream<K, V> {
  readonly #grouped: KGroupedStream<K, V>;
  readonly #windows: TimeWindows | SlidingWindows;

  /** @internal created by KGroupedStream.windowedBy */
  constructor(grouped: KGroupedStream<K, V>, windows: TimeWindows | SlidingWindows) {
    this.#grouped = grouped;
    this.#windows = windows;
  }

  /** Records per key and window (null values count too, as in Kafka Streams). */
  count(materialized: Materialized<K, number> & Named = {}): KTable<Windowed<K>, number> {
    return this.#aggregate(
      'KSTREAM-AGGREGATE',
      () => 0,
      (_k, _v, n) => (n ?? 0) + 1,
      { ...materialized, value: materialized.value ?? Serdes.Long() },
    );
  }

  /** Combines the values of each key and window; the first value is the start. */
  reduce(
    reducer: (aggregate: V, value: V) => V,
    materialized: Materialized<K, V> & Named = {},
  ): KTable<Windowed<K>, V> {
    const valueSerde = materialized.value ?? this.#grouped.valueSerde;
    return this.#aggregate<V>(
      'KSTREAM-REDUCE',
      () => null,
      (_k, v, agg) => (agg === null ? v : reducer(agg, v)),
      {
        ...materialized,
        ...(valueSerde ? { value: valueSerde } : {}),
      },
    );
  }

  aggregate<VA>(
    initializer: () => VA,
    aggregator: (key: K, value: V, aggregate: VA) => VA,
    materialized: Materialized<K, VA> & Named = {},
  ): KTable<Windowed<K>, VA> {
    return this.#aggregate(
      'KSTREAM-AGGREGATE',
      initializer,
      aggregator as (key: K, value: V, aggregate: VA | null) => VA,
      materialized,
    );
  }

  #aggregate<VA>(
    kind: string,
    initializer: () => VA | null,
    aggregator: (key: K, value: V, aggregate: VA | null) => VA | null,
    materialized: Materialized<K, VA> & Named,
  ): KTable<Windowed<K>, VA> {
    const { ctx } = this.#grouped;
    const windows = this.#windows;
    const sliding = !(windows instanceof TimeWindows);
    const size = sliding ? windows.timeDifferenceMs : windows.sizeMs;
    const processorName = ctx.names.generate(kind, this.#grouped.nodeName);
    const keySerde: Serde<K> | undefined = materialized.key ?? this.#grouped.keySerde;
    // Sliding windows look back two time differences to build a record's left and right windows.
    const minimum = sliding ? 2 * size + windows.graceMs : size + windows.graceMs;
    const retentionMs = windowRetention(
      materialized,
      minimum,
      sliding ? 'twice the time difference plus grace' : 'window size plus grace',
    );
    const store = dslWindowStore(
      ctx,
      materialized,
      `${kind}-STATE-STORE`,
      processorName,
      keySerde,
      materialized.value,
      {
        retentionMs,
        windowSizeMs: size,
        retainDuplicates: false,
        timestamped: true,
      },
    );
    const upstream = this.#grouped.upstream(store.name);
    const supplier = sliding
      ? slidingWindowAggregateProcessor<K, V, VA>(store.name, windows, initializer, aggregator)
      : timeWindowAggregateProcessor<K, V, VA>(store.name, windows, initializer, aggregator);
    ctx.topology.addProcessor(processorName, supplier, upstream);
    ctx.topology.addStateStore(store.builder, processorName);
    declareGrace(ctx, processorName, windows.graceMs);
    const windowedSerde = keySerde ? new TimeWindowedSerde(keySerde, Math.max(size, 1)) : undefined;
    return new KTable<Windowed<K>, VA>(
      ctx,
      processorName,
      windowedSerde,
      materialized.value,
      store.name,
      windowStoreValueGetter<K, VA>(store.name),
    );
  }
}
