/**
 * What happens to a record that cannot be deserialized or whose processing throws.
 *
 * Kafka Streams stops the application on the first bad record unless told otherwise. Here the
 * default moves the record aside to a dead-letter topic, with its raw bytes and the reason in its
 * headers, and goes on: one bad record does not stop a partition, and nothing is lost.
 */
import type { Logger } from '../observability/logger.ts';
import type { RecordMetadata } from '../processor/api/record.ts';

export type ErrorResponse = 'DEAD_LETTER' | 'CONTINUE' | 'FAIL';

export interface ErrorContext {
  readonly kind: 'deserialization' | 'processing';
  readonly taskId: string;
  /** The node whose code threw; the source node for deserialization errors. */
  readonly nodeName: string;
  readonly source: RecordMetadata & { readonly timestamp: number };
  readonly error: unknown;
  /** The application's logger, for handlers that report what they decided. */
  readonly logger: Logger;
}

/** Decides per error; returning DEAD_LETTER sends the record to the dead-letter topic. */
export type ExceptionHandler = (context: ErrorContext) => ErrorResponse;

export const deadLetterHandler: ExceptionHandler = () => 'DEAD_LETTER';
export const logAndContinueHandler: ExceptionHandler = (ctx) => {
  ctx.logger.warn(
    { taskId: ctx.taskId, node: ctx.nodeName, source: ctx.source },
    `skipped record ${ctx.source.topic}-${ctx.source.partition}@${ctx.source.offset} after ${ctx.kind} error in ${ctx.nodeName}: ${errorMessage(ctx.error)}`,
  );
  return 'CONTINUE';
};
export const logAndFailHandler: ExceptionHandler = () => 'FAIL';

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Raised when a handler says FAIL: the task stops, and the application's uncaught handler decides. */
export class StreamsException extends Error {
  readonly taskId: string | undefined;
  constructor(message: string, options?: { cause?: unknown; taskId?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StreamsException';
    this.taskId = options?.taskId;
  }
}
