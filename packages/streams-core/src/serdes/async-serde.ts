import type { Headers } from '../processor/api/headers.ts';

/**
 * A value serde whose work is asynchronous: it reads or writes somewhere else as well (the claim
 * check keeps large payloads in S3). Sources decode with it before their batch is processed and
 * sinks encode with it before their records are produced, so processing itself stays
 * synchronous. State stores read and write in the middle of processing and cannot use one: a
 * store given an asynchronous serde is a build-time error.
 */
export interface AsyncSerde<T> {
  readonly name: string;
  /** Tells an asynchronous serde from a synchronous one at run time. */
  readonly asynchronous: true;
  /** May add headers (a reference, a format flag) to the record being written. */
  serializeAsync(topic: string, data: T | null, headers: Headers): Promise<Buffer | null>;
  deserializeAsync(topic: string, data: Buffer | null, headers: Headers): Promise<T | null>;
}

export function isAsyncSerde(serde: unknown): serde is AsyncSerde<unknown> {
  return (
    typeof serde === 'object' && serde !== null && (serde as { asynchronous?: unknown }).asynchronous === true
  );
}
