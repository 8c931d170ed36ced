/**
 * What a partition's log says about the producer that wrote it, judged against what was sent.
 *
 * The records sent are the numbers 0 .. sent-1 in that order, one value each, so the log can be
 * checked value by value: a value present twice is a duplicate, a value whose first copy comes
 * after the first copy of a larger one is out of order, a value absent is missing. The producer
 * side comes from the batch headers: which producer ids and epochs wrote, and whether the
 * sequence numbers of each (producer id, epoch) run on without gaps or repeats from 0, which
 * is what the broker enforces for an idempotent producer.
 */
import type { LogBatch } from './log-segments.ts';

export interface LogFindings {
  recordsSent: number;
  recordsInLog: number;
  batchesInLog: number;
  /** Records beyond the first copy of their value. */
  duplicates: number;
  /** Values written more than once. */
  duplicatedValues: number;
  /** Values whose first copy follows the first copy of a larger value. */
  outOfOrder: number;
  /** Values sent that are not in the log. */
  missing: number;
  /** Distinct `producerId/producerEpoch` pairs of the batches, in the order they appear. */
  producers: string[];
  /**
   * Every batch has a producer id, and each producer's batches carry sequences 0, 1, 2, ... in
   * log order, each batch's base sequence one past the previous batch's last.
   */
  contiguousSequences: boolean;
}

/** A batch's place in the story: the first copy of its values, or a copy of values already written. */
export type BatchRole = 'first' | 'duplicate' | 'partly duplicate';

export function examineLog(batches: readonly LogBatch[], recordsSent: number): LogFindings {
  const copies = new Map<number, number>();
  let recordsInLog = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let highest = -1;
  const producers: string[] = [];
  const nextSequence = new Map<string, number>();
  let contiguousSequences = true;
  for (const batch of batches) {
    if (batch.isControl) continue;
    const producer = `${batch.producerId}/${batch.producerEpoch}`;
    if (!producers.includes(producer)) producers.push(producer);
    if (batch.producerId < 0) contiguousSequences = false;
    else {
      const expected = nextSequence.get(producer) ?? 0;
      if (batch.baseSequence !== expected || batch.lastSequence !== expected + batch.count - 1)
        contiguousSequences = false;
      nextSequence.set(producer, batch.lastSequence + 1);
    }
    for (const record of batch.records) {
      recordsInLog++;
      const value = recordNumber(record.payload);
      const seen = copies.get(value) ?? 0;
      copies.set(value, seen + 1);
      if (seen > 0) {
        duplicates++;
        continue;
      }
      if (value < highest) outOfOrder++;
      else highest = value;
    }
  }
  let duplicatedValues = 0;
  for (const n of copies.values()) if (n > 1) duplicatedValues++;
  let missing = 0;
  for (let v = 0; v < recordsSent; v++) if (!copies.has(v)) missing++;
  return {
    recordsSent,
    recordsInLog,
    batchesInLog: batches.filter((b) => !b.isControl).length,
    duplicates,
    duplicatedValues,
    outOfOrder,
    missing,
    producers,
    contiguousSequences,
  };
}

/** For each batch, whether it brought new values or repeated ones already in the log. */
export function batchRoles(batches: readonly LogBatch[]): BatchRole[] {
  const seen = new Set<number>();
  return batches.map((batch) => {
    let repeated = 0;
    for (const record of batch.records) {
      const value = recordNumber(record.payload);
      if (seen.has(value)) repeated++;
      else seen.add(value);
    }
    return repeated === 0 ? 'first' : repeated === batch.records.length ? 'duplicate' : 'partly duplicate';
  });
}

/** The values of a batch as a range (`0..99`) when they are consecutive, else first..last with a count. */
export function describeValues(batch: LogBatch): string {
  const values = batch.records.map((r) => recordNumber(r.payload));
  if (values.length === 0) return '(none)';
  const first = values[0]!;
  const last = values.at(-1)!;
  const consecutive = values.every((v, i) => v === first + i);
  return consecutive ? `${first}..${last}` : `${first}, ..., ${last} (${values.length} values)`;
}

function recordNumber(payload: string | null): number {
  const value = payload === null ? Number.NaN : Number(payload);
  if (!Number.isInteger(value)) {
    throw new Error(
      `A record's value is ${payload === null ? 'null' : `"${payload}"`}, not a record number: the topic holds records this check did not send`,
    );
  }
  return value;
}
