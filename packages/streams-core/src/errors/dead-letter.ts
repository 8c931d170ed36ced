/**
 * Dead-letter records: the failed record's raw key, value and headers, plus headers that say why,
 * where from, and which exception.
 *
 * The default header convention is Spring Kafka's (`<topic>-dlt`, `kafka_dlt-*`), so that Spring
 * consumers and tools that already read those topics read ours; Kafka Streams' KIP-1034 convention
 * (`__streams.errors.*`, all UTF-8 strings) can be chosen instead.
 */

import type { ConsumedRecord } from '../client/port.ts';
import type { Headers } from '../processor/api/headers.ts';
import { errorMessage } from './exception-handlers.ts';

export type DeadLetterHeaderConvention = 'spring' | 'kip1034';

export interface DeadLetterConfig {
  /** Topic for a failed record from `sourceTopic`; default `<sourceTopic>-dlt`. */
  readonly topic: (sourceTopic: string) => string;
  readonly headers: DeadLetterHeaderConvention;
}

export const defaultDeadLetterConfig: DeadLetterConfig = {
  topic: (sourceTopic) => `${sourceTopic}-dlt`,
  headers: 'spring',
};

/** The record that failed, as it was consumed: raw bytes and original headers. */
export type FailedRecord = ConsumedRecord;

export const SpringDltHeaders = {
  exceptionFqcn: 'kafka_dlt-exception-fqcn',
  exceptionCauseFqcn: 'kafka_dlt-exception-cause-fqcn',
  exceptionMessage: 'kafka_dlt-exception-message',
  exceptionStacktrace: 'kafka_dlt-exception-stacktrace',
  originalTopic: 'kafka_dlt-original-topic',
  originalPartition: 'kafka_dlt-original-partition',
  originalOffset: 'kafka_dlt-original-offset',
  originalTimestamp: 'kafka_dlt-original-timestamp',
  originalTimestampType: 'kafka_dlt-original-timestamp-type',
  originalConsumerGroup: 'kafka_dlt-original-consumer-group',
} as const;

export const Kip1034Headers = {
  exception: '__streams.errors.exception',
  message: '__streams.errors.message',
  stacktrace: '__streams.errors.stacktrace',
  topic: '__streams.errors.topic',
  partition: '__streams.errors.partition',
  offset: '__streams.errors.offset',
} as const;

function int32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n, 0);
  return b;
}

function int64(n: bigint | number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigInt64BE(BigInt(n), 0);
  return b;
}

/** The exception's class name as the dead letter's headers carry it. */
export function errorName(error: unknown): string {
  if (error instanceof Error) return error.name || error.constructor.name;
  return typeof error;
}

/** Headers of a dead-letter record: the original ones, then the reason, in the chosen convention. */
export function deadLetterHeaders(
  record: FailedRecord,
  error: unknown,
  convention: DeadLetterHeaderConvention,
  consumerGroup: string,
): Headers {
  const h = record.headers.clone();
  const stack = error instanceof Error && error.stack ? error.stack : errorMessage(error);
  if (convention === 'spring') {
    // Spring replaces any dead-letter headers from an earlier hop rather than piling them up.
    for (const name of Object.values(SpringDltHeaders)) h.remove(name);
    h.add(SpringDltHeaders.originalTopic, record.topic);
    h.add(SpringDltHeaders.originalPartition, int32(record.partition));
    h.add(SpringDltHeaders.originalOffset, int64(record.offset));
    h.add(SpringDltHeaders.originalTimestamp, int64(record.timestamp));
    h.add(SpringDltHeaders.originalTimestampType, 'CreateTime');
    h.add(SpringDltHeaders.originalConsumerGroup, consumerGroup);
    h.add(SpringDltHeaders.exceptionFqcn, errorName(error));
    const cause = error instanceof Error ? error.cause : undefined;
    if (cause !== undefined) h.add(SpringDltHeaders.exceptionCauseFqcn, errorName(cause));
    h.add(SpringDltHeaders.exceptionMessage, errorMessage(error));
    h.add(SpringDltHeaders.exceptionStacktrace, stack);
  } else {
    for (const name of Object.values(Kip1034Headers)) h.remove(name);
    h.add(Kip1034Headers.exception, errorName(error));
    h.add(Kip1034Headers.message, errorMessage(error));
    h.add(Kip1034Headers.stacktrace, stack);
    h.add(Kip1034Headers.topic, record.topic);
    h.add(Kip1034Headers.partition, String(record.partition));
    h.add(Kip1034Headers.offset, String(record.offset));
  }
  return h;
}
