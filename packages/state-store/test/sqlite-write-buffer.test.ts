// The SQLite key-value store buffers writes between commits: whatever the mix of writes,
// commits, rollbacks, scans and crashes, it must read exactly as a store without a buffer.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteDatabase } from '../src/sqlite/sqlite-database.ts';
import { s, tempDir } from './support/backends.ts';

type Op =
  | { kind: 'put'; key: string; value: string | null }
  | { kind: 'putIfAbsent'; key: string; value: string }
  | { kind: 'delete'; key: string }
  | { kind: 'get'; key: string }
  | { kind: 'range'; from: string; to: string }
  | { kind: 'count' }
  | { kind: 'commit' }
  | { kind: 'rollback' }
  | { kind: 'crash' };

const key = fc.constantFrom('a', 'b', 'c');
const value = fc.string({ minLength: 1, maxLength: 4 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('put' as const), key, value: fc.option(value) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('putIfAbsent' as const), key, value }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('get' as const), key }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('range' as const), from: key, to: key }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('count' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('commit' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('rollback' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const) }) },
);

const sorted = (m: Map<string, string>, from: string, to: string) =>
  [...m]
    .filter(([k]) => k >= from && k <= to)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);

describe('SQLite key-value store write buffer', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.remove());

  it('reads, scans, commits and rolls back as a store that writes through', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        let db = SqliteDatabase.openInTaskDirectory(tmp.dir);
        // The directory outlives a run: each one starts from an empty committed store.
        for (const k of 'abc') db.keyValueStore('kv').put(s(k), null);
        db.commit();
        let committed = new Map<string, string>();
        let current = new Map<string, string>();
        try {
          for (const o of ops) {
            const kv = db.keyValueStore('kv');
            switch (o.kind) {
              case 'put':
                kv.put(s(o.key), o.value === null ? null : s(o.value));
                if (o.value === null) current.delete(o.key);
                else current.set(o.key, o.value);
                break;
              case 'putIfAbsent': {
                const existing = kv.putIfAbsent(s(o.key), s(o.value));
                expect(existing?.toString()).toBe(current.get(o.key));
                if (!current.has(o.key)) current.set(o.key, o.value);
                break;
              }
              case 'delete':
                expect(kv.delete(s(o.key))?.toString()).toBe(current.get(o.key));
                current.delete(o.key);
                break;
              case 'get':
                expect(kv.get(s(o.key))?.toString()).toBe(current.get(o.key));
                break;
              case 'range': {
                const [from, to] = o.from <= o.to ? [o.from, o.to] : [o.to, o.from];
                const seen = [...kv.range(s(from), s(to))].map((e) => `${e.key}=${e.value}`);
                expect(seen).toEqual(sorted(current, from, to));
                break;
              }
              case 'count':
                expect(kv.approximateNumEntries()).toBe(current.size);
                break;
              case 'commit':
                db.commit();
                committed = new Map(current);
                break;
              case 'rollback':
                db.rollback();
                current = new Map(committed);
                break;
              case 'crash':
                db.close();
                db = SqliteDatabase.openInTaskDirectory(tmp.dir);
                current = new Map(committed);
                break;
            }
          }
          db.commit();
        } finally {
          db.close();
        }
        const reopened = SqliteDatabase.openInTaskDirectory(tmp.dir);
        try {
          const all = [...reopened.keyValueStore('kv').all()].map((e) => `${e.key}=${e.value}`);
          expect(all).toEqual(sorted(current, '', '\uffff'));
        } finally {
          reopened.close();
        }
      }),
      { numRuns: 400 },
    );
  });

  it('does not take a value a scan wrote into the open transaction for a committed one', () => {
    const db = SqliteDatabase.openInTaskDirectory(tmp.dir);
    try {
      const kv = db.keyValueStore('kv');
      kv.put(s('k'), s('committed'));
      db.commit();
      expect(kv.get(s('k'))?.toString()).toBe('committed');
      kv.put(s('k'), s('uncommitted'));
      expect([...kv.all()].map((e) => e.value.toString())).toEqual(['uncommitted']);
      expect(kv.get(s('k'))?.toString()).toBe('uncommitted');
      db.rollback();
      expect(kv.get(s('k'))?.toString()).toBe('committed');
    } finally {
      db.close();
    }
  });

  it('holds more writes than its bounds between commits, and a rollback still drops all of them', () => {
    const db = SqliteDatabase.openInTaskDirectory(tmp.dir);
    try {
      const kv = db.keyValueStore('kv');
      kv.put(s('kept'), s('1'));
      db.commit();
      for (let i = 0; i < 25_000; i++) kv.put(s(`k${i}`), s(String(i)));
      expect(kv.get(s('k24999'))?.toString()).toBe('24999');
      expect(kv.approximateNumEntries()).toBe(25_001);
      db.rollback();
      expect(kv.get(s('k0'))).toBeUndefined();
      expect([...kv.all()].map((e) => e.key.toString())).toEqual(['kept']);
      for (let i = 0; i < 25_000; i++) kv.put(s(`k${i}`), s(String(i)));
      db.commit();
      expect(kv.approximateNumEntries()).toBe(25_001);
    } finally {
      db.close();
    }
  });
});
