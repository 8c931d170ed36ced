/**
 * The headers Spring Kafka 4.1's non-blocking retries write, with their byte encodings, and the
 * headers a record carries when it moves on to a retry topic or the dead-letter topic.
 *
 * Spring writes (DeadLetterPublishingRecovererFactory, DeadLetterRecordManager):
 * - `retry_topic-attempts`: the attempt the record is due for, a 4-byte big-endian int (a 1-byte
 *   value is read too); absent on the main topic, which is attempt 1.
 * - `retry_topic-backoff-timestamp`: when that attempt is due, ms since the epoch, as Java's
 *   `BigInteger.toByteArray()` (big-endian two's complement, as few bytes as the value needs).
 * - `retry_topic-original-timestamp`: the timestamp of the record on the main topic, same encoding.
 *   The three are appended at each hop, never replaced; readers take the last value.
 * - `kafka_exception-fqcn`, `-cause-fqcn`, `-message`, `-stacktrace` (UTF-8): the latest failure,
 *   replacing an earlier one.
 * - `kafka_original-topic` (UTF-8), `-partition` (4-byte int), `-offset` and `-timestamp` (8-byte
 *   longs), `-timestamp-type` (UTF-8), and `kafka_dlt-original-consumer-group` (UTF-8): where the
 *   record first failed, written once and kept at later hops.
 *
 * Records that end in the dead-letter topic also get the `kafka_dlt-*` headers the engine writes
 * for its own dead letters (and Spring's DeadLetterPublishingRecoverer outside retry topics), with
 * the same values, so that one tool reads and re-drives every dead letter of the application.
 */
import { type Headers, SpringDltHeaders } from '@kafka-pattern/streams-core';

export const RetryTopicHeaders = {
  attempts: 'retry_topic-attempts',
  backoffTimestamp: 'retry_topic-backoff-timestamp',
  originalTimestamp: 'retry_topic-original-timestamp',
} as const;

/** Headers Spring's retry topics write about the failure and the record's first position. */
export const SpringRetryHeaders = {
  exceptionFqcn: 'kafka_exception-fqcn',
  exceptionCauseFqcn: 'kafka_exception-cause-fqcn',
  exceptionMessage: 'kafka_exception-message',
  exceptionStacktrace: 'kafka_exception-stacktrace',
  originalTopic: 'kafka_original-topic',
  originalPartition: 'kafka_original-partition',
  originalOffset: 'kafka_original-offset',
  originalTimestamp: 'kafka_original-timestamp',
  originalTimestampType: 'kafka_original-timestamp-type',
  /** Spring 4.1 names this one with the `dlt` prefix in retry topics too. */
  originalConsumerGroup: 'kafka_dlt-original-consumer-group',
} as const;

/** Spring's cap on the attempts header: a larger value is ignored. */
const ATTEMPTS_HARD_CAP = 32_767;
/** Spring ignores a back-off timestamp more than a day ahead (a corrupt header must not stall a partition). */
export const MAX_BACKOFF_MS = 86_400_000;

export function encodeInt32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
}

export function encodeInt64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n), 0);
  return b;
}

/** Java's `BigInteger.valueOf(n).toByteArray()`: big-endian two's complement in as few bytes as hold the sign. */
export function encodeBigInteger(n: number | bigint): Buffer {
  let v = BigInt(n);
  const bytes: number[] = [];
  for (;;) {
    const byte = Number(v & 0xffn);
    bytes.unshift(byte);
    v >>= 8n;
    const signBit = (byte & 0x80) !== 0;
    if ((v === 0n && !signBit) || (v === -1n && signBit)) break;
  }
  return Buffer.from(bytes);
}

/** `new BigInteger(bytes).longValue()` for 1 to 8 bytes; undefined for anything else. */
export function decodeBigInteger(bytes: Buffer | undefined): number | undefined {
  if (!bytes || bytes.length === 0 || bytes.length > 8) return undefined;
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  if (bytes[0]! & 0x80) v -= 1n << BigInt(bytes.length * 8);
  return Number(v);
}

/** The attempt a record is due for: the last `retry_topic-attempts` (1 or 4 bytes), else 1, as Spring reads it. */
export function attemptOf(headers: Headers): number {
  const h = headers.lastValue(RetryTopicHeaders.attempts);
  if (!h) return 1;
  let raw: number;
  if (h.length === 1) raw = h[0]!;
  else if (h.length === 4) raw = h.readInt32BE(0);
  else return 1;
  return raw >= 1 && raw <= ATTEMPTS_HARD_CAP ? raw : 1;
}

/**
 * When a retry record is due (its last `retry_topic-backoff-timestamp`); undefined when it has
 * none, an unreadable one, or one more than a day after `now`, which Spring ignores too.
 */
export function dueTimeOf(headers: Headers, now: number): number | undefined {
  const due = decodeBigInteger(headers.lastValue(RetryTopicHeaders.backoffTimestamp));
  if (due === undefined || due - now > MAX_BACKOFF_MS) return undefined;
  return due;
}

/** Where the record came from, as the failure headers record it. */
export interface FailedAt {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly timestamp: number;
  readonly consumerGroup: string;
}

/** What the next hop of a failed record needs in its headers. */
export interface Hop {
  readonly error: unknown;
  readonly from: FailedAt;
  /** The attempt that just failed. */
  readonly attempt: number;
  /** When the next attempt is due (the failure time for the dead-letter topic, as Spring writes it). */
  readonly dueMs: number;
  readonly toDeadLetter: boolean;
}

const retryHeaderNames: readonly string[] = Object.values(RetryTopicHeaders);
const originalHeaderNames: readonly string[] = [
  SpringRetryHeaders.originalTopic,
  SpringRetryHeaders.originalPartition,
  SpringRetryHeaders.originalOffset,
  SpringRetryHeaders.originalTimestamp,
  SpringRetryHeaders.originalTimestampType,
  SpringRetryHeaders.originalConsumerGroup,
];

/** Headers that tell a record's retry history: not carried into the output of a success. */
export const historyHeaderNames: readonly string[] = [
  ...retryHeaderNames,
  ...Object.values(SpringRetryHeaders),
];

/**
 * The headers of the record sent on: its own, with the failure replaced, its first position added
 * where it has none yet, and the retry headers appended, in the order Spring writes them. A record
 * that failed on the main topic starts a new history: retry headers it carried from an earlier
 * life (a dead letter sent back to the main topic) are dropped first.
 */
export function hopHeaders(current: Headers, hop: Hop, fromMainTopic: boolean): Headers {
  const h = current.clone();
  if (fromMainTopic) for (const name of [...retryHeaderNames, ...originalHeaderNames]) h.remove(name);
  const { error, from } = hop;
  const root = rootCause(error);
  const message = exceptionMessage(error, root);
  replace(h, SpringRetryHeaders.exceptionFqcn, errorName(error));
  replace(h, SpringRetryHeaders.exceptionCauseFqcn, errorName(root));
  if (message !== undefined) replace(h, SpringRetryHeaders.exceptionMessage, message);
  else h.remove(SpringRetryHeaders.exceptionMessage);
  replace(h, SpringRetryHeaders.exceptionStacktrace, stackTrace(error));
  addIfAbsent(h, SpringRetryHeaders.originalTopic, () => Buffer.from(from.topic, 'utf8'));
  addIfAbsent(h, SpringRetryHeaders.originalPartition, () => encodeInt32(from.partition));
  addIfAbsent(h, SpringRetryHeaders.originalOffset, () => encodeInt64(from.offset));
  addIfAbsent(h, SpringRetryHeaders.originalTimestamp, () => encodeInt64(from.timestamp));
  addIfAbsent(h, SpringRetryHeaders.originalTimestampType, () => Buffer.from('CreateTime', 'utf8'));
  addIfAbsent(h, SpringRetryHeaders.originalConsumerGroup, () => Buffer.from(from.consumerGroup, 'utf8'));
  h.add(RetryTopicHeaders.originalTimestamp, originalTimestampBytes(current, from.timestamp, fromMainTopic));
  h.add(RetryTopicHeaders.attempts, encodeInt32(hop.attempt + 1));
  h.add(RetryTopicHeaders.backoffTimestamp, encodeBigInteger(hop.dueMs));
  if (hop.toDeadLetter) addDeadLetterHeaders(h);
  return h;
}

/** The `kafka_dlt-*` copies of the failure and first position, replacing any from an earlier dead letter. */
function addDeadLetterHeaders(h: Headers): void {
  const copies: Array<[string, string]> = [
    [SpringDltHeaders.originalTopic, SpringRetryHeaders.originalTopic],
    [SpringDltHeaders.originalPartition, SpringRetryHeaders.originalPartition],
    [SpringDltHeaders.originalOffset, SpringRetryHeaders.originalOffset],
    [SpringDltHeaders.originalTimestamp, SpringRetryHeaders.originalTimestamp],
    [SpringDltHeaders.originalTimestampType, SpringRetryHeaders.originalTimestampType],
    [SpringDltHeaders.exceptionFqcn, SpringRetryHeaders.exceptionFqcn],
    [SpringDltHeaders.exceptionCauseFqcn, SpringRetryHeaders.exceptionCauseFqcn],
    [SpringDltHeaders.exceptionMessage, SpringRetryHeaders.exceptionMessage],
    [SpringDltHeaders.exceptionStacktrace, SpringRetryHeaders.exceptionStacktrace],
  ];
  for (const [to, from] of copies) {
    h.remove(to);
    const value = h.lastValue(from);
    if (value) h.add(to, value);
  }
}

function originalTimestampBytes(current: Headers, recordTimestamp: number, fromMainTopic: boolean): Buffer {
  const existing = fromMainTopic ? undefined : current.lastValue(RetryTopicHeaders.originalTimestamp);
  return existing && existing.length > 0 && existing.length <= 8
    ? existing
    : encodeBigInteger(recordTimestamp);
}

function replace(h: Headers, name: string, value: string): void {
  h.remove(name);
  h.add(name, value);
}

function addIfAbsent(h: Headers, name: string, value: () => Buffer): void {
  if (!h.has(name)) h.add(name, value());
}

/** The error's own class name, where Spring writes a fully qualified Java class name. */
export function errorName(error: unknown): string {
  if (error instanceof Error) return error.name || error.constructor.name || 'Error';
  if (error === null) return 'null';
  return typeof error;
}

function rootCause(error: unknown): unknown {
  let e = error;
  const seen = new Set<unknown>();
  while (e instanceof Error && e.cause !== undefined && !seen.has(e.cause)) {
    seen.add(e);
    e = e.cause;
  }
  return e;
}

function messageOf(error: unknown): string | undefined {
  if (error instanceof Error) return error.message;
  if (error === undefined) return undefined;
  return typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error));
}

/** As Spring builds it: the message, then `; ` and the root cause's message when there is a cause. */
function exceptionMessage(error: unknown, root: unknown): string | undefined {
  const own = messageOf(error);
  if (root === error) return own;
  const cause = messageOf(root);
  if (own === undefined) return cause;
  return cause === undefined ? `${own}; ` : `${own}; ${cause}`;
}

function stackTrace(error: unknown): string {
  if (error instanceof Error && error.stack) return error.stack;
  return `${errorName(error)}: ${messageOf(error) ?? ''}`;
}
