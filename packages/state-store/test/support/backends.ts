// Store factories for the shared suites: every suite runs once per backend.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryKeyValueStore } from '../../src/key-value/in-memory-key-value-store.ts';
import type { KeyValueBytesStore } from '../../src/key-value/key-value-bytes-store.ts';
import { InMemorySessionStore } from '../../src/session/in-memory-session-store.ts';
import type { SessionBytesStore, SessionBytesStoreOptions } from '../../src/session/session-bytes-store.ts';
import { SqliteDatabase } from '../../src/sqlite/sqlite-database.ts';
import { InMemoryWindowStore } from '../../src/window/in-memory-window-store.ts';
import type { WindowBytesStore, WindowBytesStoreOptions } from '../../src/window/window-bytes-store.ts';

export interface Opened<S> {
  store: S;
  cleanup(): void;
}

export interface Backend {
  name: string;
  keyValue(): Opened<KeyValueBytesStore>;
  window(options: WindowBytesStoreOptions): Opened<WindowBytesStore>;
  session(options: SessionBytesStoreOptions): Opened<SessionBytesStore>;
}

export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'state-store-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function sqlite<S>(open: (db: SqliteDatabase) => S): Opened<S> {
  const tmp = tempDir();
  const db = SqliteDatabase.openInTaskDirectory(tmp.dir);
  return {
    store: open(db),
    cleanup: () => {
      db.close();
      tmp.remove();
    },
  };
}

export const backends: Backend[] = [
  {
    name: 'in-memory',
    keyValue: () => ({ store: new InMemoryKeyValueStore('kv'), cleanup: () => {} }),
    window: (options) => ({ store: new InMemoryWindowStore('win', options), cleanup: () => {} }),
    session: (options) => ({ store: new InMemorySessionStore('sess', options), cleanup: () => {} }),
  },
  {
    name: 'sqlite',
    keyValue: () => sqlite((db) => db.keyValueStore('kv')),
    window: (options) => sqlite((db) => db.windowStore('win', options)),
    session: (options) => sqlite((db) => db.sessionStore('sess', options)),
  },
];

export const b = (...bytes: number[]): Buffer => Buffer.from(bytes);
export const s = (text: string): Buffer => Buffer.from(text, 'utf8');
export const hex = (buffer: Buffer): string => buffer.toString('hex');
