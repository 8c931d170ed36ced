import type { Headers } from './headers.ts';

/**
 * A record as processors see it. Records are treated as immutable: an operator that changes
 * the key, value or timestamp forwards a new object, so a record forwarded to several children
 * is never changed under another child's feet. Headers are shared unless an operator copies them.
 */
export interface StreamRecord<K, V> {
  readonly key: K;
  readonly value: V;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  readonly headers: Headers;
}

/** Where the record being processed came from; absent for records created by punctuators. */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

export interface KeyValue<K, V> {
  readonly key: K;
  readonly value: V;
}
