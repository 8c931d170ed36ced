/**
 * A grouped stream cut into SessionWindows, ready to aggregate per key and session. Results are
 * a KTable keyed by `Windowed<K>` whose key serde is `Serdes.SessionWindowed(inner)`.
 */

import type { Serde } from '../serdes/serde.ts';
import { Serdes } from '../serdes/serdes.ts';
import { SessionWindowedSerde, type Windowed } from '../serdes/windowed.ts';
import { sessionStoreValueGetter, sessionWindowAggregateProcessor } from './internals/session-aggregate.ts';
import { declareGrace } from './internals/window-grace.ts';
import { dslSessionStore, windowRetention } from './internals/window-stores.ts';
import type { KGroupedStream } from './kgrouped-stream.ts';
import { KTable } from './ktable.ts';
import type { Materialized, Named } from './options.ts';
import type { SessionWindows } from './windows/session-windows.ts';

export class SessionWindowedKStream<K, V> {
  readonly #grouped: KGroupedStream<K, V>;
  readonly #windows: SessionWindows;

  /** @internal created by KGroupedStream.windowedBy */
  constructor(grouped: KGroupedStream<K, V>, windows: SessionWindows) {
    this.#grouped = grouped;
    this.#windows = windows;
  }

  /** Records per key and session (null values count too, as in Kafka Streams). */
  count(materialized: Materialized<K, number> & Named = {}): KTable<Windowed<K>, number> {
    return this.#aggregate(
      'KSTREAM-AGGREGATE',
      () => 0,
      (_k, _v, n) => (n ?? 0) + 1,
      (_k, a, b) => (a ?? 0) + (b ?? 0),
      {
        ...materialized,
        value: materialized.value ?? Serdes.Long(),
      },
    );
  }

  /** Combines the values of each session; merging sessions combines their results in time order. */
  reduce(
    reducer: (aggregate: V, value: V) => V,
    materialized: Materialized<K, V> & Named = {},
  ): KTable<Windowed<K>, V> {
    const valueSerde = materialized.value ?? this.#grouped.valueSerde;
    const add = (agg: V | null, v: V | null): V | null => (agg === null ? v : reducer(agg, v as V));
    return this.#aggregate<V>(
      'KSTREAM-REDUCE',
      () => null,
      (_k, v, agg) => add(agg, v),
      (_k, a, b) => add(a, b),
      {
        ...materialized,
        ...(valueSerde ? { value: valueSerde } : {}),
      },
    );
  }

  /** `merger(key, a, b)` combines two sessions' aggregates when a record bridges them. */
  aggregate<VA>(
    initializer: () => VA,
    aggregator: (key: K, value: V, aggregate: VA) => VA,
    merger: (key: K, aggregate1: VA, aggregate2: VA) => VA,
    materialized: Materialized<K, VA> & Named = {},
  ): KTable<Windowed<K>, VA> {
    return this.#aggregate(
      'KSTREAM-AGGREGATE',
      initializer,
      aggregator as (key: K, value: V, aggregate: VA | null) => VA,
      merger as (key: K, a: VA | null, b: VA | null) => VA,
      materialized,
    );
  }

  #aggregate<VA>(
    kind: string,
    initializer: () => VA | null,
    aggregator: (key: K, value: V, aggregate: VA | null) => VA | null,
    merger: (key: K, a: VA | null, b: VA | null) => VA | null,
    materialized: Materialized<K, VA> & Named,
  ): KTable<Windowed<K>, VA> {
    const { ctx } = this.#grouped;
    const windows = this.#windows;
    const processorName = ctx.names.generate(kind, this.#grouped.nodeName);
    const keySerde: Serde<K> | undefined = materialized.key ?? this.#grouped.keySerde;
    const retentionMs = windowRetention(
      materialized,
      windows.inactivityGapMs + windows.graceMs,
      'the inactivity gap plus grace',
    );
    const store = dslSessionStore(
      ctx,
      materialized,
      `${kind}-STATE-STORE`,
      processorName,
      keySerde,
      materialized.value,
      retentionMs,
    );
    const upstream = this.#grouped.upstream(store.name);
    ctx.topology.addProcessor(
      processorName,
      sessionWindowAggregateProcessor<K, V, VA>(store.name, windows, initializer, aggregator, merger),
      upstream,
    );
    ctx.topology.addStateStore(store.builder, processorName);
    // A session can still grow until its end plus the gap plus grace: suppression waits that long.
    declareGrace(ctx, processorName, windows.graceMs + windows.inactivityGapMs);
    const windowedSerde = keySerde ? new SessionWindowedSerde(keySerde) : undefined;
    return new KTable<Windowed<K>, VA>(
      ctx,
      processorName,
      windowedSerde,
      materialized.value,
      store.name,
      sessionStoreValueGetter<K, VA>(store.name),
    );
  }
}
