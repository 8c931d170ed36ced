import { describe, expect, it } from 'vitest';
import {
  Serdes,
  SerializationException,
  UNBOUNDED_WINDOW_END,
  type Windowed,
} from '../../src/serdes/index.ts';
import { bytes, hex, LONG_MAX, vectors } from '../vectors/java-vectors.ts';

const T = 'word-counts-out';

/** Java's Long.MAX_VALUE ("end unknown") arrives as UNBOUNDED_WINDOW_END. */
function asNumber(javaLong: string): number {
  return javaLong === LONG_MAX ? UNBOUNDED_WINDOW_END : Number(javaLong);
}

function isSafe(javaLong: string): boolean {
  return javaLong === LONG_MAX || Number.isSafeInteger(Number(javaLong));
}

describe('time-windowed keys, byte-compatible with Kafka Streams TimeWindowedSerializer', () => {
  it('writes key bytes then the 8-byte start, and reads the end back from the window size', () => {
    let checked = 0;
    for (const v of vectors.timeWindowedString) {
      const size = v.windowSize === LONG_MAX ? undefined : Number(v.windowSize);
      const serde = Serdes.TimeWindowed(Serdes.String(), size);
      if (!isSafe(v.start)) {
        // A start near Long.MAX_VALUE is not a real timestamp; we refuse rather than round it.
        expect(() => serde.deserialize(T, bytes(v.hex))).toThrow(SerializationException);
        continue;
      }
      const start = Number(v.start);
      const end = asNumber(v.readEnd);
      expect(hex(serde.serialize(T, { key: v.key, window: { start, end } })), v.key).toBe(v.hex);
      expect(serde.deserialize(T, bytes(v.hex))).toEqual({
        key: v.key,
        window: { start: asNumber(v.readStart), end },
      });
      checked++;
    }
    expect(checked).toBe(vectors.timeWindowedString.length - 1);
  });

  it('works with any inner serde', () => {
    const serde = Serdes.Windowed(Serdes.Long(), 1000);
    for (const v of vectors.timeWindowedLong) {
      const start = Number(v.start);
      const windowed: Windowed<number> = { key: Number(v.key), window: { start, end: start + 1000 } };
      if (!Number.isSafeInteger(Number(v.key))) continue;
      expect(hex(serde.serialize(T, windowed))).toBe(v.hex);
      expect(serde.deserialize(T, bytes(v.hex))).toEqual(windowed);
    }
    const big = Serdes.TimeWindowed(Serdes.LongBigInt(), 1000);
    for (const v of vectors.timeWindowedLong) {
      const start = Number(v.start);
      expect(hex(big.serialize(T, { key: BigInt(v.key), window: { start, end: start + 1000 } }))).toBe(v.hex);
    }
  });

  it('without a window size the end reads as UNBOUNDED_WINDOW_END, as Java reports Long.MAX_VALUE', () => {
    const serde = Serdes.Windowed(Serdes.String());
    const written = serde.serialize(T, { key: 'k', window: { start: 5000, end: 6000 } });
    expect(serde.deserialize(T, written)).toEqual({
      key: 'k',
      window: { start: 5000, end: UNBOUNDED_WINDOW_END },
    });
    expect(UNBOUNDED_WINDOW_END).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('reads zero bytes as null, as Java does, and rejects keys too short to hold a start', () => {
    const serde = Serdes.TimeWindowed(Serdes.String(), 1000);
    expect(serde.deserialize(T, Buffer.alloc(0))).toBeNull();
    expect(() => serde.deserialize(T, Buffer.alloc(7))).toThrow(
      /Size of data received by TimeWindowedDeserializer is less than 8: got 7 bytes from topic "word-counts-out"/,
    );
  });

  it('refuses a window size that is not a positive integer', () => {
    expect(() => Serdes.TimeWindowed(Serdes.String(), 0)).toThrow(RangeError);
    expect(() => Serdes.TimeWindowed(Serdes.String(), 1.5)).toThrow(RangeError);
  });

  it('refuses a key that serializes to null and a start that is not an integer', () => {
    const serde = Serdes.TimeWindowed(Serdes.String(), 1000);
    expect(() => serde.serialize(T, { key: null as never, window: { start: 0, end: 1000 } })).toThrow(
      /key serializes to null.*inner serde String/,
    );
    expect(() => serde.serialize(T, { key: 'k', window: { start: 1.5, end: 1000 } })).toThrow(
      SerializationException,
    );
  });
});

describe('session-windowed keys, byte-compatible with Kafka Streams SessionWindowedSerializer', () => {
  it('writes key bytes, then the end, then the start', () => {
    const serde = Serdes.SessionWindowed(Serdes.String());
    for (const v of vectors.sessionWindowedString) {
      const windowed = { key: v.key, window: { start: Number(v.start), end: Number(v.end) } };
      expect(hex(serde.serialize(T, windowed)), v.key).toBe(v.hex);
      expect(serde.deserialize(T, bytes(v.hex))).toEqual({
        key: v.key,
        window: { start: Number(v.readStart), end: Number(v.readEnd) },
      });
    }
  });

  it('writes UNBOUNDED_WINDOW_END as Java Long.MAX_VALUE and reads it back', () => {
    const serde = Serdes.SessionWindowed(Serdes.String());
    const written = serde.serialize(T, { key: '', window: { start: 0, end: UNBOUNDED_WINDOW_END } })!;
    expect(hex(written)).toBe('7fffffffffffffff0000000000000000');
    expect(serde.deserialize(T, written)!.window.end).toBe(UNBOUNDED_WINDOW_END);
  });

  it('reads zero bytes as null and rejects keys too short to hold both timestamps', () => {
    const serde = Serdes.SessionWindowed(Serdes.String());
    expect(serde.deserialize(T, Buffer.alloc(0))).toBeNull();
    expect(() => serde.deserialize(T, Buffer.alloc(15))).toThrow(
      /SessionWindowedDeserializer is less than 16: got 15 bytes/,
    );
  });
});
