import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Serde, Serdes } from '../../src/serdes/index.ts';

const T = 'topic';

function roundTrips<V>(
  serde: Serde<V>,
  arbitrary: fc.Arbitrary<V>,
  equal: (a: V | null, b: V) => boolean = Object.is,
): void {
  fc.assert(
    fc.property(arbitrary, (value) => {
      const back = serde.deserialize(T, serde.serialize(T, value));
      if (!equal(back, value))
        throw new Error(`${serde.name}: ${String(value)} came back as ${String(back)}`);
    }),
    { numRuns: 2000 },
  );
}

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const epochMs = fc.integer({ min: 0, max: 253_402_300_799_999 }); // up to year 9999

describe('round trips of random values', () => {
  it('String, including arbitrary well-formed UTF-16', () => {
    roundTrips(Serdes.String(), fc.string({ unit: 'grapheme' }));
    roundTrips(Serdes.String(), fc.string({ unit: 'binary' }));
  });

  it('Long over the whole safe range, and LongBigInt over all 64 bits', () => {
    roundTrips(Serdes.Long(), fc.maxSafeInteger());
    roundTrips(Serdes.LongBigInt(), int64);
  });

  it('Long (number) and LongBigInt write the same bytes for the same value', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(
          Serdes.Long()
            .serialize(T, n)!
            .equals(Serdes.LongBigInt().serialize(T, BigInt(n))!),
        ).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('Long reads exactly the 64-bit values that fit a safe integer, and refuses the others', () => {
    fc.assert(
      fc.property(int64, (big) => {
        const buf = Serdes.LongBigInt().serialize(T, big)!;
        const safe = big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER);
        if (safe) expect(Serdes.Long().deserialize(T, buf)).toBe(Number(big));
        else expect(() => Serdes.Long().deserialize(T, buf)).toThrow();
      }),
      { numRuns: 5000 },
    );
  });

  it('Integer, Short, Double, Float, Boolean, UUID', () => {
    roundTrips(Serdes.Integer(), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
    roundTrips(Serdes.Short(), fc.integer({ min: -32768, max: 32767 }));
    roundTrips(Serdes.Double(), fc.double());
    roundTrips(Serdes.Float(), fc.float());
    roundTrips(Serdes.Boolean(), fc.boolean());
    roundTrips(Serdes.UUID(), fc.uuid());
  });

  it('JSON', () => {
    roundTrips(Serdes.JSON<unknown>(), fc.jsonValue({ noUnicodeString: false }), (a, b) => {
      expect(a).toStrictEqual(JSON.parse(JSON.stringify(b)));
      return true;
    });
  });

  it('time- and session-windowed keys', () => {
    const size = 60_000;
    const time = Serdes.TimeWindowed(Serdes.String(), size);
    fc.assert(
      fc.property(fc.string(), epochMs, (key, start) => {
        const w = { key, window: { start, end: start + size } };
        expect(time.deserialize(T, time.serialize(T, w))).toEqual(w);
      }),
    );
    const session = Serdes.SessionWindowed(Serdes.JSON<unknown>());
    fc.assert(
      fc.property(fc.jsonValue(), epochMs, fc.nat(1_000_000), (key, start, length) => {
        if (key === null) return;
        const w = { key: JSON.parse(JSON.stringify(key)), window: { start, end: start + length } };
        expect(session.deserialize(T, session.serialize(T, w))).toEqual(w);
      }),
    );
  });
});
