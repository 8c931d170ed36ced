import type { Headers } from '../processor/api/headers.ts';
import {
  BooleanSerde,
  BufferSerde,
  ByteArraySerde,
  DoubleSerde,
  FloatSerde,
  IntegerSerde,
  JsonSerde,
  type JsonSerdeOptions,
  LongBigIntSerde,
  LongSerde,
  ShortSerde,
  StringSerde,
  UUIDSerde,
  VoidSerde,
} from './primitives.ts';
import type { Deserializer, Serde, Serializer } from './serde.ts';
import { SessionWindowedSerde, TimeWindowedSerde, type Windowed } from './windowed.ts';

const STRING = new StringSerde();
const LONG = new LongSerde();
const LONG_BIGINT = new LongBigIntSerde();
const INTEGER = new IntegerSerde();
const SHORT = new ShortSerde();
const DOUBLE = new DoubleSerde();
const FLOAT = new FloatSerde();
const BOOLEAN = new BooleanSerde();
const BYTE_ARRAY = new ByteArraySerde();
const BUFFER = new BufferSerde();
const UUID = new UUIDSerde();
const VOID = new VoidSerde();
const JSON_DEFAULT = new JsonSerde<unknown>();

/**
 * The built-in serdes. Each writes exactly the bytes of the Java client's serde of the same name,
 * so Java and TypeScript applications can share topics and state.
 *
 * - `String()`: UTF-8. A lone UTF-16 surrogate is written as `?`, as Java does.
 * - `Long()`: 8-byte big-endian two's complement, as a JavaScript number. Writing or reading a value
 *   beyond ±(2^53 - 1) throws rather than silently losing precision; use `LongBigInt()` for ids,
 *   hashes or anything that can use the full 64 bits.
 * - `LongBigInt()`: the same bytes, as a bigint.
 * - `Integer()`, `Short()`: 4- and 2-byte big-endian; values outside the range throw.
 * - `Double()`, `Float()`: IEEE 754 big-endian; `Float()` rounds to single precision on write.
 * - `Boolean()`: one byte, 1 or 0.
 * - `ByteArray()`, `Buffer()`: the bytes themselves, shared, not copied.
 * - `UUID()`: the 36-character text form, as a lower-case string.
 * - `Void()`: only null.
 * - `JSON<T>()`: UTF-8 JSON text (Spring Kafka's JsonSerializer, Kafka Connect's schemaless JSON).
 * - `TimeWindowed(inner, windowSizeMs?)`, `SessionWindowed(inner)`, `Windowed(inner, windowSizeMs?)`:
 *   windowed keys in Kafka Streams' formats; see `TimeWindowedSerde` and `SessionWindowedSerde`.
 *
 * Every serde maps null to null (and reads zero-length windowed keys as null, as Java does).
 * A deserializer given bytes of the wrong size or form throws a SerializationException that names
 * the topic, what it got, and what to check.
 */
export const Serdes = {
  String: (): Serde<string> => STRING,
  Long: (): Serde<number> => LONG,
  LongBigInt: (): Serde<bigint> => LONG_BIGINT,
  Integer: (): Serde<number> => INTEGER,
  Short: (): Serde<number> => SHORT,
  Double: (): Serde<number> => DOUBLE,
  Float: (): Serde<number> => FLOAT,
  Boolean: (): Serde<boolean> => BOOLEAN,
  ByteArray: (): Serde<Uint8Array> => BYTE_ARRAY,
  Buffer: (): Serde<Buffer> => BUFFER,
  UUID: (): Serde<string> => UUID,
  Void: (): Serde<null> => VOID,
  JSON: <T = unknown>(options?: JsonSerdeOptions): Serde<T> =>
    (options === undefined ? JSON_DEFAULT : new JsonSerde<T>(options)) as Serde<T>,

  /**
   * Keys of windows from `windowedBy(TimeWindows | SlidingWindows)`, in the layout of Java's
   * `WindowedSerdes.timeWindowedSerdeFrom(type, windowSizeMs)`: key bytes, then the 8-byte start.
   * Pass the window size to get the right `end` back on read; without it, `end` reads as
   * UNBOUNDED_WINDOW_END. The size does not affect what is written.
   */
  TimeWindowed: <K>(inner: Serde<K>, windowSizeMs?: number): Serde<Windowed<K>> =>
    new TimeWindowedSerde(inner, windowSizeMs),

  /**
   * Keys of windows from `windowedBy(SessionWindows)`, in the layout of Java's
   * `WindowedSerdes.sessionWindowedSerdeFrom(type)`: key bytes, 8-byte end, 8-byte start.
   */
  SessionWindowed: <K>(inner: Serde<K>): Serde<Windowed<K>> => new SessionWindowedSerde(inner),

  /**
   * The same as `TimeWindowed`: the time-window layout is what Java applications read windowed keys
   * with by default. Use `SessionWindowed` for session windows, whose end is on the wire.
   */
  Windowed: <K>(inner: Serde<K>, windowSizeMs?: number): Serde<Windowed<K>> =>
    new TimeWindowedSerde(inner, windowSizeMs),

  /** A serde from a serializer and a deserializer, as Java's `Serdes.serdeFrom`. */
  serdeFrom: <T>(serializer: Serializer<T>, deserializer: Deserializer<T>, name = 'Custom'): Serde<T> => ({
    name,
    serialize: (topic: string, data: T | null, headers?: Headers) =>
      serializer.serialize(topic, data, headers),
    deserialize: (topic: string, data: Buffer | null, headers?: Headers) =>
      deserializer.deserialize(topic, data, headers),
  }),
} as const;
