/**
 * The byte stores of one task: opened in the task's SQLite database (persistent) or in memory,
 * wrapped with change logging when the store is logged. The raw stores stay reachable for
 * restoration, which must write without logging.
 */
import {
  CachingKeyValueStore,
  ChangeLoggingKeyValueStore,
  ChangeLoggingSessionStore,
  ChangeLoggingWindowStore,
  type ChangelogSink,
  InMemoryKeyValueStore,
  InMemorySessionStore,
  InMemoryWindowStore,
  type KeyValueBytesStore,
  type SessionBytesStore,
  type SqliteDatabase,
  type StateStore,
  type WindowBytesStore,
} from '@kafka-pattern/state-store';
import { changelogTopicName, type StoreContext, type StoreSpec } from './store-builder.ts';

export interface TaskStoresOptions {
  readonly applicationId: string;
  readonly taskId: string;
  /** Opens the task's database on first use by a persistent store. */
  readonly database: () => SqliteDatabase;
  /** Returns where a logged store's changes go; undefined keeps stores unlogged (test driver). */
  readonly changelogSink?: (storeName: string, changelogTopic: string) => ChangelogSink;
  /** Record cache bound per cached store; 0 or absent: stores write through. */
  readonly cacheMaxBytes?: number;
}

export interface OpenedStore {
  readonly spec: StoreSpec;
  readonly changelogTopic: string;
  /** The store without logging: restoration writes here. */
  readonly raw: KeyValueBytesStore | WindowBytesStore | SessionBytesStore;
}

const DAY = 24 * 60 * 60 * 1000;

export class TaskStores implements StoreContext {
  readonly applicationId: string;
  readonly taskId: string;
  readonly opened = new Map<string, OpenedStore>();
  readonly #caches: CachingKeyValueStore[] = [];
  readonly #options: TaskStoresOptions;
  #database: SqliteDatabase | undefined;

  constructor(options: TaskStoresOptions) {
    this.#options = options;
    this.applicationId = options.applicationId;
    this.taskId = options.taskId;
  }

  get database(): SqliteDatabase | undefined {
    return this.#database;
  }

  serdeTopic(storeName: string): string {
    return changelogTopicName(this.applicationId, storeName);
  }

  #db(): SqliteDatabase {
    this.#database ??= this.#options.database();
    return this.#database;
  }

  #sink(spec: StoreSpec): ChangelogSink | undefined {
    if (!spec.logging || !this.#options.changelogSink) return undefined;
    return this.#options.changelogSink(spec.name, this.serdeTopic(spec.name));
  }

  #register(spec: StoreSpec, raw: OpenedStore['raw']): void {
    this.opened.set(spec.name, { spec, changelogTopic: this.serdeTopic(spec.name), raw });
  }

  keyValueBytesStore(spec: StoreSpec): KeyValueBytesStore {
    const raw = spec.persistent ? this.#db().keyValueStore(spec.name) : new InMemoryKeyValueStore(spec.name);
    this.#register(spec, raw);
    const sink = this.#sink(spec);
    const logged = sink ? new ChangeLoggingKeyValueStore(raw, sink) : raw;
    const cacheMaxBytes = this.#options.cacheMaxBytes ?? 0;
    if (!spec.caching || cacheMaxBytes <= 0) return logged;
    // The cache sits in front of the logging layer, so folded updates reach the changelog once.
    const cache = new CachingKeyValueStore(logged, { maxBytes: cacheMaxBytes });
    this.#caches.push(cache);
    return cache;
  }

  windowBytesStore(spec: StoreSpec): WindowBytesStore {
    const options = {
      windowSizeMs: spec.windowSizeMs ?? 0,
      retentionMs: spec.retentionMs ?? DAY,
      retainDuplicates: spec.retainDuplicates ?? false,
    };
    const raw = spec.persistent
      ? this.#db().windowStore(spec.name, options)
      : new InMemoryWindowStore(spec.name, options);
    this.#register(spec, raw);
    const sink = this.#sink(spec);
    return sink ? new ChangeLoggingWindowStore(raw, sink) : raw;
  }

  sessionBytesStore(spec: StoreSpec): SessionBytesStore {
    const options = { retentionMs: spec.retentionMs ?? DAY };
    const raw = spec.persistent
      ? this.#db().sessionStore(spec.name, options)
      : new InMemorySessionStore(spec.name, options);
    this.#register(spec, raw);
    const sink = this.#sink(spec);
    return sink ? new ChangeLoggingSessionStore(raw, sink) : raw;
  }

  /** Writes cached updates through: downstream, to the changelog and to the stores. Before every commit. */
  flushCaches(): void {
    for (const c of this.#caches) c.flushCache();
  }

  /** Forgets cached updates (an aborted transaction's work). */
  discardCaches(): void {
    for (const c of this.#caches) c.clearCache();
  }

  /** Makes every store's writes durable (one SQLite transaction for the whole task). */
  commit(): void {
    for (const s of this.opened.values()) if (!s.spec.persistent) (s.raw as StateStore).flush();
    this.#database?.commit();
  }

  close(): void {
    for (const s of this.opened.values()) if (!s.spec.persistent) (s.raw as StateStore).close();
    this.#database?.close();
    this.#database = undefined;
  }
}
