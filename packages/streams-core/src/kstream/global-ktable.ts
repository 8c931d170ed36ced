/**
 * GlobalKTable: a table whose whole topic is read by every instance, outside the tasks. Streams
 * join it by any key derived from their records, with no repartitioning and no co-partitioning:
 * the usual home of small reference data (products, currencies, customers).
 */
import type { Serde } from '../serdes/serde.ts';
import type { TableValueGetterSupplier } from './internals/table-value-getter.ts';

export class GlobalKTable<K, V> {
  /** Name of the global store holding the table (queryable by that name). */
  readonly queryableStoreName: string;
  /** @internal */ readonly keySerde: Serde<K> | undefined;
  /** @internal */ readonly valueSerde: Serde<V> | undefined;
  /** @internal */ readonly getter: TableValueGetterSupplier<K, V>;

  /** @internal */
  constructor(
    storeName: string,
    keySerde: Serde<K> | undefined,
    valueSerde: Serde<V> | undefined,
    getter: TableValueGetterSupplier<K, V>,
  ) {
    this.queryableStoreName = storeName;
    this.keySerde = keySerde;
    this.valueSerde = valueSerde;
    this.getter = getter;
  }
}
