/**
 * Where a task is in its work: the node running, the record being processed, the stream time and
 * whether a processor asked for a commit. The nodes, the processor contexts, the punctuation queue
 * and the failure handling all read or move it, record by record, so it is one plain object they
 * share by reference rather than private fields of StreamTask that each of them would reach into.
 */
import type { ConsumedRecord } from '../../client/port.ts';
import type { RecordMetadata } from '../api/record.ts';

/** Stream time before the task has seen a record. */
export const UNKNOWN_TIME = -1;

export class TaskState {
  /** The node running now: named in error messages and in the context of a failed record. */
  currentNode = '';
  /** The record being processed; undefined between records and inside punctuators. */
  current: (RecordMetadata & { timestamp: number }) | undefined = undefined;
  /** The source record as consumed (raw bytes, for a dead letter), alongside `current`. */
  raw: ConsumedRecord | undefined = undefined;
  /**
   * A processor asked to hold the current record's source partition until this time: the
   * record is processed again then.
   */
  holdUntil: number | undefined = undefined;
  streamTime = UNKNOWN_TIME;
  commitRequested = false;
}
