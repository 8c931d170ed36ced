/**
 * A table re-grouped by a new key. Its aggregations add each new value and subtract the value it
 * replaced, so the result stays exact when rows change or are deleted.
 */

import type { Serde } from '../serdes/serde.ts';
import { Serdes } from '../serdes/serdes.ts';
import { TopologyException } from '../topology/topology-errors.ts';
import type { BuilderContext } from './internals/builder-context.ts';
import { changeSerde } from './internals/change-serde.ts';
import { tableAggregateProcessor } from './internals/table-aggregate.ts';
import { KTable } from './ktable.ts';
import type { Materialized, Named } from './options.ts';

export class KGroupedTable<K, V> {
  /** @internal */ readonly ctx: BuilderContext;
  /** @internal */ readonly nodeName: string;
  /** @internal */ readonly keySerde: Serde<K> | undefined;
  /** @internal */ readonly valueSerde: Serde<V> | undefined;
  /** @internal */ readonly groupedName: string | undefined;

  /** @internal */
  constructor(
    ctx: BuilderContext,
    nodeName: string,
    keySerde: Serde<K> | undefined,
    valueSerde: Serde<V> | undefined,
    groupedName: string | undefined,
  ) {
    this.ctx = ctx;
    this.nodeName = nodeName;
    this.keySerde = keySerde;
    this.valueSerde = valueSerde;
    this.groupedName = groupedName;
  }

  count(materialized: Materialized<K, number> & Named = {}): KTable<K, number> {
    return this.#aggregate(
      'KTABLE-AGGREGATE',
      () => 0,
      (_k, _v, n: number) => n + 1,
      (_k, _v, n: number) => n - 1,
      false,
      {
        ...materialized,
        value: materialized.value ?? Serdes.Long(),
      },
    );
  }

  reduce(
    adder: (aggregate: V, value: V) => V,
    subtractor: (aggregate: V, value: V) => V,
    materialized: Materialized<K, V> & Named = {},
  ): KTable<K, V> {
    return this.#aggregate(
      'KTABLE-REDUCE',
      () => undefined as unknown as V,
      (_k, v, agg: V) => adder(agg, v),
      (_k, v, agg: V) => subtractor(agg, v),
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
    adder: (key: K, value: V, aggregate: VA) => VA,
    subtractor: (key: K, value: V, aggregate: VA) => VA,
    materialized: Materialized<K, VA> & Named = {},
  ): KTable<K, VA> {
    return this.#aggregate('KTABLE-AGGREGATE', initializer, adder, subtractor, false, materialized);
  }

  #aggregate<VA>(
    kind: string,
    initializer: () => VA,
    adder: (key: K, value: V, aggregate: VA) => VA,
    subtractor: (key: K, value: V, aggregate: VA) => VA,
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
    if (!this.valueSerde) {
      throw new TopologyException(
        `KTable.groupBy before ${kind} needs a value serde for its repartition topic: pass { value: Serdes.X() } to groupBy`,
      );
    }
    const source = this.ctx.repartition(
      this.nodeName,
      this.groupedName ?? store.name,
      keySerde,
      changeSerde(this.valueSerde),
    );
    this.ctx.topology.addProcessor(
      processorName,
      tableAggregateProcessor(store.name, initializer, adder, subtractor, reduce),
      source,
    );
    this.ctx.topology.addStateStore(store.builder, processorName);
    return KTable.materialized(this.ctx, processorName, keySerde, materialized.value, store.name);
  }
}
