import { createRecordsBatch } from '@platformatic/kafka';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BatchMessage, encodeRecordBatch } from '../src/encoding/record-batch.ts';

const bytes = fc.option(
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  { nil: null },
);
const message = fc.record({
  key: bytes,
  value: bytes,
  headers: fc.option(
    fc
      .array(fc.tuple(fc.string({ maxLength: 8 }), fc.uint8Array({ maxLength: 20 })), { maxLength: 3 })
      .map((hs) => new Map(hs.map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as [Buffer, Buffer]))),
    { nil: undefined },
  ),
  // A delta from the batch's first timestamp, within the bounds the adapter keeps a batch to
  // (the client encodes no larger ones).
  delta: fc.integer({ min: -(2 ** 31 - 1), max: 2 ** 31 - 1 }),
});

describe('one-pass record batch encoding', () => {
  it('writes the bytes the client writes, for any messages and producer state', () => {
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 40 }),
        fc.bigInt({ min: 2n ** 31n, max: 2n ** 42n }),
        fc.bigInt({ min: -1n, max: 2n ** 40n }),
        fc.integer({ min: 0, max: 32_000 }),
        fc.integer({ min: 0, max: 2 ** 30 }),
        fc.boolean(),
        (generated, base, producerId, producerEpoch, firstSequence, transactional) => {
          const messages: BatchMessage[] = generated.map(({ delta, ...m }, i) => ({
            ...m,
            timestamp: i === 0 ? base : base + BigInt(delta),
          }));
          const theirs = createRecordsBatch(
            messages.map((m) => ({ ...m, topic: 't', partition: 0 })) as never,
            {
              producerId,
              producerEpoch,
              sequences: { getWithDefault: () => firstSequence },
              ...(transactional ? { transactionalId: 'tx' } : {}),
            } as never,
          );
          const ours = encodeRecordBatch(messages, {
            producerId,
            producerEpoch,
            firstSequence,
            transactional,
          });
          expect(ours.equals(theirs.buffer)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
