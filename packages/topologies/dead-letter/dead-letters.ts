/**
 * Reading a dead letter: where it came from and why, from its headers in either convention the
 * engine writes (and the tools it interoperates with write): Spring Kafka's `kafka_dlt-*`, with
 * partition, offset and timestamp as big-endian binary integers, or Kafka Streams' KIP-1034
 * `__streams.errors.*`, all UTF-8 strings. What is left once those headers are stripped is the
 * record as its producer wrote it.
 */
import { Kip1034Headers, SpringDltHeaders } from '@kafka-pattern/streams-core';
import type { ConsumedRecord, RawHeaders } from '@kafka-pattern/streams-core/client';

/** Spring Kafka's headers for a record whose key could not be deserialized (since Spring Kafka 2.7). */
export const SpringDltKeyHeaders = {
  exceptionFqcn: 'kafka_dlt-key-exception-fqcn',
  exceptionMessage: 'kafka_dlt-key-exception-message',
  exceptionStacktrace: 'kafka_dlt-key-exception-stacktrace',
} as const;

const SPRING_PREFIX = 'kafka_dlt-';
const KIP1034_PREFIX = '__streams.errors.';

/** A header that says why and where from, not one the original producer wrote. */
export function isDeadLetterHeader(name: string): boolean {
  return name.startsWith(SPRING_PREFIX) || name.startsWith(KIP1034_PREFIX);
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
  const spring = h.has(SpringDltHeaders.originalTopic) || h.has(SpringDltHeaders.exceptionFqcn);
  const kip = h.has(Kip1034Headers.topic) || h.has(Kip1034Headers.exception);
  const originalHeaders = [...h].filter(([name]) => !isDeadLetterHeader(name));
  if (spring) {
    const timestamp = binary(h.lastValue(SpringDltHeaders.originalTimestamp));
    const partition = binary(h.lastValue(SpringDltHeaders.originalPartition));
    return {
      record,
      convention: 'spring',
      originalTopic: text(SpringDltHeaders.originalTopic),
      originalPartition: partition === undefined ? undefined : Number(partition),
      originalOffset: binary(h.lastValue(SpringDltHeaders.originalOffset)),
      originalTimestamp: timestamp === undefined ? record.timestamp : Number(timestamp),
      consumerGroup: text(SpringDltHeaders.originalConsumerGroup),
      exceptionClass: text(SpringDltHeaders.exceptionFqcn) ?? text(SpringDltKeyHeaders.exceptionFqcn),
      exceptionCauseClass: text(SpringDltHeaders.exceptionCauseFqcn),
      exceptionMessage: text(SpringDltHeaders.exceptionMessage) ?? text(SpringDltKeyHeaders.exceptionMessage),
      stacktrace: text(SpringDltHeaders.exceptionStacktrace) ?? text(SpringDltKeyHeaders.exceptionStacktrace),
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
