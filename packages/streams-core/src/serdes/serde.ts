import type { Headers } from '../processor/api/headers.ts';

/**
 * Turns a value into the bytes of a Kafka record key or value. `null` maps to `null` (a Kafka
 * null, which for a KTable value is a tombstone); `undefined` is treated as `null`.
 * The topic is passed because, as in Java, a serializer may vary its format by topic.
 */
export interface Serializer<T> {
  serialize(topic: string, data: T | null, headers?: Headers): Buffer | null;
}

/** Reads a Kafka record key or value. `null` bytes map to a `null` value. */
export interface Deserializer<T> {
  deserialize(topic: string, data: Buffer | null, headers?: Headers): T | null;
}

/** A serializer and deserializer for one type, under a name shown in errors and descriptions. */
export interface Serde<T> extends Serializer<T>, Deserializer<T> {
  readonly name: string;
}

/** The value type a serde reads and writes. */
export type SerdeType<S> = S extends Serde<infer T> ? T : never;
