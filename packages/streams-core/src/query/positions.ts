/**
 * Read-your-writes for interactive queries: how far this instance's tasks have processed each
 * input partition, and waiting until they have processed a given record.
 *
 * A writer that produced a record knows its position (topic, partition, offset). Once the task
 * reading that partition has processed the record, every store of that task reflects it and
 * everything before it on the partition; a query bounded by the position waits for that moment
 * (Kafka Streams' IQv2 position bounds fail at once instead; waiting, bounded, is what a caller
 * who just wrote wants).
 */
import { topicPartitionKey } from '../client/port.ts';
import type { ActiveTask } from '../runtime/task-manager.ts';

/** One record's place in the log: the offset of the record itself, not the next one. */
export interface RecordPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

/** `topic:partition:offset`, the text form of a position in query strings. */
export function formatRecordPosition(p: RecordPosition): string {
  return `${p.topic}:${p.partition}:${p.offset}`;
}

/** Reads `topic:partition:offset` (a Kafka topic name has no colon); undefined when it is not one. */
export function parseRecordPosition(text: string): RecordPosition | undefined {
  const m = /^([A-Za-z0-9._-]+):(\d{1,9}):(\d{1,19})$/.exec(text);
  if (!m) return undefined;
  return { topic: m[1]!, partition: Number(m[2]), offset: BigInt(m[3]!) };
}

interface Waiter {
  readonly position: RecordPosition;
  readonly resolve: (reached: boolean) => void;
  readonly timer: NodeJS.Timeout;
}

/** The processed positions of an instance's active tasks, and the callers waiting on them. */
export class ProcessedPositions {
  readonly #tasks: () => readonly ActiveTask[];
  readonly #waiters = new Set<Waiter>();

  constructor(activeTasks: () => readonly ActiveTask[]) {
    this.#tasks = activeTasks;
  }

  /**
   * The next offset of the partition that this instance's tasks have yet to process: every record
   * before it is in their stores. Undefined when no task here reads the partition, or its task has
   * not learnt where it starts yet.
   */
  offset(topic: string, partition: number): bigint | undefined {
    const k = topicPartitionKey({ topic, partition });
    for (const t of this.#tasks()) {
      if (t.partition !== partition) continue;
      const next = t.processed.get(k);
      if (next !== undefined) return next;
    }
    return undefined;
  }

  reached(p: RecordPosition): boolean {
    const next = this.offset(p.topic, p.partition);
    return next !== undefined && next > p.offset;
  }

  /** Resolves true once the record at `position` is processed here, false when `timeoutMs` passes first. */
  wait(position: RecordPosition, timeoutMs: number): Promise<boolean> {
    if (this.reached(position)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        position,
        resolve,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          resolve(this.reached(position));
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  /** The tasks processed more: wakes the waiters whose record is now processed. Free with none waiting. */
  advanced(): void {
    if (this.#waiters.size === 0) return;
    for (const w of this.#waiters) {
      if (!this.reached(w.position)) continue;
      clearTimeout(w.timer);
      this.#waiters.delete(w);
      w.resolve(true);
    }
  }
}
