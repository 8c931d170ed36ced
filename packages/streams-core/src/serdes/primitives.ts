import type { Headers } from '../processor/api/headers.ts';
import { cannotWrite, wrongSize } from './errors.ts';
import { readInt64, unsafeInt64Error, writeInt64 } from './int64.ts';
import type { Serde } from './serde.ts';
import { SerializationException } from './serialization-exception.ts';

// One class per format keeps each call site monomorphic; the stateless ones are shared singletons.

/** Matches a lone UTF-16 surrogate: a high one not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

interface WellFormedCheck {
  isWellFormed(): boolean;
}

export class StringSerde implements Serde<string> {
  readonly name = 'String';

  serialize(topic: string, data: string | null, _headers?: Headers): Buffer | null {
    if (data == null) return null;
    if (typeof data !== 'string') throw cannotWrite('StringSerializer', topic, data, 'a string');
    // Java's encoder writes '?' for a lone surrogate where Buffer.from would write U+FFFD's three
    // bytes; matching Java keeps keys (and so partitions and store lookups) identical.
    if (!(data as unknown as WellFormedCheck).isWellFormed()) data = data.replace(LONE_SURROGATE, '?');
    return Buffer.from(data, 'utf8');
  }

  deserialize(_topic: string, data: Buffer | null, _headers?: Headers): string | null {
    if (data == null) return null;
    return data.toString('utf8');
  }
}

export class LongSerde implements Serde<number> {
  readonly name = 'Long';

  serialize(topic: string, data: number | null, _headers?: Headers): Buffer | null {
    if (data == null) return null;
    if (!Number.isSafeInteger(data)) {
      throw cannotWrite(
        'LongSerializer',
        topic,
        data,
        'an integer within ±(2^53 - 1) (Serdes.Long() works on JavaScript numbers; use Serdes.LongBigInt() for the full 64-bit range)',
      );
    }
    const buf = Buffer.allocUnsafe(8);
    writeInt64(buf, 0, data);
    return buf;
  }

  deserialize(topic: string, data: Buffer | null, _headers?: Headers): number | null {
    if (data == null) return null;
    if (data.length !== 8)
      throw wrongSize(
        'LongDeserializer',
        8,
        topic,
        data.length,
        '8-byte big-endian longs (Java Serdes.Long())',
      );
    const value = readInt64(data, 0);
    if (Number.isNaN(value)) {
      throw unsafeInt64Error(
        'LongDeserializer',
        topic,
        data,
        0,
        'Use Serdes.LongBigInt() for this topic to read it as a bigint.',
      );
    }
    return value;
  }
}

export class LongBigIntSerde implements Serde<bigint> {
  readonly name = 'LongBigInt';

  serialize(topic: string, data: bigint | null, _headers?: Headers): Buffer | null {
    if (data == null) return null;
    if (typeof data !== 'bigint' || BigInt.asIntN(64, data) !== data) {
      throw cannotWrite('LongSerializer', topic, data, 'a bigint within the signed 64-bit range');
    }
    const buf = Buffer.allocUnsafe(8);
    buf.writeBigInt64BE(data, 0);
    return buf;
  }

  deserialize(topic: string, data: Buffer | null, _headers?: Headers): bigint | null {
    if (data == null) return null;
    if (data.length !== 8)
      throw wrongSize(
        'LongDeserializer',
        8,
        topic,
        data.length,
        '8-byte big-endian longs (Java Serdes.Long())',
      );
    return data.readBigInt64BE(0);
  }
}

export class IntegerSerde implements Serde<number> {
  readonly name = 'Integer';

  serialize(topic: string, data: number | null, _headers?: Headers): Buffer | null {
    if (data == null) return null;
    if ((data | 0) !== data)
      throw cannotWrite('IntegerSerializer', topic, data, 'a 32-bit signed integer (-2^31 to 2^31 - 1)');
    const buf = Buffer.allocUnsafe(4);
    buf.writeInt32BE(data, 0);
    return buf;
  }

  deserialize(topic: string, data: Buffer | null, _headers?: Headers): number | null {
    if (data == null) return null;
    if (data.length !== 4)
      throw wrongSize(
        'IntegerDeserializer',
        4,
        topic,
        data.length,
        '4-byte big-endian ints (Java Serdes.Integer())',
      );
    return data.readInt32BE(0);
  }
}

export class ShortSerde implements Serde<number> {
  readonly name = 'Short';

  serialize(topic: string, data: number | null, _headers?: Headers): Buffer | null {
    if (data == null) return null;
    if ((data << 16) >> 16 !== data)
      throw cannotWrite('ShortSerializer', topic, data, 'a 16-bit signed integer (-32768 to 32767)');
    const buf = Buffer.allocUnsafe(2);
    buf.writeInt16BE(data, 0);
    return buf;
  }

  deserialize(topic: string, data: Buffer | null, _headers?: Headers): number | null {
    if (data == null) return null;
    if (data.length !== 2)
      throw wrongSize(
        'ShortDeserializer',
        2,
        topic,
        data.length,
        '2-byte big-endian shorts (Java Serdes.Short())',
      );
    return data.readInt16BE(0);
  }
}

export class DoubleSerde implements Serde<number> {
  readonly name = 'Double';

  serialize(topic: string, data: number | null, _headers?: Headers): Buffer | null {
    if (data == null) return null;
    if (typeof data !== 'number') throw cannotWrite('DoubleSerializer', topic, data, 'a number');
    const buf = Buffer.allocUnsafe(8);
    buf.writeDoubleBE(data, 0);
    return buf;
  }

  deserialize(topic: string, data: Buffer | null, _headers?: Headers): number | null {
    if (data == null) return null;
    if (data.length !== 8)
      throw wrongSize(
        'DoubleDeserializer',
        8,
        topic,
        data.length,
        '8-byte IEEE 754 doubles (Java Serdes.Double())',
      );
    return data.readDoubleBE(0);
  }
}

export class FloatSerde implements Serde<number> {
  readonly name = 'Float';

  serialize(topic: string, data: number | null, _headers?: Headers): Buffer | null {
    if (data == null) return null;
    if (typeof data !== 'number') throw cannotWrite('FloatSerializer', topic, data, 'a number');
    const buf = Buffer.allocUnsafe(4);
    buf.writeFloatBE(data, 0);
    return buf;
  }

  deserialize(topic: string, data: Buffer | null, _headers?: Headers): number | null {
    if (data == null) return null;
    if (data.length !== 4)
      throw wrongSize(
        'FloatDeserializer',
        4,
        topic,
        data.length,
        '4-byte IEEE 754 floats (Java Serdes.Float())',
      );
    return data.readFloatBE(0);
  }
}

export class BooleanSerde implements Serde<boolean> {
  readonly name = 'Boolean';

  serialize(topic: string, data: boolean | null, _headers?: Headers): Buffer | null {
    if (data == null) return null;
    if (typeof data !== 'boolean') throw cannotWrite('BooleanSerializer', topic, data, 'a boolean');
    const buf = Buffer.allocUnsafe(1);
    buf[0] = data ? 1 : 0;
    return buf;
  }

  deserialize(topic: string, data: Buffer | null, _headers?: Headers): boolean | null {
    if (data == null) return null;
    if (data.length !== 1)
      throw wrongSize(
        'BooleanDeserializer',
        1,
        topic,
        data.length,
        'single-byte booleans (Java Serdes.Boolean())',
      );
    const b = data[0];
    if (b === 0) return false;
    if (b === 1) return true;
    // Java's message, plus where it came from.
    throw new SerializationException(
      `Unexpected byte received by BooleanDeserializer: ${(b! << 24) >> 24} (topic "${topic}"); expected 0 or 1.`,
      {
        topic,
      },
    );
  }
}

/** Bytes as they are, with no copy in either direction. */
export class ByteArraySerde implements Serde<Uint8Array> {
  readonly name = 'ByteArray';

  serialize(topic: string, data: Uint8Array | null, _headers?: Headers): Buffer | null {
    if (data == null) return null;
    if (Buffer.isBuffer(data)) return data;
    if (!(data instanceof Uint8Array))
      throw cannotWrite('ByteArraySerializer', topic, data, 'a Uint8Array or Buffer');
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }

  deserialize(_topic: string, data: Buffer | null, _headers?: Headers): Uint8Array | null {
    return data;
  }
}

/** Like ByteArray, typed as Node's Buffer. */
export class BufferSerde implements Serde<Buffer> {
  readonly name = 'Buffer';

  serialize(topic: string, data: Buffer | null, _headers?: Headers): Buffer | null {
    if (data == null) return null;
    if (Buffer.isBuffer(data)) return data;
    if (!((data as unknown) instanceof Uint8Array))
      throw cannotWrite('BufferSerializer', topic, data, 'a Buffer');
    const view = data as Uint8Array;
    return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  }

  deserialize(_topic: string, data: Buffer | null, _headers?: Headers): Buffer | null {
    return data;
  }
}

const UUID_FORM = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * UUIDs as their 36-character text, as Java's UUIDSerde. Values are strings in canonical form;
 * both directions accept either case and produce lower case, which is what Java writes.
 */
export class UUIDSerde implements Serde<string> {
  readonly name = 'UUID';

  serialize(topic: string, data: string | null, _headers?: Headers): Buffer | null {
    if (data == null) return null;
    if (typeof data !== 'string' || !UUID_FORM.test(data)) {
      throw cannotWrite(
        'UUIDSerializer',
        topic,
        data,
        'a UUID string such as "123e4567-e89b-12d3-a456-426614174000"',
      );
    }
    return Buffer.from(data.toLowerCase(), 'latin1');
  }

  deserialize(topic: string, data: Buffer | null, _headers?: Headers): string | null {
    if (data == null) return null;
    const text = data.toString('latin1');
    if (data.length !== 36 || !UUID_FORM.test(text)) {
      throw new SerializationException(
        `Error parsing data into UUID: topic "${topic}" has ${data.length} bytes that are not a UUID in ` +
          `8-4-4-4-12 hex form. Check that the topic's producer writes UUIDs as text (Java Serdes.UUID()).`,
        { topic },
      );
    }
    return text.toLowerCase();
  }
}

/** For records whose key or value is always null, as Java's VoidSerde. */
export class VoidSerde implements Serde<null> {
  readonly name = 'Void';

  serialize(topic: string, data: null, _headers?: Headers): Buffer | null {
    if (data != null)
      throw cannotWrite('VoidSerializer', topic, data, 'null (Serdes.Void() only carries null)');
    return null;
  }

  deserialize(topic: string, data: Buffer | null, _headers?: Headers): null {
    if (data != null) {
      throw new SerializationException(
        `Data should be null for a VoidDeserializer: got ${data.length} bytes from topic "${topic}".`,
        { topic },
      );
    }
    return null;
  }
}

export interface JsonSerdeOptions {
  /** Passed to JSON.stringify, e.g. to write Map or bigint values. */
  replacer?: (this: unknown, key: string, value: unknown) => unknown;
  /** Passed to JSON.parse, e.g. to revive dates. */
  reviver?: (this: unknown, key: string, value: unknown) => unknown;
}

/**
 * UTF-8 JSON text, the format of Spring Kafka's JsonSerializer and of Kafka Connect's JsonConverter
 * with schemas disabled. The value `null` is a Kafka null (a tombstone), never the text `null`.
 */
export class JsonSerde<T> implements Serde<T> {
  readonly name = 'JSON';
  readonly #replacer: JsonSerdeOptions['replacer'];
  readonly #reviver: JsonSerdeOptions['reviver'];

  constructor(options?: JsonSerdeOptions) {
    this.#replacer = options?.replacer;
    this.#reviver = options?.reviver;
  }

  serialize(topic: string, data: T | null, _headers?: Headers): Buffer | null {
    if (data == null) return null;
    let text: string | undefined;
    try {
      text = JSON.stringify(data, this.#replacer);
    } catch (cause) {
      throw new SerializationException(
        `JsonSerializer cannot write ${describeForJson(data)} to topic "${topic}": ${message(cause)}`,
        {
          topic,
          cause,
        },
      );
    }
    if (text === undefined) throw cannotWrite('JsonSerializer', topic, data, 'a value JSON can represent');
    return Buffer.from(text, 'utf8');
  }

  deserialize(topic: string, data: Buffer | null, _headers?: Headers): T | null {
    if (data == null) return null;
    try {
      return JSON.parse(data.toString('utf8'), this.#reviver) as T;
    } catch (cause) {
      const preview = data.subarray(0, 32).toString('utf8');
      throw new SerializationException(
        `JsonDeserializer cannot parse ${data.length} bytes from topic "${topic}" ` +
          `(starting ${JSON.stringify(preview)}): ${message(cause)}. Check that the topic's producer writes UTF-8 JSON.`,
        { topic, cause },
      );
    }
  }
}

function describeForJson(value: unknown): string {
  return typeof value === 'object' && value !== null
    ? `object (${value.constructor?.name ?? 'Object'})`
    : typeof value;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
