import type { Headers } from '../processor/api/headers.ts';
import { readInt64, unsafeInt64Error, writeInt64 } from './int64.ts';
import type { Serde } from './serde.ts';
import { SerializationException } from './serialization-exception.ts';

/** A window's bounds in epoch milliseconds. Time windows are `[start, end)`; session windows include both ends. */
export interface Window {
  start: number;
  end: number;
}

/** A key together with the window it was aggregated in: the key type of every windowed KTable. */
export interface Windowed<K> {
  key: K;
  window: Window;
}

/**
 * The `end` of a window read without knowing its size. Java uses Long.MAX_VALUE, which has no
 * exact JavaScript number; we use Number.MAX_SAFE_INTEGER (about year 287,000, never a real
 * timestamp) and write it back as Long.MAX_VALUE, so the sentinel survives a trip through Java.
 */
export const UNBOUNDED_WINDOW_END = Number.MAX_SAFE_INTEGER;

const TIMESTAMP_SIZE = 8;

/**
 * The layout a Java Kafka Streams application writes with `WindowedSerdes.timeWindowedSerdeFrom`
 * (TimeWindowedSerializer): the inner key's bytes, then the window start as an 8-byte big-endian
 * long. The end is not on the wire: the reader adds the window size to the start, or reports
 * UNBOUNDED_WINDOW_END when no size was given (as Java does with Long.MAX_VALUE).
 */
export class TimeWindowedSerde<K> implements Serde<Windowed<K>> {
  readonly name: string;
  readonly inner: Serde<K>;
  readonly windowSizeMs: number | undefined;

  constructor(inner: Serde<K>, windowSizeMs?: number) {
    if (windowSizeMs !== undefined && !(Number.isSafeInteger(windowSizeMs) && windowSizeMs > 0)) {
      throw new RangeError(
        `Window size must be a positive integer number of milliseconds, got ${windowSizeMs}`,
      );
    }
    this.inner = inner;
    this.windowSizeMs = windowSizeMs;
    this.name = `TimeWindowed<${inner.name}>`;
  }

  serialize(topic: string, data: Windowed<K> | null, headers?: Headers): Buffer | null {
    if (data == null) return null;
    const keyBytes = innerKeyBytes(this.inner, 'TimeWindowedSerializer', topic, data, headers);
    const buf = Buffer.allocUnsafe(keyBytes.length + TIMESTAMP_SIZE);
    keyBytes.copy(buf, 0);
    writeTimestamp(buf, keyBytes.length, data.window.start, 'TimeWindowedSerializer', 'start', topic);
    return buf;
  }

  deserialize(topic: string, data: Buffer | null, headers?: Headers): Windowed<K> | null {
    // Java reads zero bytes as null too.
    if (data == null || data.length === 0) return null;
    const keyLength = data.length - TIMESTAMP_SIZE;
    if (keyLength < 0) throw tooShort('TimeWindowedDeserializer', TIMESTAMP_SIZE, topic, data.length);
    const start = readTimestamp(data, keyLength, 'TimeWindowedDeserializer', topic);
    const size = this.windowSizeMs;
    const end =
      size === undefined || start + size >= UNBOUNDED_WINDOW_END ? UNBOUNDED_WINDOW_END : start + size;
    const key = this.inner.deserialize(topic, data.subarray(0, keyLength), headers) as K;
    return { key, window: { start, end } };
  }
}

/**
 * The layout of Java's SessionWindowedSerializer (Kafka Streams' SessionKeySchema): the inner
 * key's bytes, then the session end, then the session start, each an 8-byte big-endian long.
 * End before start is deliberate in Kafka: the store orders sessions of one key by end time.
 */
export class SessionWindowedSerde<K> implements Serde<Windowed<K>> {
  readonly name: string;
  readonly inner: Serde<K>;

  constructor(inner: Serde<K>) {
    this.inner = inner;
    this.name = `SessionWindowed<${inner.name}>`;
  }

  serialize(topic: string, data: Windowed<K> | null, headers?: Headers): Buffer | null {
    if (data == null) return null;
    const keyBytes = innerKeyBytes(this.inner, 'SessionWindowedSerializer', topic, data, headers);
    const buf = Buffer.allocUnsafe(keyBytes.length + 2 * TIMESTAMP_SIZE);
    keyBytes.copy(buf, 0);
    writeTimestamp(buf, keyBytes.length, data.window.end, 'SessionWindowedSerializer', 'end', topic);
    writeTimestamp(
      buf,
      keyBytes.length + TIMESTAMP_SIZE,
      data.window.start,
      'SessionWindowedSerializer',
      'start',
      topic,
    );
    return buf;
  }

  deserialize(topic: string, data: Buffer | null, headers?: Headers): Windowed<K> | null {
    if (data == null || data.length === 0) return null;
    const keyLength = data.length - 2 * TIMESTAMP_SIZE;
    if (keyLength < 0) throw tooShort('SessionWindowedDeserializer', 2 * TIMESTAMP_SIZE, topic, data.length);
    const end = readTimestamp(data, keyLength, 'SessionWindowedDeserializer', topic);
    const start = readTimestamp(data, keyLength + TIMESTAMP_SIZE, 'SessionWindowedDeserializer', topic);
    const key = this.inner.deserialize(topic, data.subarray(0, keyLength), headers) as K;
    return { key, window: { start, end } };
  }
}

function innerKeyBytes<K>(
  inner: Serde<K>,
  serializer: string,
  topic: string,
  data: Windowed<K>,
  headers?: Headers,
): Buffer {
  const keyBytes = inner.serialize(topic, data.key, headers);
  if (keyBytes == null) {
    throw new SerializationException(
      `${serializer} cannot write a windowed key whose key serializes to null (topic "${topic}", inner serde ${inner.name}).`,
      { topic },
    );
  }
  return keyBytes;
}

function writeTimestamp(
  buf: Buffer,
  offset: number,
  value: number,
  serializer: string,
  which: string,
  topic: string,
): void {
  if (value === UNBOUNDED_WINDOW_END || value === Number.POSITIVE_INFINITY) {
    buf.writeUInt32BE(0x7fffffff, offset);
    buf.writeUInt32BE(0xffffffff, offset + 4);
    return;
  }
  if (!Number.isSafeInteger(value)) {
    throw new SerializationException(
      `${serializer} cannot write window ${which} ${String(value)} to topic "${topic}": expected an integer epoch-millisecond timestamp.`,
      { topic },
    );
  }
  writeInt64(buf, offset, value);
}

function readTimestamp(buf: Buffer, offset: number, deserializer: string, topic: string): number {
  if (buf.readUInt32BE(offset) === 0x7fffffff && buf.readUInt32BE(offset + 4) === 0xffffffff)
    return UNBOUNDED_WINDOW_END;
  const value = readInt64(buf, offset);
  if (Number.isNaN(value)) {
    throw unsafeInt64Error(
      deserializer,
      topic,
      buf,
      offset,
      'Window timestamps are epoch milliseconds and must be within ±(2^53 - 1).',
    );
  }
  return value;
}

function tooShort(
  deserializer: string,
  minimum: number,
  topic: string,
  actual: number,
): SerializationException {
  return new SerializationException(
    `Size of data received by ${deserializer} is less than ${minimum}: got ${actual} bytes from topic "${topic}". ` +
      `Check that the topic holds windowed keys of this kind (time-windowed keys end in an 8-byte start; ` +
      `session-windowed keys in an 8-byte end and an 8-byte start).`,
    { topic },
  );
}
