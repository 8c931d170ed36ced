import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Serdes } from '../../src/serdes/serdes.ts';
import { valueAndTimestampSerde } from '../../src/state/value-and-timestamp.ts';

describe('valueAndTimestampSerde', () => {
  const serde = valueAndTimestampSerde(Serdes.String());

  it("writes Kafka Streams' layout: an 8-byte big-endian signed timestamp, then the value", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
        fc.string(),
        (timestamp, value) => {
          const bytes = serde.serialize('t', { value, timestamp });
          expect(bytes?.readBigInt64BE(0)).toBe(BigInt(timestamp));
          expect(bytes?.subarray(8).toString('utf8')).toBe(value);
          expect(serde.deserialize('t', bytes)).toEqual({ value, timestamp });
        },
      ),
    );
  });

  it('refuses bytes too short for a timestamp, or a timestamp no number holds exactly', () => {
    expect(() => serde.deserialize('t', Buffer.alloc(7))).toThrow(/fewer than its 8-byte timestamp/);
    const huge = Buffer.alloc(9);
    huge.writeBigInt64BE(2n ** 62n, 0);
    expect(() => serde.deserialize('t', huge)).toThrow(/outside JavaScript's safe integer range/);
  });
});
