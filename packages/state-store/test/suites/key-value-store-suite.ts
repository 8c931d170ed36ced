// The behaviour every KeyValueBytesStore must have, whatever the backend.

import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareBytes } from '../../src/bytes.ts';
import type { KeyValueBytesStore } from '../../src/key-value/key-value-bytes-store.ts';
import { b, hex, type Opened, s } from '../support/backends.ts';

const keys = (entries: Iterable<{ key: Buffer }>): string[] => [...entries].map((e) => hex(e.key));

export function describeKeyValueStore(name: string, open: () => Opened<KeyValueBytesStore>): void {
  describe(`${name} key-value store`, () => {
    let opened: Opened<KeyValueBytesStore>;
    let store: KeyValueBytesStore;
    beforeEach(() => {
      opened = open();
      store = opened.store;
    });
    afterEach(() => opened.cleanup());

    it('gets, overwrites and deletes', () => {
      expect(store.get(s('a'))).toBeUndefined();
      store.put(s('a'), s('1'));
      store.put(s('a'), s('2'));
      expect(store.get(s('a'))).toEqual(s('2'));
      expect(store.delete(s('a'))).toEqual(s('2'));
      expect(store.delete(s('a'))).toBeUndefined();
      expect(store.get(s('a'))).toBeUndefined();
    });

    it('treats a null value as a tombstone', () => {
      store.put(s('a'), s('1'));
      store.put(s('a'), null);
      store.put(s('never'), null);
      expect(store.get(s('a'))).toBeUndefined();
      expect(keys(store.all())).toEqual([]);
    });

    it('putIfAbsent keeps the existing value and returns it', () => {
      expect(store.putIfAbsent(s('a'), s('1'))).toBeUndefined();
      expect(store.putIfAbsent(s('a'), s('2'))).toEqual(s('1'));
      expect(store.get(s('a'))).toEqual(s('1'));
    });

    it('putAll applies puts and deletes in order', () => {
      store.put(s('x'), s('0'));
      store.putAll([
        [s('a'), s('1')],
        [s('b'), s('2')],
        [s('a'), s('3')],
        [s('x'), null],
      ]);
      expect([...store.all()].map((e) => [e.key.toString(), e.value.toString()])).toEqual([
        ['a', '3'],
        ['b', '2'],
      ]);
    });

    it('orders keys by unsigned bytes, shorter prefix first', () => {
      const input = [b(0xff), b(0x80), b(0x01, 0x00), b(), b(0x7f), b(0x00), b(0x01), b(0x00, 0x00)];
      for (const key of input) store.put(key, s('v'));
      const expected = [...input].sort(compareBytes).map(hex);
      expect(expected).toEqual(['', '00', '0000', '01', '0100', '7f', '80', 'ff']);
      expect(keys(store.all())).toEqual(expected);
      expect(keys(store.reverseAll())).toEqual([...expected].reverse());
      expect(store.get(b())).toEqual(s('v'));
    });

    it('range bounds are inclusive, null is open, reverse mirrors', () => {
      for (const k of ['a', 'b', 'c', 'd', 'e']) store.put(s(k), s(k.toUpperCase()));
      const str = (entries: Iterable<{ key: Buffer }>) => [...entries].map((e) => e.key.toString()).join('');
      expect(str(store.range(s('b'), s('d')))).toBe('bcd');
      expect(str(store.range(s('bb'), s('d')))).toBe('cd');
      expect(str(store.range(null, s('b')))).toBe('ab');
      expect(str(store.range(s('d'), null))).toBe('de');
      expect(str(store.range(null, null))).toBe('abcde');
      expect(str(store.range(s('c'), s('c')))).toBe('c');
      expect(str(store.range(s('d'), s('b')))).toBe('');
      expect(str(store.reverseRange(s('b'), s('d')))).toBe('dcb');
      expect(str(store.reverseRange(null, s('b')))).toBe('ba');
      expect(str(store.reverseRange(s('d'), null))).toBe('ed');
      expect([...store.range(s('c'), s('c'))][0]?.value).toEqual(s('C'));
    });

    it('prefix scan returns exactly the keys with that prefix', () => {
      for (const key of [
        b(0x01),
        b(0x01, 0x00),
        b(0x01, 0xff),
        b(0x01, 0xff, 0xff),
        b(0x02),
        b(0x00, 0xff),
        b(0xff),
        b(0xff, 0x01),
      ]) {
        store.put(key, s('v'));
      }
      expect(keys(store.prefixScan(b(0x01)))).toEqual(['01', '0100', '01ff', '01ffff']);
      expect(keys(store.prefixScan(b(0x01, 0xff)))).toEqual(['01ff', '01ffff']);
      expect(keys(store.prefixScan(b(0xff)))).toEqual(['ff', 'ff01']);
      expect(keys(store.prefixScan(b()))).toHaveLength(8);
      expect(keys(store.prefixScan(b(0x03)))).toEqual([]);
    });

    it('iterates lazily across many keys and tolerates writes while iterating', () => {
      const n = 1_500;
      for (let i = 0; i < n; i++) store.put(Buffer.from(i.toString(16).padStart(4, '0')), s(String(i)));
      let seen = 0;
      for (const entry of store.all()) {
        seen++;
        // Deleting what was just returned must not disturb the rest of the scan.
        store.delete(entry.key);
      }
      expect(seen).toBe(n);
      expect(store.approximateNumEntries()).toBe(0);
      for (let i = 0; i < n; i++) store.put(Buffer.from(i.toString(16).padStart(4, '0')), s(String(i)));
      const reversed = keys(store.reverseAll());
      expect(reversed).toHaveLength(n);
      expect(reversed[0]).toBe(hex(Buffer.from((n - 1).toString(16).padStart(4, '0'))));
    });

    it('counts entries', () => {
      for (let i = 0; i < 10; i++) store.put(b(i), s('v'));
      store.delete(b(3));
      expect(store.approximateNumEntries()).toBe(9);
    });

    it('restores a batch of changelog records including tombstones', () => {
      store.put(s('gone'), s('1'));
      store.restoreBatch([
        { key: s('a'), value: s('1') },
        { key: s('gone'), value: null },
        { key: s('a'), value: s('2') },
        { key: s('b'), value: s('3') },
      ]);
      expect([...store.all()].map((e) => `${e.key}=${e.value}`)).toEqual(['a=2', 'b=3']);
    });

    it('refuses use after close', () => {
      store.close();
      expect(store.isOpen).toBe(false);
      expect(() => store.get(s('a'))).toThrow(/closed/);
    });

    it('behaves like a sorted map on random operation sequences', () => {
      const key = fc.uint8Array({ maxLength: 3 }).map((k) => Buffer.from(k));
      const value = fc.uint8Array({ maxLength: 4 }).map((v) => Buffer.from(v));
      const op = fc.oneof(
        fc.record({ op: fc.constant('put' as const), key, value: fc.option(value, { nil: null }) }),
        fc.record({ op: fc.constant('putIfAbsent' as const), key, value }),
        fc.record({ op: fc.constant('delete' as const), key }),
        fc.record({ op: fc.constant('get' as const), key }),
        fc.record({
          op: fc.constant('range' as const),
          from: fc.option(key, { nil: null }),
          to: fc.option(key, { nil: null }),
          reverse: fc.boolean(),
        }),
        fc.record({ op: fc.constant('prefix' as const), key }),
      );
      fc.assert(
        fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
          for (const entry of [...store.all()]) store.delete(entry.key);
          const model = new Map<string, Buffer>();
          const sortedModel = () =>
            [...model.entries()].sort(([a], [c]) =>
              compareBytes(Buffer.from(a, 'hex'), Buffer.from(c, 'hex')),
            );
          const show = (entries: Iterable<{ key: Buffer; value: Buffer }>) =>
            [...entries].map((e) => `${hex(e.key)}:${hex(e.value)}`);
          for (const o of ops) {
            switch (o.op) {
              case 'put':
                store.put(o.key, o.value);
                if (o.value === null) model.delete(hex(o.key));
                else model.set(hex(o.key), o.value);
                break;
              case 'putIfAbsent': {
                const expected = model.get(hex(o.key));
                expect(store.putIfAbsent(o.key, o.value)).toEqual(expected);
                if (expected === undefined) model.set(hex(o.key), o.value);
                break;
              }
              case 'delete':
                expect(store.delete(o.key)).toEqual(model.get(hex(o.key)));
                model.delete(hex(o.key));
                break;
              case 'get':
                expect(store.get(o.key)).toEqual(model.get(hex(o.key)));
                break;
              case 'range': {
                const expected = sortedModel()
                  .filter(
                    ([k]) =>
                      (o.from === null || compareBytes(Buffer.from(k, 'hex'), o.from) >= 0) &&
                      (o.to === null || compareBytes(Buffer.from(k, 'hex'), o.to) <= 0),
                  )
                  .map(([k, v]) => `${k}:${hex(v)}`);
                if (o.reverse) expect(show(store.reverseRange(o.from, o.to))).toEqual(expected.reverse());
                else expect(show(store.range(o.from, o.to))).toEqual(expected);
                break;
              }
              case 'prefix': {
                const expected = sortedModel()
                  .filter(([k]) => k.startsWith(hex(o.key)))
                  .map(([k, v]) => `${k}:${hex(v)}`);
                expect(show(store.prefixScan(o.key))).toEqual(expected);
                break;
              }
            }
          }
          expect(show(store.all())).toEqual(sortedModel().map(([k, v]) => `${k}:${hex(v)}`));
          expect(store.approximateNumEntries()).toBe(model.size);
        }),
        { numRuns: 150 },
      );
    });
  });
}
