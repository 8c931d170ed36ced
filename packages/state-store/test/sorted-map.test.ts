import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SortedMap } from '../src/internals/sorted-map.ts';

const byNumber = (a: number, b: number) => a - b;

describe('SortedMap', () => {
  it('matches a sorted reference across chunk splits and merges', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3_000 })), {
          minLength: 500,
          maxLength: 4_000,
        }),
        fc.integer({ min: 0, max: 3_000 }),
        fc.integer({ min: 0, max: 3_000 }),
        (ops, lo, hi) => {
          const map = new SortedMap<number, number>(byNumber);
          const model = new Set<number>();
          for (const [insert, k] of ops) {
            if (insert) expect(map.set(k, k * 2)).toBe(!model.has(k));
            else expect(map.delete(k)).toBe(model.has(k) ? k * 2 : undefined);
            if (insert) model.add(k);
            else model.delete(k);
          }
          const sorted = [...model].sort(byNumber);
          expect(map.size).toBe(sorted.length);
          expect([...map.entries()].map(([k]) => k)).toEqual(sorted);
          expect([...map.entries({ from: lo, to: hi })].map(([k]) => k)).toEqual(
            sorted.filter((k) => k >= lo && k <= hi),
          );
          expect(
            [
              ...map.entries({ from: lo, to: hi, fromInclusive: false, toInclusive: false, reverse: true }),
            ].map(([k]) => k),
          ).toEqual(sorted.filter((k) => k > lo && k < hi).reverse());
          for (const k of [lo, hi]) expect(map.get(k)).toBe(model.has(k) ? k * 2 : undefined);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('continues after the last returned key when written to while iterating', () => {
    const map = new SortedMap<number, string>(byNumber);
    for (let i = 0; i < 2_000; i += 2) map.set(i, 'even');
    const seen: number[] = [];
    for (const [k] of map.entries()) {
      seen.push(k);
      if (k % 100 === 0) map.set(k + 1, 'odd'); // ahead of the cursor: must be seen
      map.delete(k - 2); // behind the cursor: must not disturb it
    }
    const expected: number[] = [];
    for (let i = 0; i < 2_000; i += 2) expected.push(i, ...(i % 100 === 0 ? [i + 1] : []));
    expect(seen).toEqual(expected);

    const reversed: number[] = [];
    const map2 = new SortedMap<number, string>(byNumber);
    for (let i = 0; i < 2_000; i++) map2.set(i, 'v');
    for (const [k] of map2.entries({ reverse: true })) {
      reversed.push(k);
      map2.delete(k);
    }
    expect(reversed).toEqual([...Array(2_000).keys()].reverse());
  });
});
