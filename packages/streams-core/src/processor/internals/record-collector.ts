/**
 * The one way out of a task: sinks and dead letters only ever call this interface, so the runtime
 * (batched produce, transactions) and the test driver (memory) each supply their own.
 */
import type { Headers } from '../../processor/api/headers.ts';

/**
 * Where a task's output goes. `send` never waits: the runtime batches what it is given and
 * produces it with the task's next flush (inside the task's transaction under exactly-once); the
 * test driver keeps it in memory.
 */
export interface RecordCollector {
  send(
    topic: string,
    key: Buffer | null,
    value: Buffer | null,
    headers: Headers,
    timestamp: number,
    partition: number | undefined,
  ): void;
  /**
   * Like `send`, for a value an asynchronous serde is still encoding: the record keeps its place
   * among the task's outputs and is produced once `value` resolves (with `headers` as the serde
   * left them). A rejection fails the send, naming the serde.
   */
  sendEncoding(
    topic: string,
    key: Buffer | null,
    value: Promise<Buffer | null>,
    headers: Headers,
    timestamp: number,
    partition: number | undefined,
    serdeName: string,
  ): void;
  /**
   * Partition count of a topic the task writes to, or undefined when it is not known yet (a topic
   * chosen per record): the record then goes to the partition the Java client would pick for its key.
   */
  partitionsFor(topic: string): number | undefined;
}
