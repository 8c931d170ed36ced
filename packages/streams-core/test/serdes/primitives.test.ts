import { describe, expect, it } from 'vitest';
import { Serdes, SerializationException } from '../../src/serdes/index.ts';
import { bytes, hex, vectors } from '../vectors/java-vectors.ts';

const T = 'orders';

describe(
  'byte compatibility with the Java client (vectors from kafka-clients ' + vectors.kafkaClientsVersion + ')',
  () => {
    it('String writes and reads what Java does, including astral characters and lone surrogates', () => {
      const serde = Serdes.String();
      for (const v of vectors.string) {
        expect(hex(serde.serialize(T, v.value)), JSON.stringify(v.value)).toBe(v.hex);
        // A lone surrogate cannot come back: Java wrote '?' in its place.
        if (Buffer.from(v.value, 'utf8').toString('utf8') !== v.value) continue;
        expect(serde.deserialize(T, bytes(v.hex))).toBe(v.value);
      }
    });

    it('String reads malformed UTF-8 as Java does, except an encoded surrogate', () => {
      const serde = Serdes.String();
      for (const v of vectors.stringDecode) {
        const read = serde.deserialize(T, bytes(v.hex));
        if (v.hex === 'eda080') {
          // Java replaces the whole 3-byte sequence with one U+FFFD; Node (WHATWG) uses one per byte.
          expect(read).toBe('\ufffd\ufffd\ufffd');
          expect(v.value).toBe('\ufffd');
        } else {
          expect(read, v.hex).toBe(v.value);
        }
      }
    });

    it('Long (number) matches Java for every value in the safe range and refuses the rest', () => {
      const serde = Serdes.Long();
      let checked = 0;
      for (const v of vectors.long) {
        const big = BigInt(v.value);
        const safe = big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= BigInt(Number.MIN_SAFE_INTEGER);
        if (safe) {
          expect(hex(serde.serialize(T, Number(big))), v.value).toBe(v.hex);
          expect(serde.deserialize(T, bytes(v.hex)), v.value).toBe(Number(big));
          checked++;
        } else {
          expect(() => serde.deserialize(T, bytes(v.hex)), v.value).toThrow(SerializationException);
          expect(() => serde.deserialize(T, bytes(v.hex))).toThrow(`read ${v.value} from topic "orders"`);
          expect(() => serde.deserialize(T, bytes(v.hex))).toThrow('Serdes.LongBigInt()');
        }
      }
      expect(checked).toBeGreaterThan(15);
    });

    it('LongBigInt matches Java over the full 64-bit range', () => {
      const serde = Serdes.LongBigInt();
      for (const v of vectors.long) {
        expect(hex(serde.serialize(T, BigInt(v.value))), v.value).toBe(v.hex);
        expect(serde.deserialize(T, bytes(v.hex))).toBe(BigInt(v.value));
      }
    });

    it('Integer and Short match Java', () => {
      for (const v of vectors.integer) {
        expect(hex(Serdes.Integer().serialize(T, v.value)), String(v.value)).toBe(v.hex);
        expect(Serdes.Integer().deserialize(T, bytes(v.hex))).toBe(v.value);
      }
      for (const v of vectors.short) {
        expect(hex(Serdes.Short().serialize(T, v.value)), String(v.value)).toBe(v.hex);
        expect(Serdes.Short().deserialize(T, bytes(v.hex))).toBe(v.value);
      }
    });

    it('Double and Float match Java, including NaN, -0 and infinities', () => {
      for (const [serde, list] of [
        [Serdes.Double(), vectors.double],
        [Serdes.Float(), vectors.float],
      ] as const) {
        for (const v of list) {
          const value = Number(v.value);
          expect(hex(serde.serialize(T, value)), `${serde.name} ${v.value}`).toBe(v.hex);
          expect(Object.is(serde.deserialize(T, bytes(v.hex)), value), `${serde.name} ${v.value}`).toBe(true);
        }
      }
    });

    it('Boolean and UUID match Java', () => {
      for (const v of vectors.boolean) {
        expect(hex(Serdes.Boolean().serialize(T, v.value))).toBe(v.hex);
        expect(Serdes.Boolean().deserialize(T, bytes(v.hex))).toBe(v.value);
      }
      for (const v of vectors.uuid) {
        expect(hex(Serdes.UUID().serialize(T, v.value))).toBe(v.hex);
        expect(hex(Serdes.UUID().serialize(T, v.value.toUpperCase()))).toBe(v.hex);
        expect(Serdes.UUID().deserialize(T, bytes(v.hex))).toBe(v.value);
      }
      const upper = Buffer.from('F47AC10B-58CC-4372-A567-0E02B2C3D479');
      expect(Serdes.UUID().deserialize(T, upper)).toBe('f47ac10b-58cc-4372-a567-0e02b2c3d479');
    });
  },
);

describe('null and special values', () => {
  const all = [
    Serdes.String(),
    Serdes.Long(),
    Serdes.LongBigInt(),
    Serdes.Integer(),
    Serdes.Short(),
    Serdes.Double(),
    Serdes.Float(),
    Serdes.Boolean(),
    Serdes.ByteArray(),
    Serdes.Buffer(),
    Serdes.UUID(),
    Serdes.Void(),
    Serdes.JSON(),
    Serdes.TimeWindowed(Serdes.String(), 1000),
    Serdes.SessionWindowed(Serdes.String()),
  ];

  it('null maps to null both ways, and undefined is written as null', () => {
    for (const serde of all) {
      expect(serde.serialize(T, null), serde.name).toBeNull();
      expect(serde.serialize(T, undefined as never), serde.name).toBeNull();
      expect(serde.deserialize(T, null), serde.name).toBeNull();
    }
  });

  it('stateless serdes are shared instances with stable names', () => {
    expect(Serdes.String()).toBe(Serdes.String());
    expect(Serdes.Long().name).toBe('Long');
    expect(Serdes.JSON().name).toBe('JSON');
    expect(Serdes.TimeWindowed(Serdes.Long()).name).toBe('TimeWindowed<Long>');
  });

  it('ByteArray and Buffer pass bytes through without copying', () => {
    const buf = Buffer.from([1, 2, 3]);
    expect(Serdes.Buffer().serialize(T, buf)).toBe(buf);
    expect(Serdes.ByteArray().deserialize(T, buf)).toBe(buf);
    const backing = new Uint8Array([9, 1, 2, 3, 9]);
    const view = backing.subarray(1, 4);
    const written = Serdes.ByteArray().serialize(T, view)!;
    expect(hex(written)).toBe('010203');
    backing[2] = 7;
    expect(written[1]).toBe(7);
  });

  it('Void only carries null', () => {
    expect(() => Serdes.Void().serialize(T, 1 as never)).toThrow(SerializationException);
    expect(() => Serdes.Void().deserialize(T, Buffer.alloc(0))).toThrow(
      'Data should be null for a VoidDeserializer',
    );
  });

  it('JSON writes UTF-8 JSON text and reads it back', () => {
    const serde = Serdes.JSON<{ id: number; name: string; tags: string[] }>();
    const value = { id: 42, name: 'ünïcødé ☃ 𝄞', tags: ['a'] };
    const written = serde.serialize(T, value)!;
    expect(written.toString('utf8')).toBe('{"id":42,"name":"ünïcødé ☃ 𝄞","tags":["a"]}');
    expect(serde.deserialize(T, written)).toEqual(value);
    expect(Serdes.JSON<number>().serialize(T, 0)!.toString()).toBe('0');
  });

  it('JSON takes a replacer and reviver, e.g. for dates', () => {
    const serde = Serdes.JSON<{ at: Date }>({
      reviver: (key, value) => (key === 'at' ? new Date(value as string) : value),
    });
    const at = new Date('2024-06-01T00:00:00.000Z');
    expect(serde.deserialize(T, serde.serialize(T, { at }))).toEqual({ at });
    const bigints = Serdes.JSON<{ n: bigint }>({
      replacer: (_k, v) => (typeof v === 'bigint' ? v.toString() : v),
    });
    expect(bigints.serialize(T, { n: 2n ** 64n })!.toString()).toBe('{"n":"18446744073709551616"}');
  });
});

describe('errors say what went wrong, where, and what to check', () => {
  const fixed = [
    ['Long', Serdes.Long(), 'LongDeserializer', 8],
    ['LongBigInt', Serdes.LongBigInt(), 'LongDeserializer', 8],
    ['Integer', Serdes.Integer(), 'IntegerDeserializer', 4],
    ['Short', Serdes.Short(), 'ShortDeserializer', 2],
    ['Double', Serdes.Double(), 'DoubleDeserializer', 8],
    ['Float', Serdes.Float(), 'FloatDeserializer', 4],
    ['Boolean', Serdes.Boolean(), 'BooleanDeserializer', 1],
  ] as const;

  it.each(fixed)('%s rejects bytes of the wrong size', (_name, serde, deserializer, size) => {
    for (const length of [0, size - 1, size + 1, 17]) {
      if (length === size) continue;
      let error: unknown;
      try {
        serde.deserialize('payments', Buffer.alloc(Math.max(0, length)));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SerializationException);
      const e = error as SerializationException;
      expect(e.name).toBe('SerializationException');
      expect(e.topic).toBe('payments');
      expect(e.message).toContain(`Size of data received by ${deserializer} is not ${size}`);
      expect(e.message).toContain(`got ${Math.max(0, length)} byte`);
      expect(e.message).toContain('topic "payments"');
      expect(e.message).toContain('key or value');
    }
  });

  it('a string where a Long was expected is explained', () => {
    expect(() => Serdes.Long().deserialize('counts', Buffer.from('42'))).toThrow(
      /Size of data received by LongDeserializer is not 8: got 2 bytes from topic "counts".*8-byte big-endian longs/,
    );
  });

  it('Long refuses numbers it cannot write exactly', () => {
    for (const bad of [2 ** 53, -(2 ** 53), 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => Serdes.Long().serialize(T, bad), String(bad)).toThrow(SerializationException);
    }
    expect(() => Serdes.Long().serialize(T, 2 ** 53)).toThrow('Serdes.LongBigInt()');
    expect(() => Serdes.Long().serialize(T, '1' as never)).toThrow('cannot write string "1"');
    expect(() => Serdes.LongBigInt().serialize(T, 2n ** 63n)).toThrow(SerializationException);
    expect(() => Serdes.LongBigInt().serialize(T, -(2n ** 63n) - 1n)).toThrow(SerializationException);
  });

  it('Integer and Short refuse values outside their range', () => {
    for (const bad of [2 ** 31, -(2 ** 31) - 1, 0.5, Number.NaN]) {
      expect(() => Serdes.Integer().serialize(T, bad), String(bad)).toThrow(
        /IntegerSerializer cannot write.*32-bit/,
      );
    }
    for (const bad of [32768, -32769, 0.5]) {
      expect(() => Serdes.Short().serialize(T, bad), String(bad)).toThrow(
        /ShortSerializer cannot write.*16-bit/,
      );
    }
  });

  it('Boolean refuses bytes other than 0 and 1, with the Java message', () => {
    expect(() => Serdes.Boolean().deserialize(T, Buffer.from([2]))).toThrow(
      'Unexpected byte received by BooleanDeserializer: 2',
    );
    expect(() => Serdes.Boolean().deserialize(T, Buffer.from([0xff]))).toThrow(
      'Unexpected byte received by BooleanDeserializer: -1',
    );
  });

  it('UUID refuses text that is not a UUID', () => {
    expect(() => Serdes.UUID().deserialize(T, Buffer.from('not-a-uuid'))).toThrow(
      /Error parsing data into UUID: topic "orders" has 10 bytes/,
    );
    expect(() => Serdes.UUID().serialize(T, '123')).toThrow(SerializationException);
  });

  it('JSON errors name the topic and show the start of the bytes', () => {
    let error: unknown;
    try {
      Serdes.JSON().deserialize('events', Buffer.from('{"broken": '));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SerializationException);
    expect((error as Error).message).toMatch(
      /JsonDeserializer cannot parse 11 bytes from topic "events" \(starting "\{\\"broken\\": "\)/,
    );
    expect((error as Error).cause).toBeInstanceOf(SyntaxError);
    expect(() => Serdes.JSON().deserialize(T, Buffer.alloc(0))).toThrow(SerializationException);
    expect(() => Serdes.JSON().serialize(T, { n: 1n })).toThrow(
      /JsonSerializer cannot write object \(Object\) to topic "orders"/,
    );
    expect(() => Serdes.JSON().serialize(T, (() => 1) as never)).toThrow(SerializationException);
  });
});
