import { describe, expect, it } from 'vitest';
import { CACHE_ENTRY_OVERHEAD_BYTES, CachingKeyValueStore } from '../src/cache/record-cache.ts';
import { InMemoryKeyValueStore } from '../src/key-value/in-memory-key-value-store.ts';
import { describeKeyValueStore } from './suites/key-value-store-suite.ts';
import { backends, hex, s } from './support/backends.ts';

type Flushed = [string, string | null, string | null];

function cached(maxBytes = 1 << 20) {
  const inner = new InMemoryKeyValueStore('kv');
  const flushed: Flushed[] = [];
  const store = new CachingKeyValueStore(inner, {
    maxBytes,
    onFlush: (key, newValue, oldValue) =>
      flushed.push([key.toString(), newValue?.toString() ?? null, oldValue?.toString() ?? null]),
  });
  return { inner, store, flushed };
}

describe('CachingKeyValueStore', () => {
  it('keeps writes in the cache, visible to reads, until flush', () => {
    const { inner, store, flushed } = cached();
    store.put(s('a'), s('1'));
    expect(store.get(s('a'))?.toString()).toBe('1');
    expect(inner.get(s('a'))).toBeUndefined();
    expect(flushed).toEqual([]);
    store.flush();
    expect(inner.get(s('a'))?.toString()).toBe('1');
    expect(flushed).toEqual([['a', '1', null]]);
  });

  it('folds repeated updates of a key into one write with the pre-flush old value', () => {
    const { inner, store, flushed } = cached();
    inner.put(s('a'), s('0'));
    for (const v of ['1', '2', '3']) store.put(s('a'), s(v));
    store.delete(s('b'));
    store.put(s('b'), s('x'));
    store.put(s('b'), null); // created and deleted between flushes: nothing to tell anyone
    store.flush();
    expect(flushed).toEqual([['a', '3', '0']]);
    store.delete(s('a'));
    store.flush();
    expect(flushed.at(-1)).toEqual(['a', null, '3']);
    expect(inner.get(s('a'))).toBeUndefined();
    store.flush();
    expect(flushed).toHaveLength(2);
  });

  it('flushes in order of last write', () => {
    const { store, flushed } = cached();
    store.put(s('a'), s('1'));
    store.put(s('b'), s('1'));
    store.put(s('c'), s('1'));
    store.put(s('a'), s('2'));
    store.get(s('b')); // a read does not reorder writes
    store.flush();
    expect(flushed.map(([k]) => k)).toEqual(['b', 'c', 'a']);
  });

  it('evicts least recently used entries when over maxBytes, flushing dirty ones', () => {
    const entry = 1 + 1 + CACHE_ENTRY_OVERHEAD_BYTES;
    const { inner, store, flushed } = cached(3 * entry);
    store.put(s('a'), s('1'));
    store.put(s('b'), s('1'));
    store.put(s('c'), s('1'));
    store.get(s('a')); // a becomes most recently used: b is now the eldest
    expect(flushed).toEqual([]);
    store.put(s('d'), s('1'));
    expect(flushed).toEqual([['b', '1', null]]);
    expect(inner.get(s('b'))?.toString()).toBe('1');
    expect(store.cachedBytes).toBeLessThanOrEqual(3 * entry);
    store.put(s('e'), s('1'));
    expect(flushed.map(([k]) => k)).toEqual(['b', 'c']);
    expect(store.get(s('b'))?.toString()).toBe('1'); // read back from the inner store
    store.flush();
    expect(flushed.map(([k]) => k).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('with maxBytes 0 every write goes straight through', () => {
    const { inner, store, flushed } = cached(0);
    store.put(s('a'), s('1'));
    store.put(s('a'), s('2'));
    expect(inner.get(s('a'))?.toString()).toBe('2');
    expect(flushed).toEqual([
      ['a', '1', null],
      ['a', '2', '1'],
    ]);
  });

  it('merges cached and stored entries in ranges', () => {
    const { inner, store } = cached();
    for (const k of ['a', 'c', 'e', 'g']) inner.put(s(k), s('stored'));
    store.put(s('b'), s('cached'));
    store.put(s('c'), s('cached'));
    store.put(s('e'), null);
    store.put(s('h'), s('cached'));
    const show = (it: Iterable<{ key: Buffer; value: Buffer }>) => [...it].map((e) => `${e.key}=${e.value}`);
    expect(show(store.all())).toEqual(['a=stored', 'b=cached', 'c=cached', 'g=stored', 'h=cached']);
    expect(show(store.reverseAll())).toEqual(['h=cached', 'g=stored', 'c=cached', 'b=cached', 'a=stored']);
    expect(show(store.range(s('b'), s('g')))).toEqual(['b=cached', 'c=cached', 'g=stored']);
    expect(show(store.reverseRange(s('c'), s('h')))).toEqual(['h=cached', 'g=stored', 'c=cached']);
    store.put(s('ca'), s('cached'));
    expect(show(store.prefixScan(s('c')))).toEqual(['c=cached', 'ca=cached']);
    expect(hex(store.get(s('a')) as Buffer)).toBe(hex(s('stored')));
  });

  it('clearCache discards dirty entries without writing them', () => {
    const { inner, store, flushed } = cached();
    store.put(s('a'), s('1'));
    store.clearCache();
    store.flush();
    expect(flushed).toEqual([]);
    expect(inner.get(s('a'))).toBeUndefined();
    expect(store.get(s('a'))).toBeUndefined();
  });

  it('restoration bypasses the cache and drops stale cached copies', () => {
    const { inner, store, flushed } = cached();
    store.get(s('a')); // caches "absent"
    store.restoreBatch([{ key: s('a'), value: s('restored') }]);
    expect(store.get(s('a'))?.toString()).toBe('restored');
    expect(inner.get(s('a'))?.toString()).toBe('restored');
    expect(flushed).toEqual([]);
  });
});

// The cache must still be a correct key-value store, over either backend, with or without room.
for (const backend of backends) {
  for (const maxBytes of [0, 200, 1 << 20]) {
    describeKeyValueStore(`cached (${maxBytes} bytes) ${backend.name}`, () => {
      const opened = backend.keyValue();
      return { store: new CachingKeyValueStore(opened.store, { maxBytes }), cleanup: opened.cleanup };
    });
  }
}
