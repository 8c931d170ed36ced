/**
 * What becomes of a record that could not be deserialized or processed: the application's
 * exception handler decides to fail the task, to skip the record, or to send its original bytes
 * to the dead-letter topic. The decision needs the task's identity, metrics and collector but
 * none of the record path's state, and it is rare, so it lives apart from StreamTask.process.
 */

import type { ConsumedRecord } from '../../client/port.ts';
import { type DeadLetterConfig, deadLetterHeaders, errorName } from '../../errors/dead-letter.ts';
import type { DeadLetterLog } from '../../errors/dead-letter-log.ts';
import {
  type ErrorContext,
  type ExceptionHandler,
  errorMessage,
  StreamsException,
} from '../../errors/exception-handlers.ts';
import { diagnostics } from '../../observability/diagnostics.ts';
import type { Logger } from '../../observability/logger.ts';
import type { RecordCollector } from './record-collector.ts';
import type { TaskMetrics } from './task-metrics.ts';
import type { TaskState } from './task-state.ts';

export type FailureKind = 'deserialization' | 'processing';

/** The parts of the task's options a failure needs. */
export interface FailureOptions {
  readonly onDeserializationError: ExceptionHandler;
  readonly onProcessingError: ExceptionHandler;
  readonly deadLetter: DeadLetterConfig;
  readonly collector: RecordCollector;
  readonly logger: Logger;
  /** Where dead letters are logged; the application's, shared by its tasks. */
  readonly deadLetterLog?: DeadLetterLog;
}

export class RecordFailureHandler {
  readonly #taskId: string;
  readonly #applicationId: string;
  readonly #metrics: TaskMetrics;
  readonly #state: TaskState;
  readonly #options: FailureOptions;

  constructor(
    taskId: string,
    applicationId: string,
    metrics: TaskMetrics,
    state: TaskState,
    options: FailureOptions,
  ) {
    this.#taskId = taskId;
    this.#applicationId = applicationId;
    this.#metrics = metrics;
    this.#state = state;
    this.#options = options;
  }

  /** Applies the handler's decision for `raw`; throws a StreamsException when it is to fail. */
  fail(kind: FailureKind, raw: ConsumedRecord, error: unknown): void {
    const handler =
      kind === 'deserialization' ? this.#options.onDeserializationError : this.#options.onProcessingError;
    const context: ErrorContext = {
      kind,
      taskId: this.#taskId,
      nodeName: this.#state.currentNode,
      source: { topic: raw.topic, partition: raw.partition, offset: raw.offset, timestamp: raw.timestamp },
      error,
      logger: this.#options.logger,
    };
    const response = handler(context);
    if (response === 'FAIL') {
      throw new StreamsException(
        `${kind === 'deserialization' ? 'Deserialization' : 'Processing'} of ${raw.topic}-${raw.partition}@${raw.offset} failed in ${this.#state.currentNode} (task ${this.#taskId}): ${errorMessage(error)}`,
        { cause: error, taskId: this.#taskId },
      );
    }
    if (response === 'DEAD_LETTER') {
      const { deadLetter, collector } = this.#options;
      const topic = deadLetter.topic(raw.topic);
      const headers = deadLetterHeaders(raw, error, deadLetter.headers, this.#applicationId);
      // Keep the original partition where the dead-letter topic has it, so order per partition holds.
      const partitions = collector.partitionsFor(topic);
      const partition = partitions !== undefined && raw.partition < partitions ? raw.partition : undefined;
      collector.send(topic, raw.key, raw.value, headers, raw.timestamp, partition);
      this.#metrics.deadLetteredRecords++;
      this.#options.deadLetterLog?.log({
        kind,
        taskId: this.#taskId,
        nodeName: this.#state.currentNode,
        source: { topic: raw.topic, partition: raw.partition, offset: raw.offset },
        deadLetterTopic: topic,
        exception: errorName(error),
        message: errorMessage(error),
      });
      if (diagnostics.deadLetter.hasSubscribers)
        diagnostics.deadLetter.publish({
          applicationId: this.#applicationId,
          taskId: this.#taskId,
          topic,
          source: { topic: raw.topic, partition: raw.partition, offset: raw.offset },
          reason: errorMessage(error),
        });
    } else {
      this.#metrics.skippedRecords++;
    }
  }
}
