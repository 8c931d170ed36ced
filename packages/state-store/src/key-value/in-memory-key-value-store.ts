// InMemoryKeyValueStore: a key-value store held in process memory, ordered by key bytes.
// Not persistent: after a restart it is rebuilt from its changelog.

import { bytesId, compareIds, type KeyValueBytes, prefixUpperBound } from '../bytes.ts';
import { SortedMap } from '../internals/sorted-map.ts';
import { storeClosedError } from '../store.ts';
import type { KeyValueBytesStore } from './key-value-bytes-store.ts';

interface Entry {
  key: Buffer;
  value: Buffer;
}

/**
 * A hash map serves point reads and updates of existing keys in O(1); a sorted map of the same
 * entries, touched only when a key appears or disappears, serves ordered iteration.
 *
 * Keys and values are kept by reference on put (serializers hand over fresh buffers, and
 * copying every record would tax the hot path): callers must not mutate a buffer after
 * passing it in, nor mutate buffers returned by reads. Restored records are copied, because
 * they usually are views into a large fetch response that would otherwise stay alive.
 */
export class InMemoryKeyValueStore implements KeyValueBytesStore {
  readonly name: string;
  readonly persistent = false;
  #open = true;
  readonly #entries = new Map<string, Entry>();
  readonly #order = new SortedMap<string, Entry>(compareIds);

  constructor(name: string) {
    this.name = name;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  get(key: Buffer): Buffer | undefined {
    this.#check();
    return this.#entries.get(bytesId(key))?.value;
  }

  put(key: Buffer, value: Buffer | null): void {
    this.#check();
    this.#put(key, value);
  }

  putIfAbsent(key: Buffer, value: Buffer): Buffer | undefined {
    this.#check();
    const id = bytesId(key);
    const existing = this.#entries.get(id);
    if (existing !== undefined) return existing.value;
    const entry = { key, value };
    this.#entries.set(id, entry);
    this.#order.set(id, entry);
    return undefined;
  }

  putAll(entries: ReadonlyArray<readonly [Buffer, Buffer | null]>): void {
    this.#check();
    for (const [key, value] of entries) this.#put(key, value);
  }

  delete(key: Buffer): Buffer | undefined {
    this.#check();
    const id = bytesId(key);
    const existing = this.#entries.get(id);
    if (existing === undefined) return undefined;
    this.#entries.delete(id);
    this.#order.delete(id);
    return existing.value;
  }

  range(from: Buffer | null, to: Buffer | null): Iterable<KeyValueBytes> {
    this.#check();
    return this.#iterate(from, true, to, true, false);
  }

  reverseRange(from: Buffer | null, to: Buffer | null): Iterable<KeyValueBytes> {
    this.#check();
    return this.#iterate(from, true, to, true, true);
  }

  prefixScan(prefix: Buffer): Iterable<KeyValueBytes> {
    this.#check();
    return this.#iterate(prefix, true, prefixUpperBound(prefix), false, false);
  }

  all(): Iterable<KeyValueBytes> {
    this.#check();
    return this.#iterate(null, true, null, true, false);
  }

  reverseAll(): Iterable<KeyValueBytes> {
    this.#check();
    return this.#iterate(null, true, null, true, true);
  }

  approximateNumEntries(): number {
    this.#check();
    return this.#entries.size;
  }

  restoreBatch(records: Iterable<{ key: Buffer; value: Buffer | null }>): void {
    this.#check();
    for (const { key, value } of records)
      this.#put(Buffer.from(key), value === null ? null : Buffer.from(value));
  }

  flush(): void {
    // Nothing to make durable: the changelog is this store's durability.
  }

  close(): void {
    this.#open = false;
    this.#entries.clear();
    this.#order.clear();
  }

  #put(key: Buffer, value: Buffer | null): void {
    const id = bytesId(key);
    if (value === null) {
      if (this.#entries.delete(id)) this.#order.delete(id);
      return;
    }
    const existing = this.#entries.get(id);
    if (existing !== undefined) {
      existing.value = value;
      return;
    }
    const entry = { key, value };
    this.#entries.set(id, entry);
    this.#order.set(id, entry);
  }

  *#iterate(
    from: Buffer | null,
    fromInclusive: boolean,
    to: Buffer | null,
    toInclusive: boolean,
    reverse: boolean,
  ): Generator<KeyValueBytes> {
    const entries = this.#order.entries({
      from: from === null ? undefined : bytesId(from),
      fromInclusive,
      to: to === null ? undefined : bytesId(to),
      toInclusive,
      reverse,
    });
    // A fresh object per entry: the stored entry is updated in place by later puts.
    for (const [, entry] of entries) yield { key: entry.key, value: entry.value };
  }

  #check(): void {
    if (!this.#open) throw storeClosedError(this.name);
  }
}
