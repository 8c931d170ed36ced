/**
 * Reading a dead letter: where it came from and why, from its headers in either convention the
 * engine writes (and the tools it interoperates with write): Spring Kafka's `kafka_dlt-*`, with
 * partition, offset and timestamp as big-endian binary integers, or Kafka Streams' KIP-1034
 * `__streams.errors.*`, all UTF-8 strings. Spring's `@RetryableTopic` dead letters carry the same
 * facts under `kafka_original-*` and `kafka_exception-*` (with `retry_topic-*` attempts): read as
 * a fallback. What is left once those headers are stripped is the record as its producer wrote it.
 */
import { Kip1034Headers, SpringDltHeaders } from '@kafka-pattern/streams-core';
import type { ConsumedRecord, RawHeaders } from '@kafka-pattern/streams-core/client';

/** Spring Kafka's headers for a record whose key could not be deserialized (since Spring Kafka 2.7). */
export const SpringDltKeyHeaders = {
  exceptionFqcn: 'kafka_dlt-key-exception-fqcn',
  exceptionMessage: 'kafka_dlt-key-exception-message',
  exceptionStacktrace: 'kafka_dlt-key-exception-stacktrace',
} as const;

const PREFIXES = ['kafka_dlt-', '__streams.errors.', 'kafka_original-', 'kafka_exception-', 'retry_topic-'];

/** Spring's retry topics: the failure and the first position under names of their own. */
const SpringRetryTopicHeaders = {
  exceptionFqcn: 'kafka_exception-fqcn',
  exceptionCauseFqcn: 'kafka_exception-cause-fqcn',
  exceptionMessage: 'kafka_exception-message',
  exceptionStacktrace: 'kafka_exception-stacktrace',
  originalTopic: 'kafka_original-topic',
  originalPartition: 'kafka_original-partition',
  originalOffset: 'kafka_original-offset',
  originalTimestamp: 'kafka_original-timestamp',
} as const;

/** A header that says why and where from, not one the original producer wrote. */
export function isDeadLetterHeader(name: string): boolean {
  return PREFIXES.some((p) => name.startsWith(p));
}

export interface DeadLetter {
  /** The record as read from the dead-letter topic. */
  readonly record: ConsumedRecord;
  /** Which convention its headers follow; undefined when it has neither. */
  readonly convention: 'spring' | 'kip1034' | undefined;
  readonly originalTopic: string | undefined;
  readonly originalPartition: number | undefined;
  readonly originalOffset: bigint | undefined;
  /** Spring's header, else the dead letter's own timestamp (KIP-1034 and the engine keep the original's). */
  readonly originalTimestamp: number;
  /** The consumer group (application id) that dead-lettered it; Spring only. */
  readonly consumerGroup: string | undefined;
  /** The exception's class name (Spring: `kafka_dlt-exception-fqcn`, or the key exception's). */
  readonly exceptionClass: string | undefined;
  /** The cause's class name, where Spring recorded one (a listener exception wraps the real one). */
  readonly exceptionCauseClass: string | undefined;
  readonly exceptionMessage: string | undefined;
  readonly stacktrace: string | undefined;
  /** The original producer's headers, in order, without the dead-letter ones. */
  readonly originalHeaders: RawHeaders;
}

export function readDeadLetter(record: ConsumedRecord): DeadLetter {
  const h = record.headers;
  const text = (name: string) => h.lastValue(name)?.toString('utf8');
  const spring =
    h.has(SpringDltHeaders.originalTopic) ||
    h.has(SpringDltHeaders.exceptionFqcn) ||
    h.has(SpringRetryTopicHeaders.originalTopic);
  const kip = h.has(Kip1034Headers.topic) || h.has(Kip1034Headers.exception);
  const originalHeaders = [...h].filter(([name]) => !isDeadLetterHeader(name));
  if (spring) {
    const dlt = SpringDltHeaders;
    const retry = SpringRetryTopicHeaders;
    const either = (a: string, b: string) => h.lastValue(a) ?? h.lastValue(b);
    const timestamp = binary(either(dlt.originalTimestamp, retry.originalTimestamp));
    const partition = binary(either(dlt.originalPartition, retry.originalPartition));
    return {
      record,
      convention: 'spring',
      originalTopic: text(dlt.originalTopic) ?? text(retry.originalTopic),
      originalPartition: partition === undefined ? undefined : Number(partition),
      originalOffset: binary(either(dlt.originalOffset, retry.originalOffset)),
      originalTimestamp: timestamp === undefined ? record.timestamp : Number(timestamp),
      consumerGroup: text(dlt.originalConsumerGroup),
      exceptionClass:
        text(dlt.exceptionFqcn) ?? text(SpringDltKeyHeaders.exceptionFqcn) ?? text(retry.exceptionFqcn),
      exceptionCauseClass: text(dlt.exceptionCauseFqcn) ?? text(retry.exceptionCauseFqcn),
      exceptionMessage:
        text(dlt.exceptionMessage) ??
        text(SpringDltKeyHeaders.exceptionMessage) ??
        text(retry.exceptionMessage),
      stacktrace:
        text(dlt.exceptionStacktrace) ??
        text(SpringDltKeyHeaders.exceptionStacktrace) ??
        text(retry.exceptionStacktrace),
      originalHeaders,
    };
  }
  const partition = decimal(h.lastValue(Kip1034Headers.partition));
  return {
    record,
    convention: kip ? 'kip1034' : undefined,
    originalTopic: text(Kip1034Headers.topic),
    originalPartition: partition === undefined ? undefined : Number(partition),
    originalOffset: decimal(h.lastValue(Kip1034Headers.offset)),
    originalTimestamp: record.timestamp,
    consumerGroup: undefined,
    exceptionClass: text(Kip1034Headers.exception),
    exceptionCauseClass: undefined,
    exceptionMessage: text(Kip1034Headers.message),
    stacktrace: text(Kip1034Headers.stacktrace),
    originalHeaders,
  };
}

/** Spring's integers: 4 (partition) or 8 bytes (offset, timestamp) big-endian; other lengths as decimal text. */
function binary(value: Buffer | undefined): bigint | undefined {
  if (value === undefined) return undefined;
  if (value.length === 4) return BigInt(value.readInt32BE(0));
  if (value.length === 8) return value.readBigInt64BE(0);
  return decimal(value);
}

/** KIP-1034's integers: decimal UTF-8 text. */
function decimal(value: Buffer | undefined): bigint | undefined {
  if (value === undefined) return undefined;
  const asText = value.toString('utf8');
  return /^-?\d+$/.test(asText) ? BigInt(asText) : undefined;
}
