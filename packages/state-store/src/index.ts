export { compareBytes, type KeyValueBytes, prefixUpperBound } from './bytes.ts';
export {
  CACHE_ENTRY_OVERHEAD_BYTES,
  type CacheFlushListener,
  CachingKeyValueStore,
  type CachingKeyValueStoreOptions,
} from './cache/record-cache.ts';
export {
  ChangeLoggingKeyValueStore,
  ChangeLoggingSessionStore,
  ChangeLoggingWindowStore,
  type ChangelogSink,
} from './changelog/change-logging.ts';
export {
  decodeSessionChangelogKey,
  decodeWindowChangelogKey,
  encodeSessionChangelogKey,
  encodeWindowChangelogKey,
  type SessionChangelogKey,
  sessionRestoreRecord,
  type WindowChangelogKey,
  windowRestoreRecord,
} from './changelog/changelog-keys.ts';
export {
  CheckpointFile,
  type CheckpointReadResult,
  type CheckpointStatus,
  checkpointKey,
  parseCheckpointKey,
} from './checkpoint/checkpoint-file.ts';
export { InMemoryKeyValueStore } from './key-value/in-memory-key-value-store.ts';
export type { KeyValueBytesStore } from './key-value/key-value-bytes-store.ts';
export { defaultSegmentInterval, NO_STREAM_TIME } from './retention.ts';
export { InMemorySessionStore } from './session/in-memory-session-store.ts';
export type {
  SessionBytes,
  SessionBytesStore,
  SessionBytesStoreOptions,
  SessionRestoreRecord,
} from './session/session-bytes-store.ts';
export { SQLITE_STATE_FILE, SqliteDatabase, type SqliteDatabaseOptions } from './sqlite/sqlite-database.ts';
export { SqliteKeyValueStore } from './sqlite/sqlite-key-value-store.ts';
export { SqliteSessionStore } from './sqlite/sqlite-session-store.ts';
export { SqliteWindowStore } from './sqlite/sqlite-window-store.ts';
export { StateDirectory, StateDirectoryError, TaskLockedByThreadError } from './state-directory.ts';
export type { StateStore } from './store.ts';
export { InMemoryWindowStore } from './window/in-memory-window-store.ts';
export type {
  WindowBytesStore,
  WindowBytesStoreOptions,
  WindowedKeyValue,
  WindowedValue,
  WindowRestoreRecord,
} from './window/window-bytes-store.ts';
