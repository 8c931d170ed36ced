import type { RecordMetadata, StreamRecord } from './record.ts';

export const PunctuationType = {
  /** Fires as stream time (the largest record timestamp seen by the task) passes each interval. */
  STREAM_TIME: 'STREAM_TIME',
  /** Fires as the wall clock passes each interval, whether records arrive or not. */
  WALL_CLOCK_TIME: 'WALL_CLOCK_TIME',
} as const;
export type PunctuationType = (typeof PunctuationType)[keyof typeof PunctuationType];

export type Punctuator = (timestamp: number) => void;

export interface Cancellable {
  cancel(): void;
}

/**
 * What a processor can do besides receiving records. One context per processor node: `forward`
 * always sends to this node's children.
 */
export interface ProcessorContext<KForward = unknown, VForward = unknown> {
  readonly applicationId: string;
  /** `<subtopology>_<partition>`, as Kafka Streams names tasks. */
  readonly taskId: string;
  readonly partition: number;
  /** Sends a record to every child, or to the named child only. */
  forward<K extends KForward, V extends VForward>(record: StreamRecord<K, V>, childName?: string): void;
  getStateStore<S>(name: string): S;
  schedule(intervalMs: number, type: PunctuationType, punctuator: Punctuator): Cancellable;
  /** Metadata of the record being processed; undefined inside punctuators. */
  recordMetadata(): RecordMetadata | undefined;
  currentStreamTimeMs(): number;
  currentSystemTimeMs(): number;
  /** Asks for a commit after the current record; the runtime decides when it happens. */
  commit(): void;
  /**
   * Puts the record being processed back, and holds its source partition until `dueMs` (wall
   * clock, ms since the epoch): the partition is paused from this record on, its offset is not
   * committed, and the record is processed again once it is due. The task's other partitions,
   * and every other task, keep flowing. Call it before the record had any effect (forward
   * nothing for it); records made by a punctuator cannot be held.
   */
  holdPartitionUntil(dueMs: number): void;
}

export interface Processor<KIn, VIn, KOut = never, VOut = never> {
  init?(context: ProcessorContext<KOut, VOut>): void;
  process(record: StreamRecord<KIn, VIn>): void;
  /**
   * Stream time moved forward without a record: the task was idle and the application advances
   * idle tasks by the wall clock (`advanceIdleStreamTimeAfterMs`). Processors that close windows
   * on stream time close them here too.
   */
  onStreamTimeAdvance?(streamTime: number): void;
  close?(): void;
}

/** A new processor instance per task: processors hold per-partition state. */
export type ProcessorSupplier<KIn, VIn, KOut = never, VOut = never> = () => Processor<KIn, VIn, KOut, VOut>;
