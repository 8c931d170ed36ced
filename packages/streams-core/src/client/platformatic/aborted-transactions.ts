/**
 * read_committed filtering of one fetched partition, as the Java consumer does it (KIP-98).
 *
 * Under read_committed the broker answers with everything up to the last stable offset, the
 * records of aborted transactions included, and lists the aborted transactions that overlap the
 * answer (producer id, first offset): the reader drops them itself. Walking the batches in offset
 * order, a producer counts as aborted from the first batch that reaches the first offset of one of
 * its aborted transactions until its abort marker; its transactional batches in between are
 * dropped. Each listed transaction is a range of its own, so one producer can have several in one
 * answer: a member whose transactions keep being aborted writes exactly that.
 *
 * The client's own filter keeps a single range per producer id (the last one listed) and so
 * delivers the earlier aborted transactions of that producer as if they had committed.
 */

const IS_TRANSACTIONAL = 0b1_0000;
const IS_CONTROL = 0b10_0000;

/** What the filter reads of a fetched record batch. */
export interface FetchedBatch {
  firstOffset: bigint;
  lastOffsetDelta: number;
  attributes: number;
  producerId: bigint;
  records: ReadonlyArray<{ key: Buffer | null }>;
}

export interface AbortedTransaction {
  producerId: bigint;
  firstOffset: bigint;
}

export function isControlBatch(batch: FetchedBatch): boolean {
  return (batch.attributes & IS_CONTROL) !== 0;
}

/** A control batch whose marker ends a transaction with an abort (marker type 0; 1 is commit). */
function isAbortMarker(batch: FetchedBatch): boolean {
  const key = batch.records[0]?.key;
  return (
    isControlBatch(batch) && key !== null && key !== undefined && key.length >= 4 && key.readInt16BE(2) === 0
  );
}

/**
 * The batches of `batches` (one partition's, in offset order) that belong to aborted
 * transactions. The reader skips their records but still moves its position past them, as past
 * the control batches.
 */
export function abortedBatches<B extends FetchedBatch>(
  batches: readonly B[],
  aborted: readonly AbortedTransaction[],
): Set<B> {
  const out = new Set<B>();
  if (aborted.length === 0) return out;
  const queue = [...aborted].sort((a, b) =>
    a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
  );
  let next = 0;
  const abortedProducers = new Set<bigint>();
  for (const batch of batches) {
    const lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    while (next < queue.length && queue[next]!.firstOffset <= lastOffset)
      abortedProducers.add(queue[next++]!.producerId);
    if (isControlBatch(batch)) {
      if (isAbortMarker(batch)) abortedProducers.delete(batch.producerId);
    } else if ((batch.attributes & IS_TRANSACTIONAL) !== 0 && abortedProducers.has(batch.producerId)) {
      out.add(batch);
    }
  }
  return out;
}
