/**
 * One store across the tasks of this instance: a store exists once per task of its
 * sub-topology, and a view reads all the copies this instance holds as one store.
 *
 * The copies are looked up afresh on every call, so a view stays valid across rebalances. A key
 * is found in the copy of its partition (murmur2 over the sub-topology's task count, as the
 * producer placed the key); answers of several copies are merged in key-byte order.
 */
import { PlainValueView, type ReadOnlyKeyValueStore } from '../state/key-value-store.ts';
import type { ValueAndTimestamp } from '../state/value-and-timestamp.ts';
import { PlainWindowValueView, type ReadOnlyWindowStore } from '../state/window-store.ts';
import type { QueryableStoreInfo, StoreSource } from './store-views.ts';

/** Where the copies of a store are, and which partition a key belongs to. */
export interface LocalStoreLookup {
  /** The local typed stores of a store, by partition. Throws while the instance is not RUNNING. */
  localStores(info: QueryableStoreInfo): Map<number, unknown>;
  partitionOf(info: QueryableStoreInfo, key: unknown): number;
}

/** The typed stores of one store name on this instance, looked up afresh on every call. */
export class LocalStores implements StoreSource {
  readonly info: QueryableStoreInfo;
  readonly #lookup: LocalStoreLookup;

  constructor(lookup: LocalStoreLookup, info: QueryableStoreInfo) {
    this.#lookup = lookup;
    this.info = info;
  }

  /** The store holding `key`, or undefined when its partition is not local. */
  forKey<S>(key: unknown): S | undefined {
    const stores = this.#lookup.localStores(this.info);
    return this.#plain(stores.get(this.#lookup.partitionOf(this.info, key))) as S | undefined;
  }

  all<S>(): S[] {
    const stores = this.#lookup.localStores(this.info);
    return [...stores.keys()].sort((a, b) => a - b).map((p) => this.#plain(stores.get(p)) as S);
  }

  keyBytes(key: unknown): Buffer {
    return this.info.keySerde.serialize(this.info.serdeTopic, key) ?? Buffer.alloc(0);
  }

  /** Timestamped stores are shown with plain values, as the test driver shows them. */
  #plain(store: unknown): unknown {
    if (store === undefined) return undefined;
    if (this.info.kind === 'timestampedKeyValue')
      return new PlainValueView(store as ReadOnlyKeyValueStore<unknown, ValueAndTimestamp<unknown>>);
    if (this.info.kind === 'timestampedWindow')
      return new PlainWindowValueView(store as ReadOnlyWindowStore<unknown, ValueAndTimestamp<unknown>>);
    return store;
  }

  /**
   * Merges per-task answers into one in key-byte order (reversed when asked); entries of one
   * key keep the order their task gave them.
   */
  merge<E>(lists: E[][], keyOf: (entry: E) => unknown, reverse = false): E[] {
    if (lists.length === 1) return lists[0]!;
    const tagged: Array<{ bytes: Buffer; entry: E; list: number; index: number }> = [];
    for (let list = 0; list < lists.length; list++) {
      const entries = lists[list]!;
      for (let index = 0; index < entries.length; index++) {
        const entry = entries[index]!;
        tagged.push({ bytes: this.keyBytes(keyOf(entry)), entry, list, index });
      }
    }
    tagged.sort((a, b) => {
      const c = Buffer.compare(a.bytes, b.bytes);
      if (c !== 0) return reverse ? -c : c;
      return a.list - b.list || a.index - b.index;
    });
    return tagged.map((t) => t.entry);
  }
}
