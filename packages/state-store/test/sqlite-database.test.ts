import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SQLITE_STATE_FILE, SqliteDatabase } from '../src/sqlite/sqlite-database.ts';
import { s, tempDir } from './support/backends.ts';

describe('SqliteDatabase', () => {
  let tmp: ReturnType<typeof tempDir>;
  const opened: SqliteDatabase[] = [];
  const open = () => {
    const db = SqliteDatabase.openInTaskDirectory(tmp.dir);
    opened.push(db);
    return db;
  };
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => {
    for (const db of opened.splice(0)) db.close();
    tmp.remove();
  });

  it('uses WAL with synchronous=NORMAL', () => {
    const db = open();
    db.keyValueStore('kv');
    const raw = new Database(join(tmp.dir, SQLITE_STATE_FILE), { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it('keeps committed data across close and reopen', () => {
    const db = open();
    const kv = db.keyValueStore('kv');
    kv.put(s('a'), s('1'));
    kv.flush();
    db.close();
    const again = open();
    expect(again.keyValueStore('kv').get(s('a'))?.toString()).toBe('1');
  });

  it('loses uncommitted writes on a crash-like close, and other connections never see them', () => {
    const db = open();
    const kv = db.keyValueStore('kv');
    kv.put(s('committed'), s('1'));
    db.commit();
    kv.put(s('pending'), s('2'));
    expect(kv.get(s('pending'))?.toString()).toBe('2');
    expect(db.inTransaction).toBe(true);

    const other = open();
    expect(other.keyValueStore('kv').get(s('pending'))).toBeUndefined();
    expect(other.keyValueStore('kv').get(s('committed'))?.toString()).toBe('1');
    other.close();

    db.close();
    const reopened = open();
    expect([...reopened.keyValueStore('kv').all()].map((e) => e.key.toString())).toEqual(['committed']);
  });

  it('commits the checkpoint in the same transaction as the state of every store', () => {
    const db = open();
    const kv = db.keyValueStore('counts');
    const win = db.windowStore('windows', { retentionMs: 10_000, windowSizeMs: 100 });
    kv.put(s('a'), s('1'));
    win.put(s('a'), s('w'), 500);
    db.writeCheckpoint(new Map([['app-counts-changelog-0', 1n]]));
    expect(db.readCheckpoint()).toEqual(new Map([['app-counts-changelog-0', 1n]]));
    db.close(); // crash before commit: neither state nor checkpoint

    const second = open();
    expect(second.readCheckpoint()).toEqual(new Map());
    expect(second.keyValueStore('counts').get(s('a'))).toBeUndefined();
    const kv2 = second.keyValueStore('counts');
    const win2 = second.windowStore('windows', { retentionMs: 10_000, windowSizeMs: 100 });
    kv2.put(s('a'), s('2'));
    win2.put(s('a'), s('w2'), 600);
    second.writeCheckpoint(
      new Map([
        ['app-counts-changelog-0', 7n],
        ['app-windows-changelog-0', 3n],
      ]),
    );
    second.commit();
    second.close();

    const third = open();
    expect(third.readCheckpoint()).toEqual(
      new Map([
        ['app-counts-changelog-0', 7n],
        ['app-windows-changelog-0', 3n],
      ]),
    );
    expect(third.keyValueStore('counts').get(s('a'))?.toString()).toBe('2');
    const win3 = third.windowStore('windows', { retentionMs: 10_000, windowSizeMs: 100 });
    expect(win3.fetch(s('a'), 600)?.toString()).toBe('w2');
    expect(win3.observedStreamTime()).toBe(600);
  });

  it('rolls back to the last commit, including stream time and stores created since', () => {
    const db = open();
    const win = db.windowStore('w', { retentionMs: 1_000, windowSizeMs: 100 });
    win.put(s('a'), s('1'), 100);
    db.commit();
    win.put(s('a'), s('2'), 5_000);
    const kv = db.keyValueStore('created-in-transaction');
    kv.put(s('x'), s('y'));
    db.rollback();
    expect(win.observedStreamTime()).toBe(100);
    expect(win.fetch(s('a'), 100)?.toString()).toBe('1');
    expect(win.fetch(s('a'), 5_000)).toBeUndefined();
    expect(kv.get(s('x'))).toBeUndefined();
    kv.put(s('x'), s('z'));
    db.commit();
    expect(kv.get(s('x'))?.toString()).toBe('z');
  });

  it('restores stream time and duplicate sequence numbers after reopening', () => {
    const options = { retentionMs: 1_000, windowSizeMs: 100, retainDuplicates: true };
    const db = open();
    const win = db.windowStore('join', options);
    win.put(s('k'), s('1'), 2_000);
    win.put(s('k'), s('2'), 2_000);
    db.commit();
    db.close();
    const again = open().windowStore('join', options);
    expect(again.observedStreamTime()).toBe(2_000);
    expect(again.put(s('k'), s('late'), 900)).toBe(false);
    again.put(s('k'), s('3'), 2_000);
    expect([...again.fetchRange(s('k'), 0, 3_000)].map((e) => e.value.toString())).toEqual(['1', '2', '3']);
  });

  it('physically deletes expired segments', () => {
    const db = open();
    const win = db.windowStore('w', { retentionMs: 120_000, segmentIntervalMs: 60_000, windowSizeMs: 1_000 });
    const sessions = db.sessionStore('s', { retentionMs: 120_000, segmentIntervalMs: 60_000 });
    for (let t = 0; t < 600_000; t += 10_000) {
      win.put(s('k'), s('v'), t);
      sessions.put(s('k'), t, t, s('v'));
    }
    db.commit();
    const raw = new Database(join(tmp.dir, SQLITE_STATE_FILE), { readonly: true });
    // stream time 590000: live from 470001; segments below 420000 are gone.
    const min = (table: string, column: string) =>
      raw.prepare(`SELECT min(${column}) FROM "${table}"`).pluck().get();
    expect(min('window:w', 'window_start')).toBe(420_000);
    expect(min('session:s', 'end_time')).toBe(420_000);
    raw.close();
    expect([...win.fetchRange(s('k'), 0, 1_000_000)][0]?.windowStart).toBe(480_000);
  });

  it('rejects reopening a store name as a different kind', () => {
    const db = open();
    db.keyValueStore('x');
    expect(() => db.windowStore('x', { retentionMs: 1, windowSizeMs: 1 })).toThrow(
      /is a key-value store and cannot be opened as a window store/,
    );
  });

  it('hands out one instance per store, reopened after close()', () => {
    const db = open();
    const kv = db.keyValueStore('kv');
    kv.put(s('a'), s('1'));
    kv.close();
    expect(kv.isOpen).toBe(false);
    const again = db.keyValueStore('kv');
    expect(again).toBe(kv);
    expect(again.get(s('a'))?.toString()).toBe('1');
  });

  it('accepts any store name', () => {
    const db = open();
    const kv = db.keyValueStore('KSTREAM-AGGREGATE "quoted"; DROP TABLE kp_store; --');
    kv.put(s('a'), s('1'));
    db.commit();
    expect(kv.get(s('a'))?.toString()).toBe('1');
  });

  it('refuses use after the database closes', () => {
    const db = open();
    const kv = db.keyValueStore('kv');
    db.close();
    expect(kv.isOpen).toBe(false);
    expect(() => kv.get(s('a'))).toThrow(/State store "kv" is closed/);
    expect(() => db.commit()).toThrow(/is closed/);
  });
});
