/**
 * read_committed filtering of fetched batches: every aborted transaction the broker lists is
 * skipped, also when one producer has several in one answer, and the reader's position still
 * moves past what it skipped.
 *
 * The batches below are the output partition of a frozen-member run: producer 597 is the member
 * that was frozen past its session timeout. Resumed, it sent the batch it had built before the
 * freeze (242-267, counts of before the freeze) and twice reprocessed in its dead generation; all
 * three transactions were aborted, interleaved with the commits of producer 598 that had taken its
 * partition over.
 */
import { type Consumer, kGetApi } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import {
  type AbortedTransaction,
  abortedBatches,
  type FetchedBatch,
} from '../../src/client/platformatic/aborted-transactions.ts';
import { Fetcher } from '../../src/client/platformatic/fetcher.ts';

interface Batch extends FetchedBatch {
  firstTimestamp: bigint;
  records: Array<{
    offsetDelta: number;
    timestampDelta: bigint;
    key: Buffer | null;
    value: Buffer | null;
    headers: [Buffer | null, Buffer | null][];
  }>;
}

const long = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
};

/** `count` records of one producer from `first`, each value the batch's `value`. */
function data(producerId: number, first: number, count: number, value: number, transactional = true): Batch {
  return {
    firstOffset: BigInt(first),
    lastOffsetDelta: count - 1,
    attributes: transactional ? 0b1_0000 : 0,
    producerId: BigInt(producerId),
    firstTimestamp: 0n,
    records: Array.from({ length: count }, (_, i) => ({
      offsetDelta: i,
      timestampDelta: 0n,
      key: Buffer.from(`key-${i}`),
      value: long(value),
      headers: [],
    })),
  };
}

function marker(producerId: number, offset: number, commit: boolean): Batch {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(commit ? 1 : 0, 2);
  return {
    firstOffset: BigInt(offset),
    lastOffsetDelta: 0,
    attributes: 0b11_0000,
    producerId: BigInt(producerId),
    firstTimestamp: 0n,
    records: [{ offsetDelta: 0, timestampDelta: 0n, key, value: Buffer.alloc(6), headers: [] }],
  };
}

const zombie = 597;
const owner = 598;
const frozenMemberLog: Batch[] = [
  data(zombie, 54, 26, 17),
  marker(zombie, 80, true),
  data(owner, 216, 26, 227),
  data(zombie, 242, 26, 23),
  marker(owner, 268, true),
  marker(zombie, 269, false),
  data(zombie, 270, 26, 230),
  marker(zombie, 296, false),
  data(zombie, 297, 26, 230),
  marker(zombie, 323, false),
  data(owner, 324, 26, 230),
  marker(owner, 350, false),
  data(zombie, 351, 26, 240),
  marker(zombie, 377, true),
];
const frozenMemberAborted: AbortedTransaction[] = [
  { producerId: BigInt(zombie), firstOffset: 242n },
  { producerId: BigInt(zombie), firstOffset: 270n },
  { producerId: BigInt(zombie), firstOffset: 297n },
  { producerId: BigInt(owner), firstOffset: 324n },
];

const firstOffsets = (batches: Iterable<FetchedBatch>) => [...batches].map((b) => Number(b.firstOffset));

describe('abortedBatches', () => {
  it('skips each aborted transaction of a producer that has several in one answer', () => {
    expect(firstOffsets(abortedBatches(frozenMemberLog, frozenMemberAborted))).toEqual([242, 270, 297, 324]);
  });

  it('does not depend on the order the broker lists the aborted transactions in', () => {
    const shuffled = [
      frozenMemberAborted[2]!,
      frozenMemberAborted[0]!,
      frozenMemberAborted[3]!,
      frozenMemberAborted[1]!,
    ];
    expect(firstOffsets(abortedBatches(frozenMemberLog, shuffled))).toEqual([242, 270, 297, 324]);
  });

  it('keeps a committed transaction between two aborted ones of the same producer', () => {
    const log = [
      data(7, 0, 3, 1),
      marker(7, 3, false),
      data(7, 4, 3, 2),
      marker(7, 7, true),
      data(7, 8, 3, 3),
      marker(7, 11, false),
    ];
    const aborted = [
      { producerId: 7n, firstOffset: 0n },
      { producerId: 7n, firstOffset: 8n },
    ];
    expect(firstOffsets(abortedBatches(log, aborted))).toEqual([0, 8]);
  });

  it('skips an aborted transaction whose marker is not in this answer', () => {
    expect(
      firstOffsets(
        abortedBatches([data(owner, 216, 26, 227), data(zombie, 242, 26, 23)], frozenMemberAborted),
      ),
    ).toEqual([242]);
  });

  it('keeps non-transactional batches and batches before an aborted transaction starts', () => {
    const log = [
      data(9, 0, 2, 1, false),
      data(7, 2, 2, 1),
      marker(7, 4, true),
      data(7, 5, 2, 2),
      marker(7, 7, false),
    ];
    expect(firstOffsets(abortedBatches(log, [{ producerId: 7n, firstOffset: 5n }]))).toEqual([5]);
  });
});

/** Options of every fetch the fake client was asked for. */
const fetchOptions: Array<Record<string, unknown>> = [];

type Answer = { records: Batch[]; abortedTransactions: AbortedTransaction[] };
type FetchCallback = (error: Error | null, response?: unknown) => void;

/**
 * A client whose fetches answer the given partition answers in turn, for topic "out", partition 0.
 * Like the real client it obtains the Fetch API through its API lookup and, under read_committed,
 * then filters the answer by the partition's list of aborted transactions: here by dropping every
 * transactional batch of a listed producer, so a committed batch survives only if the fetcher
 * keeps that list away from the client.
 */
function client(answers: Answer[]): Consumer {
  const tracked = new Set<string>();
  const fetchApi = (_connection: unknown, ...args: unknown[]) => {
    const callback = args.at(-1) as FetchCallback;
    const answer = answers.shift();
    if (!answer) {
      callback(new Error('no more answers scripted'));
      return;
    }
    callback(null, {
      responses: [{ topicId: 'out-id', partitions: [{ partitionIndex: 0, ...answer }] }],
    });
  };
  const fake = {
    topics: {
      has: (t: string) => tracked.has(t),
      trackAll: (...ts: string[]) => {
        for (const t of ts) tracked.add(t);
      },
    },
    metadata: async () => ({ topics: new Map([['out', { id: 'out-id', partitions: [{ leader: 1 }] }]]) }),
    [kGetApi]: (name: string, callback: FetchCallback) => {
      if (name === 'Fetch') callback(null, fetchApi);
      else callback(new Error(`unexpected API ${name}`));
    },
    fetch(o: Record<string, unknown>) {
      fetchOptions.push(o);
      return new Promise((resolve, reject) => {
        fake[kGetApi]('Fetch', (error, api) => {
          if (error) return reject(error);
          (api as typeof fetchApi)({}, o.isolationLevel, (e: Error | null, response?: unknown) => {
            if (e) return reject(e);
            const answer = response as { responses: Array<{ partitions: Answer[] }> };
            if (o.isolationLevel === 1) {
              for (const partition of answer.responses.flatMap((r) => r.partitions)) {
                const listed = new Set(partition.abortedTransactions.map((t) => t.producerId));
                partition.records = partition.records.filter(
                  (b) => (b.attributes & 0b11_0000) !== 0b1_0000 || !listed.has(b.producerId),
                );
              }
            }
            resolve(answer);
          });
        });
      });
    },
  };
  return fake as unknown as Consumer;
}

describe('Fetcher under read_committed', () => {
  const options = { isolationLevel: 'read_committed', maxWaitMs: 10, maxBytesPerPartition: 1 << 20 } as const;

  it('delivers the committed records only and moves past the aborted ones and the markers', async () => {
    const fetcher = new Fetcher(
      client([{ records: frozenMemberLog, abortedTransactions: frozenMemberAborted }]),
      options,
    );
    fetcher.set({ topic: 'out', partition: 0, offset: 54n });
    const [batch] = await fetcher.fetch();
    const counts = batch!.records.map((r) => [Number(r.offset), Number(r.value!.readBigInt64BE(0))]);
    expect(new Set(counts.map(([, count]) => count))).toEqual(new Set([17, 227, 240]));
    expect(counts.map(([offset]) => offset)).toEqual([
      ...Array.from({ length: 26 }, (_, i) => 54 + i),
      ...Array.from({ length: 26 }, (_, i) => 216 + i),
      ...Array.from({ length: 26 }, (_, i) => 351 + i),
    ]);
    expect(fetcher.positions.get('out:0')?.offset).toBe(378n);
    // The broker is asked for read_committed, while the client's own filter never sees the list of
    // aborted transactions: of a producer with two abort markers in one answer it drops
    // everything between the first aborted transaction and the last marker, committed
    // transactions included (seen on a windowed count's output after three SIGKILLs).
    expect(fetchOptions.at(-1)).toMatchObject({ isolationLevel: 1 });
  });

  it('keeps a committed transaction between an aborted one and a later abort marker of the same producer', async () => {
    // The fenced restart of a killed member aborts a transaction that had added the partition but
    // written nothing to it: an abort marker with no aborted range listed for it.
    const log = [
      marker(2544, 1002, true),
      data(2544, 1003, 5, 1),
      marker(2544, 1008, false),
      data(2544, 1009, 5, 2),
      marker(2544, 1014, true),
      marker(2544, 1015, false),
    ];
    const fetcher = new Fetcher(
      client([{ records: log, abortedTransactions: [{ producerId: 2544n, firstOffset: 1003n }] }]),
      options,
    );
    fetcher.set({ topic: 'out', partition: 0, offset: 1002n });
    const [batch] = await fetcher.fetch();
    expect(batch!.records.map((r) => Number(r.offset))).toEqual([1009, 1010, 1011, 1012, 1013]);
    expect(fetcher.positions.get('out:0')?.offset).toBe(1016n);
  });

  it('moves past an aborted batch whose marker comes in the next answer', async () => {
    const fetcher = new Fetcher(
      client([
        { records: [data(zombie, 242, 26, 23)], abortedTransactions: [frozenMemberAborted[0]!] },
        {
          records: [marker(owner, 268, true), marker(zombie, 269, false), data(owner, 270, 2, 228)],
          abortedTransactions: [],
        },
      ]),
      options,
    );
    fetcher.set({ topic: 'out', partition: 0, offset: 242n });
    expect(await fetcher.fetch()).toEqual([]);
    expect(fetcher.positions.get('out:0')?.offset).toBe(268n);
    const [batch] = await fetcher.fetch();
    expect(batch!.records.map((r) => Number(r.offset))).toEqual([270, 271]);
    expect(fetcher.positions.get('out:0')?.offset).toBe(272n);
  });
});
