import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey, toPositive } from '../../src/partitioning/index.ts';
import { Serdes } from '../../src/serdes/index.ts';
import { bytes, vectors } from '../vectors/java-vectors.ts';

describe('murmur2 and key partitioning, against Java Utils.murmur2 and the producer formula', () => {
  it('covers every tail length and high-bit bytes', () => {
    const lengths = new Set(vectors.murmur2.map((v) => (v.keyHex.length / 2) % 4));
    expect([...lengths].sort()).toEqual([0, 1, 2, 3]);
    expect(vectors.murmur2.some((v) => v.keyHex.length === 0)).toBe(true);
  });

  it('matches every Java vector: hash, toPositive, and partition for each partition count', () => {
    for (const v of vectors.murmur2) {
      const key = bytes(v.keyHex);
      expect(murmur2(key), v.keyHex).toBe(v.murmur2);
      expect(toPositive(murmur2(key)), v.keyHex).toBe(v.positive);
      for (const [count, partition] of Object.entries(v.partitions)) {
        expect(partitionForKey(key, Number(count)), `${v.keyHex} % ${count}`).toBe(partition);
      }
    }
  });

  it('hashes a plain Uint8Array and a Buffer view at an offset the same way', () => {
    for (const v of vectors.murmur2) {
      const key = bytes(v.keyHex);
      const padded = Buffer.concat([Buffer.from([0xaa, 0xbb, 0xcc]), key]).subarray(3);
      expect(murmur2(padded)).toBe(v.murmur2);
      expect(murmur2(new Uint8Array(key))).toBe(v.murmur2);
    }
  });

  it('places a String-serialized key where a Java producer would', () => {
    const key = Serdes.String().serialize('orders', 'order-42')!;
    const java = vectors.murmur2.find((v) => v.keyHex === key.toString('hex'))!;
    expect(partitionForKey(key, 12)).toBe(java.partitions['12']);
  });

  it('toPositive clears the sign bit, unlike Math.abs', () => {
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(123)).toBe(123);
  });

  it('always gives a signed 32-bit hash and a partition in range', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 10_000 }), (key, count) => {
        const h = murmur2(key);
        expect(h | 0).toBe(h);
        const p = partitionForKey(key, count);
        expect(Number.isInteger(p) && p >= 0 && p < count).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses a partition count that is not a positive integer', () => {
    const key = Buffer.from('k');
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => partitionForKey(key, bad)).toThrow(RangeError);
  });
});
