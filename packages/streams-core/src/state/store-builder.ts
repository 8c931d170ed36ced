import type { KeyValueBytesStore, SessionBytesStore, WindowBytesStore } from '@kafka-pattern/state-store';
import type { Serde } from '../serdes/serde.ts';

export type StoreKind = 'keyValue' | 'timestampedKeyValue' | 'window' | 'timestampedWindow' | 'session';

/** What a store needs to know about its byte storage; the task or test driver supplies it. */
export interface StoreSpec {
  readonly name: string;
  readonly kind: StoreKind;
  /** SQLite when true, memory when false. */
  readonly persistent: boolean;
  readonly logging: boolean;
  readonly changelogConfig: Readonly<Record<string, string>>;
  readonly caching: boolean;
  readonly windowSizeMs?: number;
  readonly retentionMs?: number;
  readonly retainDuplicates?: boolean;
}

/**
 * Where byte stores come from. The runtime opens them in the task's SQLite database or in memory,
 * wraps them with change logging and caching as the spec asks, and restores them before use.
 */
export interface StoreContext {
  readonly applicationId: string;
  readonly taskId: string;
  /** The topic name passed to serdes of this store: its changelog topic, as in Kafka Streams. */
  serdeTopic(storeName: string): string;
  keyValueBytesStore(spec: StoreSpec): KeyValueBytesStore;
  windowBytesStore(spec: StoreSpec): WindowBytesStore;
  sessionBytesStore(spec: StoreSpec): SessionBytesStore;
}

/** The application's default serdes, for stores defined without their own (as in Kafka Streams). */
export interface DefaultSerdes {
  readonly key: Serde<any> | undefined;
  readonly value: Serde<any> | undefined;
}

/** Describes a store once; builds one instance per task. */
export interface StoreBuilder<S = unknown> {
  readonly spec: StoreSpec;
  readonly keySerde: Serde<any> | undefined;
  readonly valueSerde: Serde<any> | undefined;
  build(context: StoreContext, defaults?: DefaultSerdes): S;
}

export function changelogTopicName(applicationId: string, storeName: string): string {
  return `${applicationId}-${storeName}-changelog`;
}
