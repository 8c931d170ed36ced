import type { Headers } from '../processor/api/headers.ts';

/** A record as written to a topic in the test driver, before deserialization. */
export interface TestRecordBytes {
  readonly topic: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly headers: Headers;
}

/** A record read from or piped into a test topic. */
export interface TestRecord<K, V> {
  key: K;
  value: V;
  timestamp: number;
  headers: Headers;
}
