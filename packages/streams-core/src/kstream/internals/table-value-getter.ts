/**
 * How a join or a downstream table reads a table's current value for a key. A materialized table
 * reads its store; a filtered or mapped table that is not materialized reads its parent's value
 * and applies its own function, as Kafka Streams' value getters do.
 */
import type { ProcessorContext } from '../../processor/api/processor.ts';
import type { KeyValueStore } from '../../state/key-value-store.ts';
import type { ValueAndTimestamp } from '../../state/value-and-timestamp.ts';

export interface TableValueGetter<K, V> {
  get(key: K): ValueAndTimestamp<V> | undefined;
}

export interface TableValueGetterSupplier<K, V> {
  /** Stores the reading processor must be connected to. */
  readonly storeNames: readonly string[];
  init(context: ProcessorContext<any, any>): TableValueGetter<K, V>;
}

export function storeValueGetter<K, V>(storeName: string): TableValueGetterSupplier<K, V> {
  return {
    storeNames: [storeName],
    init(context) {
      const store = context.getStateStore<KeyValueStore<K, ValueAndTimestamp<V>>>(storeName);
      return { get: (key) => store.get(key) };
    },
  };
}

export function mappedValueGetter<K, V, VR>(
  parent: TableValueGetterSupplier<K, V>,
  map: (value: V, key: K) => VR | null,
): TableValueGetterSupplier<K, VR> {
  return {
    storeNames: parent.storeNames,
    init(context) {
      const getter = parent.init(context);
      return {
        get(key) {
          const vt = getter.get(key);
          if (vt === undefined) return undefined;
          const value = map(vt.value, key);
          return value === null || value === undefined ? undefined : { value, timestamp: vt.timestamp };
        },
      };
    },
  };
}
