/**
 * KTable: a changelog stream seen as a table, the latest value per key. Operators forward
 * changes (new and old value) so that downstream aggregations and joins stay exact under updates
 * and deletes.
 */

import { compareBytes } from '@kafka-pattern/state-store';
import type { Serde } from '../serdes/serde.ts';
import { TopologyException } from '../topology/topology-errors.ts';
import type { BuilderContext } from './internals/builder-context.ts';
import { addForeignKeyJoin } from './internals/fk-join.ts';
import type { ForeignKeyJoinKind } from './internals/fk-join-processors.ts';
import { addSuppress } from './internals/suppress.ts';
import { tableRepartitionMapProcessor } from './internals/table-aggregate.ts';
import { tableMapProcessor, tableToStreamProcessor } from './internals/table-map.ts';
import {
  type TableJoinKind,
  tableJoinMergeProcessor,
  tableJoinSideProcessor,
  tableJoinValueGetter,
} from './internals/table-table-join.ts';
import {
  mappedValueGetter,
  storeValueGetter,
  type TableValueGetterSupplier,
} from './internals/table-value-getter.ts';
import { KGroupedTable } from './kgrouped-table.ts';
import { KStream } from './kstream.ts';
import type { ForeignKeyJoined, Grouped, Materialized, Named } from './options.ts';
import type { Suppressed } from './windows/suppressed.ts';

export class KTable<K, V> {
  /** @internal */ readonly ctx: BuilderContext;
  /** @internal */ readonly nodeName: string;
  /** @internal */ readonly keySerde: Serde<K> | undefined;
  /** @internal */ readonly valueSerde: Serde<V> | undefined;
  /** Name of the store holding this table, when it is materialized (queryable by that name). */
  readonly queryableStoreName: string | undefined;
  /** @internal */ readonly getter: TableValueGetterSupplier<K, V>;
  /** @internal */ readonly repartitionRequired: boolean;

  /** @internal */
  constructor(
    ctx: BuilderContext,
    nodeName: string,
    keySerde: Serde<K> | undefined,
    valueSerde: Serde<V> | undefined,
    storeName: string | undefined,
    getter: TableValueGetterSupplier<K, V>,
    repartitionRequired = false,
  ) {
    this.ctx = ctx;
    this.nodeName = nodeName;
    this.keySerde = keySerde;
    this.valueSerde = valueSerde;
    this.queryableStoreName = storeName;
    this.getter = getter;
    this.repartitionRequired = repartitionRequired;
  }

  /** @internal A table whose values live in a store of its own. */
  static materialized<K, V>(
    ctx: BuilderContext,
    nodeName: string,
    keySerde: Serde<K> | undefined,
    valueSerde: Serde<V> | undefined,
    storeName: string,
    repartitionRequired = false,
  ): KTable<K, V> {
    return new KTable(
      ctx,
      nodeName,
      keySerde,
      valueSerde,
      storeName,
      storeValueGetter<K, V>(storeName),
      repartitionRequired,
    );
  }

  /** @internal */
  valueGetterSupplier(): TableValueGetterSupplier<K, V> {
    return this.getter;
  }

  #derive<VR>(
    kind: string,
    map: (value: V, key: K) => VR | null,
    named: Named | undefined,
    materialized: Materialized<K, VR> | undefined,
    valueSerde: Serde<VR> | undefined,
  ): KTable<K, VR> {
    const name = this.ctx.name(named?.name, kind, this.nodeName);
    if (materialized?.name) {
      const keySerde = materialized.key ?? this.keySerde;
      const store = this.ctx.keyValueStore(
        materialized,
        `${kind}-STATE-STORE`,
        name,
        keySerde,
        materialized.value ?? valueSerde,
      );
      this.ctx.topology.addProcessor(name, tableMapProcessor(map, store.name), this.nodeName);
      this.ctx.topology.addStateStore(store.builder, name);
      return KTable.materialized(
        this.ctx,
        name,
        keySerde,
        materialized.value ?? valueSerde,
        store.name,
        this.repartitionRequired,
      );
    }
    this.ctx.topology.addProcessor(name, tableMapProcessor(map), this.nodeName);
    return new KTable(
      this.ctx,
      name,
      this.keySerde,
      valueSerde,
      undefined,
      mappedValueGetter(this.getter, map),
      this.repartitionRequired,
    );
  }

  /** Keeps rows whose value passes; a row that stops passing is deleted downstream. */
  filter(
    predicate: (key: K, value: V) => boolean,
    options?: Named & { materialized?: Materialized<K, V> },
  ): KTable<K, V> {
    return this.#derive(
      'KTABLE-FILTER',
      (v, k) => (predicate(k, v) ? v : null),
      options,
      options?.materialized,
      this.valueSerde,
    );
  }

  filterNot(
    predicate: (key: K, value: V) => boolean,
    options?: Named & { materialized?: Materialized<K, V> },
  ): KTable<K, V> {
    return this.#derive(
      'KTABLE-FILTER',
      (v, k) => (predicate(k, v) ? null : v),
      options,
      options?.materialized,
      this.valueSerde,
    );
  }

  mapValues<VR>(
    mapper: (value: V, key: K) => VR,
    options?: Named & { materialized?: Materialized<K, VR> },
  ): KTable<K, VR> {
    return this.#derive(
      'KTABLE-MAPVALUES',
      mapper,
      options,
      options?.materialized,
      options?.materialized?.value,
    );
  }

  /** The table's changes as a stream of new values; a deleted key appears with a null value. */
  toStream(named?: Named): KStream<K, V> {
    const name = this.ctx.addProcessor(
      'KTABLE-TOSTREAM',
      tableToStreamProcessor<K, V, K, V>(),
      [this.nodeName],
      named?.name,
    );
    return new KStream<K, V>(this.ctx, name, this.keySerde, this.valueSerde, this.repartitionRequired);
  }

  /**
   * Re-keys the table for an aggregation: `selector` returns `[newKey, newValue]`. Updates
   * retract the old mapping and add the new one; the result is always repartitioned.
   */
  groupBy<KR, VR>(
    selector: (key: K, value: V) => readonly [KR, VR],
    grouped: Grouped<KR, VR> = {},
  ): KGroupedTable<KR, VR> {
    const keySerde = grouped.key;
    const topicKeySerde = keySerde;
    const name = this.ctx.addProcessor(
      'KTABLE-SELECT',
      tableRepartitionMapProcessor(selector, (a: KR, b: KR) => {
        if (a === b) return true;
        if (!topicKeySerde) return false;
        const ab = topicKeySerde.serialize('', a);
        const bb = topicKeySerde.serialize('', b);
        return ab !== null && bb !== null && compareBytes(ab, bb) === 0;
      }),
      [this.nodeName],
      grouped.name ? `${grouped.name}-select` : undefined,
    );
    return new KGroupedTable<KR, VR>(this.ctx, name, keySerde, grouped.value, grouped.name);
  }

  /**
   * Holds back updates: `Suppressed.untilWindowCloses()` emits each window's final result once
   * its grace period has passed; `Suppressed.untilTimeLimit(ms, bufferConfig)` emits a key's
   * latest value once `ms` of stream time has passed since its first held-back update.
   */
  suppress(suppressed: Suppressed<K>): KTable<K, V> {
    const name = addSuppress(this.ctx, this.nodeName, this.keySerde, this.valueSerde, suppressed);
    return new KTable<K, V>(
      this.ctx,
      name,
      this.keySerde,
      this.valueSerde,
      undefined,
      this.getter,
      this.repartitionRequired,
    );
  }

  /**
   * Foreign-key join: each row joins the other table's row whose key `foreignKeyExtractor` reads
   * from its value (and key). Results are keyed by this table's key and follow updates of either side; a row
   * without a foreign key, or whose foreign key has no row, has no result.
   */
  join<KO, VO, VR>(
    other: KTable<KO, VO>,
    foreignKeyExtractor: (value: V, key: K) => KO | null | undefined,
    joiner: (value: V, otherValue: VO) => VR,
    options?: ForeignKeyJoined<K, V, KO, VO, VR>,
  ): KTable<K, VR>;
  /** Inner join with another table on the key: a row exists where both sides have one. */
  join<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V, otherValue: VO) => VR,
    options?: Named & { materialized?: Materialized<K, VR> },
  ): KTable<K, VR>;
  join(
    other: KTable<any, any>,
    joinerOrExtractor: (value: V, otherValue?: any) => any,
    joinerOrOptions?: unknown,
    options?: ForeignKeyJoined<K, V, any, any, any>,
  ): KTable<K, any> {
    return this.#keyOrForeignKeyJoin('inner', other, joinerOrExtractor, joinerOrOptions, options);
  }

  /**
   * Foreign-key left join: every row of this table, joined with the other table's row whose key
   * `foreignKeyExtractor` reads from its value (and key), or with null when there is none.
   */
  leftJoin<KO, VO, VR>(
    other: KTable<KO, VO>,
    foreignKeyExtractor: (value: V, key: K) => KO | null | undefined,
    joiner: (value: V, otherValue: VO | null) => VR,
    options?: ForeignKeyJoined<K, V, KO, VO, VR>,
  ): KTable<K, VR>;
  /** Left join: every row of this table, with the other side's value or null. */
  leftJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V, otherValue: VO | null) => VR,
    options?: Named & { materialized?: Materialized<K, VR> },
  ): KTable<K, VR>;
  leftJoin(
    other: KTable<any, any>,
    joinerOrExtractor: (value: V, otherValue?: any) => any,
    joinerOrOptions?: unknown,
    options?: ForeignKeyJoined<K, V, any, any, any>,
  ): KTable<K, any> {
    return this.#keyOrForeignKeyJoin('left', other, joinerOrExtractor, joinerOrOptions, options);
  }

  #foreignKeyJoin<KO, VO, VR>(
    kind: ForeignKeyJoinKind,
    other: KTable<KO, VO>,
    foreignKeyExtractor: (value: V, key: K) => KO | null | undefined,
    joiner: (value: V, otherValue: VO | null) => VR,
    options: ForeignKeyJoined<K, V, KO, VO, VR> | undefined,
  ): KTable<K, VR> {
    const joined = addForeignKeyJoin(kind, this, other, foreignKeyExtractor, joiner, options);
    return KTable.materialized(
      this.ctx,
      joined.nodeName,
      joined.keySerde,
      joined.valueSerde,
      joined.storeName,
    );
  }

  /** Outer join: a row wherever either side has one; the missing side is null. */
  outerJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V | null, otherValue: VO | null) => VR,
    options?: Named & { materialized?: Materialized<K, VR> },
  ): KTable<K, VR> {
    return this.#tableJoin('outer', other, joiner, options);
  }

  /** A third argument that is a function makes it a foreign-key join: the second is then the extractor. */
  #keyOrForeignKeyJoin(
    kind: 'inner' | 'left',
    other: KTable<any, any>,
    joinerOrExtractor: (value: V, otherValue?: any) => any,
    joinerOrOptions: unknown,
    options: ForeignKeyJoined<K, V, any, any, any> | undefined,
  ): KTable<K, any> {
    if (typeof joinerOrOptions === 'function') {
      return this.#foreignKeyJoin(
        kind,
        other,
        joinerOrExtractor,
        joinerOrOptions as (v: V, o: unknown) => unknown,
        options,
      );
    }
    return this.#tableJoin(
      kind,
      other,
      joinerOrExtractor as (v: V | null, o: unknown) => unknown,
      joinerOrOptions as (Named & { materialized?: Materialized<K, unknown> }) | undefined,
    );
  }

  #tableJoin<VO, VR>(
    kind: TableJoinKind,
    other: KTable<K, VO>,
    joiner: (v: V | null, o: VO | null) => VR,
    options: (Named & { materialized?: Materialized<K, VR> }) | undefined,
  ): KTable<K, VR> {
    if (other.ctx !== this.ctx)
      throw new TopologyException('Tables from two different StreamsBuilders cannot be joined');
    const kindName =
      kind === 'inner' ? 'KTABLE-JOINTHIS' : kind === 'left' ? 'KTABLE-LEFTJOINTHIS' : 'KTABLE-OUTERTHIS';
    const otherKindName = kindName.replace('THIS', 'OTHER');
    const base = options?.name;
    const thisName = this.ctx.name(base ? `${base}-join-this` : undefined, kindName, this.nodeName);
    const otherName = this.ctx.name(base ? `${base}-join-other` : undefined, otherKindName, other.nodeName);
    this.ctx.topology.addProcessor(
      thisName,
      tableJoinSideProcessor<K, V, VO, VR>(kind, true, other.getter, (t, o) => joiner(t, o)),
      this.nodeName,
    );
    this.ctx.topology.addProcessor(
      otherName,
      tableJoinSideProcessor<K, VO, V, VR>(kind, false, this.getter, (t, o) => joiner(o, t)),
      other.nodeName,
    );
    for (const s of other.getter.storeNames) this.ctx.topology.connectProcessorAndStateStores(s, thisName);
    for (const s of this.getter.storeNames) this.ctx.topology.connectProcessorAndStateStores(s, otherName);
    const mergeName = this.ctx.name(base, 'KTABLE-MERGE', `${thisName}+${otherName}`);
    const materialized = options?.materialized;
    const keySerde = materialized?.key ?? this.keySerde ?? other.keySerde;
    this.ctx.requireCopartition(this.nodeName, other.nodeName);
    if (materialized?.name) {
      const store = this.ctx.keyValueStore(
        materialized,
        'KTABLE-MERGE-STATE-STORE',
        mergeName,
        keySerde,
        materialized.value,
      );
      this.ctx.topology.addProcessor(mergeName, tableJoinMergeProcessor(store.name), thisName, otherName);
      this.ctx.topology.addStateStore(store.builder, mergeName);
      return KTable.materialized(this.ctx, mergeName, keySerde, materialized.value, store.name);
    }
    this.ctx.topology.addProcessor(mergeName, tableJoinMergeProcessor(undefined), thisName, otherName);
    return new KTable<K, VR>(
      this.ctx,
      mergeName,
      keySerde,
      materialized?.value,
      undefined,
      tableJoinValueGetter(kind, this.getter, other.getter, joiner),
    );
  }
}
