import { describe, expect, it } from 'vitest';
import {
  ChangeLoggingKeyValueStore,
  ChangeLoggingSessionStore,
  ChangeLoggingWindowStore,
} from '../src/changelog/change-logging.ts';
import {
  decodeSessionChangelogKey,
  decodeWindowChangelogKey,
  encodeSessionChangelogKey,
  encodeWindowChangelogKey,
  sessionRestoreRecord,
  windowRestoreRecord,
} from '../src/changelog/changelog-keys.ts';
import { InMemoryKeyValueStore } from '../src/key-value/in-memory-key-value-store.ts';
import { InMemorySessionStore } from '../src/session/in-memory-session-store.ts';
import { InMemoryWindowStore } from '../src/window/in-memory-window-store.ts';
import { s } from './support/backends.ts';

type Logged = Array<[string, string | null]>;
const sink = (logged: Logged) => (key: Buffer, value: Buffer | null) =>
  logged.push([key.toString('hex'), value?.toString() ?? null]);

describe('changelog keys', () => {
  it('encodes window keys as key | int64 BE windowStart | int32 BE seqnum', () => {
    const bytes = encodeWindowChangelogKey(s('ab'), 0x0102030405, 7);
    expect(bytes.toString('hex')).toBe(`6162${'0000000102030405'}${'00000007'}`);
    expect(decodeWindowChangelogKey(bytes)).toEqual({ key: s('ab'), windowStart: 0x0102030405, seqnum: 7 });
    expect(windowRestoreRecord(bytes, null)).toEqual({
      key: s('ab'),
      windowStart: 0x0102030405,
      seqnum: 7,
      value: null,
    });
  });

  it('encodes session keys as key | int64 BE end | int64 BE start', () => {
    const bytes = encodeSessionChangelogKey(s('k'), 10, 20);
    expect(bytes.toString('hex')).toBe(`6b${'0000000000000014'}${'000000000000000a'}`);
    expect(decodeSessionChangelogKey(bytes)).toEqual({ key: s('k'), start: 10, end: 20 });
    expect(sessionRestoreRecord(bytes, s('v'))).toEqual({ key: s('k'), start: 10, end: 20, value: s('v') });
  });

  it('handles empty keys and rejects keys too short to hold the suffix', () => {
    expect(decodeWindowChangelogKey(encodeWindowChangelogKey(Buffer.alloc(0), 5, 0)).key).toHaveLength(0);
    expect(() => decodeWindowChangelogKey(Buffer.alloc(11))).toThrow(/not a window store changelog/);
    expect(() => decodeSessionChangelogKey(Buffer.alloc(15))).toThrow(/not a session store changelog/);
  });
});

describe('change-logging wrappers', () => {
  it('logs every key-value write, including deletes', () => {
    const logged: Logged = [];
    const store = new ChangeLoggingKeyValueStore(new InMemoryKeyValueStore('kv'), sink(logged));
    store.put(s('a'), s('1'));
    expect(store.putIfAbsent(s('a'), s('2'))?.toString()).toBe('1');
    store.putIfAbsent(s('b'), s('3'));
    store.putAll([
      [s('c'), s('4')],
      [s('a'), null],
    ]);
    store.delete(s('b'));
    store.restoreBatch([{ key: s('z'), value: s('restored') }]);
    expect(logged).toEqual([
      ['61', '1'],
      ['62', '3'],
      ['63', '4'],
      ['61', null],
      ['62', null],
    ]);
    expect(store.get(s('z'))?.toString()).toBe('restored');
  });

  it('logs window writes with the Kafka Streams key, skipping dropped puts', () => {
    const logged: Logged = [];
    const store = new ChangeLoggingWindowStore(
      new InMemoryWindowStore('w', { retentionMs: 1_000, windowSizeMs: 10 }),
      sink(logged),
    );
    store.put(s('a'), s('1'), 2_000);
    store.put(s('a'), null, 2_000);
    expect(store.put(s('a'), s('late'), 500)).toBe(false);
    expect(logged).toEqual([
      [encodeWindowChangelogKey(s('a'), 2_000, 0).toString('hex'), '1'],
      [encodeWindowChangelogKey(s('a'), 2_000, 0).toString('hex'), null],
    ]);
  });

  it('gives each duplicate its own changelog key, and restoration rebuilds the same store', () => {
    const logged: Array<[Buffer, Buffer | null]> = [];
    const options = { retentionMs: 1_000, windowSizeMs: 10, retainDuplicates: true };
    const store = new ChangeLoggingWindowStore(new InMemoryWindowStore('w', options), (k, v) =>
      logged.push([k, v]),
    );
    store.put(s('a'), s('1'), 100);
    store.put(s('a'), s('2'), 100);
    store.put(s('a'), null, 100);
    expect(logged).toHaveLength(2);
    expect(decodeWindowChangelogKey(logged[0]![0]).seqnum).not.toBe(
      decodeWindowChangelogKey(logged[1]![0]).seqnum,
    );

    const restored = new InMemoryWindowStore('w', options);
    restored.restoreBatch(logged.map(([k, v]) => windowRestoreRecord(k, v)));
    expect([...restored.fetchRange(s('a'), 0, 200)].map((e) => e.value.toString())).toEqual(['1', '2']);
  });

  it('logs session writes and removals with the Kafka Streams key', () => {
    const logged: Logged = [];
    const store = new ChangeLoggingSessionStore(
      new InMemorySessionStore('s', { retentionMs: 1_000 }),
      sink(logged),
    );
    store.put(s('a'), 10, 5_000, s('1'));
    store.remove(s('a'), 10, 5_000);
    store.put(s('a'), 0, 100, s('expired'));
    expect(logged).toEqual([
      [encodeSessionChangelogKey(s('a'), 10, 5_000).toString('hex'), '1'],
      [encodeSessionChangelogKey(s('a'), 10, 5_000).toString('hex'), null],
    ]);
  });
});
