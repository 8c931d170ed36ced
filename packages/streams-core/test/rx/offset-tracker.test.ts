import { PartitionOffsets } from '@kafka-pattern/streams-core/rx';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** The model: the committable offset is one past the longest acknowledged prefix of the delivered offsets. */
function expectedCommittable(delivered: bigint[], acked: Set<bigint>): bigint | undefined {
  let committable: bigint | undefined;
  for (const o of delivered) {
    if (!acked.has(o)) break;
    committable = o + 1n;
  }
  return committable;
}

describe('PartitionOffsets', () => {
  it('holds the commit at the first unacknowledged record and advances once the gap is acknowledged', () => {
    const t = new PartitionOffsets();
    for (const o of [0n, 1n, 2n, 3n]) t.deliver(o);
    expect(t.acknowledge(1n)).toBe(false);
    expect(t.acknowledge(3n)).toBe(false);
    expect(t.committable).toBeUndefined();
    expect(t.outstanding).toBe(4);
    expect(t.acknowledge(0n)).toBe(true);
    expect(t.committable).toBe(2n);
    expect(t.outstanding).toBe(2);
    expect(t.acknowledge(2n)).toBe(true);
    expect(t.committable).toBe(4n);
    expect(t.outstanding).toBe(0);
  });

  it('skips offset gaps (transaction markers) and ignores unknown or repeated acknowledgements', () => {
    const t = new PartitionOffsets();
    t.deliver(5n);
    t.deliver(7n);
    expect(t.acknowledge(6n)).toBe(false);
    expect(t.acknowledge(5n)).toBe(true);
    expect(t.acknowledge(5n)).toBe(false);
    expect(t.committable).toBe(6n);
    t.acknowledge(7n);
    expect(t.committable).toBe(8n);
  });

  it('refuses deliveries out of offset order', () => {
    const t = new PartitionOffsets();
    t.deliver(3n);
    expect(() => t.deliver(3n)).toThrow(RangeError);
    expect(() => t.deliver(1n)).toThrow(/offset order/);
  });

  it('matches the prefix model for any delivery gaps and acknowledgement order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 400 }),
        fc.integer({ min: 1, max: 300 }),
        (gaps, picks, deliverFirst) => {
          const offsets: bigint[] = [];
          let next = 0n;
          for (const g of gaps) {
            offsets.push(next);
            next += BigInt(g);
          }
          const t = new PartitionOffsets();
          const delivered: bigint[] = [];
          const acked = new Set<bigint>();
          let committed: bigint | undefined;
          const deliver = (n: number) => {
            while (delivered.length < Math.min(offsets.length, n)) {
              const o = offsets[delivered.length]!;
              t.deliver(o);
              delivered.push(o);
            }
          };
          deliver(deliverFirst);
          for (const [i, p] of picks.entries()) {
            if (i % 7 === 0) deliver(delivered.length + (p % 5));
            const o = delivered[p % delivered.length]!;
            t.acknowledge(o);
            acked.add(o);
            const expected = expectedCommittable(delivered, acked);
            expect(t.committable).toBe(expected);
            // Never past an unacknowledged record, and never backwards.
            const firstUnacked = delivered.find((d) => !acked.has(d));
            if (firstUnacked !== undefined && t.committable !== undefined)
              expect(t.committable <= firstUnacked).toBe(true);
            if (committed !== undefined) expect(t.committable! >= committed).toBe(true);
            committed = t.committable;
            const prefix = delivered.findIndex((d) => !acked.has(d));
            expect(t.outstanding).toBe(prefix < 0 ? 0 : delivered.length - prefix);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
