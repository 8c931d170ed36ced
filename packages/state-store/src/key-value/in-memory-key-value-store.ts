// InMemoryKeyValueStore: a key-value store held in process memory, ordered by key bytes.
// Not persistent: after a restart it is rebuilt from its changelog.

import { compareBytes, type KeyValueBytes, prefixUpperBound } from '../bytes.ts';
import { SortedMap } from '../internals/sorted-map.ts';
import { storeClosedError } from '../store.ts';
import type { KeyValueBytesStore } from './key-value-bytes-store.ts';

/**
 * Keys and values are kept by reference on put (serializers hand over fresh buffers, and
 * copying every record would tax the hot path): callers must not mutate a buffer after
 * passing it in, nor mutate buffers returned by reads. Restored records are copied, because
 * they usually are views into a large fetch response that would otherwise stay alive.
 */
export class InMemoryKeyValueStore implements KeyValueBytesStore {
  readonly name: string;
  readonly persistent = false;
  #open = true;
  readonly #map = new SortedMap<Buffer, Buffer>(compareBytes);

  constructor(name: string) {
    this.name = name;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  get(key: Buffer): Buffer | undefined {
    this.#check();
    return this.#map.get(key);
  }

  put(key: Buffer, value: Buffer | null): void {
    this.#check();
    if (value === null) this.#map.delete(key);
    else this.#map.set(key, value);
  }

  putIfAbsent(key: Buffer, value: Buffer): Buffer | undefined {
    this.#check();
    const existing = this.#map.get(key);
    if (existing === undefined) this.#map.set(key, value);
    return existing;
  }

  putAll(entries: ReadonlyArray<readonly [Buffer, Buffer | null]>): void {
    for (const [key, value] of entries) this.put(key, value);
  }

  delete(key: Buffer): Buffer | undefined {
    this.#check();
    return this.#map.delete(key);
  }

  range(from: Buffer | null, to: Buffer | null): Iterable<KeyValueBytes> {
    this.#check();
    return this.#iterate(from ?? undefined, true, to ?? undefined, true, false);
  }

  reverseRange(from: Buffer | null, to: Buffer | null): Iterable<KeyValueBytes> {
    this.#check();
    return this.#iterate(from ?? undefined, true, to ?? undefined, true, true);
  }

  prefixScan(prefix: Buffer): Iterable<KeyValueBytes> {
    this.#check();
    return this.#iterate(prefix, true, prefixUpperBound(prefix) ?? undefined, false, false);
  }

  all(): Iterable<KeyValueBytes> {
    this.#check();
    return this.#iterate(undefined, true, undefined, true, false);
  }

  reverseAll(): Iterable<KeyValueBytes> {
    this.#check();
    return this.#iterate(undefined, true, undefined, true, true);
  }

  approximateNumEntries(): number {
    this.#check();
    return this.#map.size;
  }

  restoreBatch(records: Iterable<{ key: Buffer; value: Buffer | null }>): void {
    this.#check();
    for (const { key, value } of records) {
      if (value === null) this.#map.delete(key);
      else this.#map.set(Buffer.from(key), Buffer.from(value));
    }
  }

  flush(): void {
    // Nothing to make durable: the changelog is this store's durability.
  }

  close(): void {
    this.#open = false;
    this.#map.clear();
  }

  *#iterate(
    from: Buffer | undefined,
    fromInclusive: boolean,
    to: Buffer | undefined,
    toInclusive: boolean,
    reverse: boolean,
  ): Generator<KeyValueBytes> {
    for (const [key, value] of this.#map.entries({ from, fromInclusive, to, toInclusive, reverse })) {
      yield { key, value };
    }
  }

  #check(): void {
    if (!this.#open) throw storeClosedError(this.name);
  }
}
