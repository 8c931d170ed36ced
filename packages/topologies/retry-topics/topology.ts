/**
 * Retry topics: non-blocking retries with back-off, then the dead-letter topic, on the topics and
 * headers of Spring Kafka's `@RetryableTopic`.
 *
 * A record whose handler fails leaves the main topic at once for a retry topic, with headers that
 * say which attempt it is due for and when. Each retry topic's partitions are held at a record
 * until it is due, without holding anything else; then the handler runs again. A record whose
 * attempts run out, or whose failure is not retryable, goes to the dead-letter topic with its
 * original bytes and the reason.
 */
import {
  type Headers,
  type Processor,
  type ProcessorContext,
  type Serde,
  Serdes,
  type StreamRecord,
  StreamsBuilder,
  type Topology,
} from '@kafka-pattern/streams-core';
import { attemptOf, dueTimeOf, type FailedAt, historyHeaderNames, hopHeaders } from './headers.ts';
import {
  type Backoff,
  DEFAULT_ATTEMPTS,
  DEFAULT_BACKOFF,
  nextRetryTopic,
  retryTopicChain,
  type TopicSuffixing,
} from './topic-names.ts';

export {
  attemptOf,
  decodeBigInteger,
  dueTimeOf,
  encodeBigInteger,
  RetryTopicHeaders,
  SpringRetryHeaders,
} from './headers.ts';
export type { Backoff, TopicSuffixing } from './topic-names.ts';

export interface RetryTopicsOptions<K, V, R> {
  /** The main topic: must exist; the retry topics and the dead-letter topic are created at start. */
  topic: string;
  key: Serde<K>;
  value: Serde<V>;
  /** Does the work; a rejection is a failed attempt. `attempt` is 1 on the main topic. */
  handler: (value: V, key: K, attempt: number) => Promise<R>;
  /** Where each success's result goes (key: the record's key, as it came), once. */
  output?: { topic: string; value: Serde<R> };
  /** Attempts in all, counting the first; default 3. */
  attempts?: number;
  /** Delay before each retry; default 1000 ms, fixed. */
  backoff?: Backoff;
  /** Whether a failure is worth another attempt; false sends the record to the dead-letter topic at once. Default: always. */
  retryOn?: (error: unknown) => boolean;
  /** Handler calls in flight at once per task (different keys); default 16. */
  concurrency?: number;
  /** A handler call not settled by then is a failed attempt (retryable); default 5000 ms. */
  timeoutMs?: number;
  /** How retry topics are named; default `'index'` (see TopicSuffixing). */
  topicSuffixing?: TopicSuffixing;
}

export interface RetryTopicNames {
  main: string;
  /** In the order a record goes through them; the last one may serve several attempts. */
  retries: string[];
  dlt: string;
}

export interface RetryTopics {
  topology: Topology;
  topics: RetryTopicNames;
}

/** A handler call did not settle within `timeoutMs`. */
export class RetryTopicsTimeoutError extends Error {
  override readonly name = 'RetryTopicsTimeoutError';
}

/** The record's key or value could not be read with the given serde: no attempt would do better. */
export class RetryTopicsDeserializationError extends Error {
  override readonly name = 'RetryTopicsDeserializationError';
}

/** The handler succeeded but its result could not be written with the output serde. */
export class RetryTopicsOutputError extends Error {
  override readonly name = 'RetryTopicsOutputError';
}

/** A consumed record with where it came from: failure headers and routing need its position. */
interface Origin {
  readonly value: Buffer | null;
  readonly from: FailedAt;
}

type Outcome =
  | { readonly kind: 'success'; readonly origin: Origin; readonly result: Buffer | null }
  | {
      readonly kind: 'retry' | 'dlt';
      readonly origin: Origin;
      readonly topic: string;
      readonly headers: Headers;
    };

export function retryTopics<K, V, R>(options: RetryTopicsOptions<K, V, R>): RetryTopics {
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  const chain = retryTopicChain(
    options.topic,
    attempts,
    options.backoff ?? DEFAULT_BACKOFF,
    options.topicSuffixing ?? 'index',
  );
  const timeoutMs = options.timeoutMs ?? 5_000;
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs))
    throw new RangeError(
      `retryTopics: timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`,
    );
  const retryOn = options.retryOn ?? (() => true);
  const { handler, output } = options;
  const keySerde = options.key;
  const valueSerde = options.value;

  // Raw bytes in and out: a moved record keeps its key and value exactly as they came.
  const raw = Serdes.Buffer() as Serde<Buffer | null>;
  const bytes = { key: raw, value: raw };
  const builder = new StreamsBuilder();
  for (const t of [...chain.retries, chain.dlt]) builder.addTopic(t, { partitionsOf: chain.main });
  const main = builder.stream(chain.main, { ...bytes, name: 'retry-topics-main' });
  // A retry record waits in its partition until due; the main topic is never held.
  const inputs =
    chain.retries.length === 0
      ? main
      : main.merge(
          builder
            .stream(chain.retries, { ...bytes, name: 'retry-topics-retries' })
            .holdUntil((_k, _v, headers) => dueTimeOf(headers, Date.now()) ?? 0, {
              name: 'retry-topics-due',
            }),
          { name: 'retry-topics-inputs' },
        );

  const attempt = async (origin: Origin, rawKey: Buffer | null, headers: Headers): Promise<Outcome> => {
    const { from } = origin;
    const fromMain = from.topic === chain.main;
    const n = fromMain ? 1 : attemptOf(headers);
    let error: unknown;
    let retryable = true;
    let key: K;
    let value: V;
    try {
      key = (await keySerde.deserialize(from.topic, rawKey, headers)) as K;
      value = (await valueSerde.deserialize(from.topic, origin.value, headers)) as V;
    } catch (e) {
      const failure = new RetryTopicsDeserializationError(
        `The record at ${from.topic}-${from.partition}@${from.offset} could not be read with the key serde "${keySerde.name}" and value serde "${valueSerde.name}": ${messageOf(e)}; it goes to the dead-letter topic, since no retry reads it better`,
        { cause: e },
      );
      return failed(origin, headers, failure, n, false, fromMain);
    }
    try {
      const result = await withTimeout(handler(value, key, n), timeoutMs);
      try {
        const out = output ? await output.value.serialize(output.topic, result, headers) : null;
        return { kind: 'success', origin, result: out };
      } catch (e) {
        error = new RetryTopicsOutputError(
          `The handler succeeded for ${from.topic}-${from.partition}@${from.offset} on attempt ${n}, but its result could not be written with the output serde "${output?.value.name}": ${messageOf(e)}; the record goes to the dead-letter topic instead of running the handler again`,
          { cause: e },
        );
        retryable = false;
      }
    } catch (e) {
      error = e;
      try {
        retryable = retryOn(e);
      } catch {
        // A retryOn that throws cannot vouch for another attempt.
        retryable = false;
      }
    }
    return failed(origin, headers, error, n, retryable, fromMain);
  };

  const failed = (
    origin: Origin,
    headers: Headers,
    error: unknown,
    n: number,
    retryable: boolean,
    fromMain: boolean,
  ): Outcome => {
    const now = Date.now();
    const next = retryable && n < attempts ? nextRetryTopic(chain, origin.from.topic) : undefined;
    const toDeadLetter = next === undefined;
    const hop = { error, from: origin.from, attempt: n, dueMs: now + (next?.delayMs ?? 0), toDeadLetter };
    return {
      kind: toDeadLetter ? 'dlt' : 'retry',
      origin,
      topic: next?.topic ?? chain.dlt,
      headers: hopHeaders(headers, hop, fromMain),
    };
  };

  const outcomes = inputs
    .process(originOf, { name: 'retry-topics-origin' })
    .mapValuesAsync((origin, rawKey, headers) => attempt(origin, rawKey, headers), {
      name: 'retry-topics-handler',
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      // The handler's own timeout fires first and counts as a failed attempt; this one only
      // guards against a bug here, and would send the record to the engine's dead letters.
      timeoutMs: timeoutMs + 1_000,
    });
  const { success, moved } = outcomes.split(
    { success: (_k, o) => o.kind === 'success', moved: () => true },
    { name: 'retry-topics-outcome' },
  );
  if (output) {
    success
      .withHeaders((h) => {
        for (const name of historyHeaderNames) h.remove(name);
      })
      .mapValues((o) => (o.kind === 'success' ? o.result : null))
      .to(output.topic, { ...bytes, name: 'retry-topics-output' });
  }
  moved
    .withHeaders(
      (h, _k, o) => {
        if (o.kind === 'success') return;
        for (const name of new Set(h.toArray().map(([n]) => n))) h.remove(name);
        for (const [name, value] of o.headers) h.add(name, value);
      },
      { name: 'retry-topics-hop-headers' },
    )
    .process(stampWallClock<Buffer | null, Outcome>, { name: 'retry-topics-hop-time' })
    .to((_k, o) => (o.kind === 'success' ? chain.dlt : o.topic), {
      key: bytes.key,
      value: originalValue,
      // As Spring: the same partition as the record came from, where the next topic has it.
      partitioner: (_topic, _key, o, partitions) =>
        o.origin.from.partition < partitions ? o.origin.from.partition : undefined,
      name: 'retry-topics-hop',
    });

  return {
    topology: builder.build(),
    topics: { main: chain.main, retries: [...chain.retries], dlt: chain.dlt },
  };
}

/** Adds the record's position and the consumer group, which the mapper cannot see, to its value. */
function originOf(): Processor<Buffer | null, Buffer | null, Buffer | null, Origin> {
  let ctx: ProcessorContext<Buffer | null, Origin>;
  return {
    init(context) {
      ctx = context;
    },
    process(record) {
      const meta = ctx.recordMetadata()!;
      ctx.forward({
        ...record,
        value: {
          value: record.value,
          from: {
            topic: meta.topic,
            partition: meta.partition,
            offset: meta.offset,
            timestamp: record.timestamp,
            consumerGroup: ctx.applicationId,
          },
        },
      });
    },
  };
}

/** A record moved to a retry or dead-letter topic is written now, as Spring writes it: its original time is in the headers. */
function stampWallClock<K, V>(): Processor<K, V, K, V> {
  let ctx: ProcessorContext<K, V>;
  return {
    init(context) {
      ctx = context;
    },
    process(record: StreamRecord<K, V>) {
      ctx.forward({ ...record, timestamp: ctx.currentSystemTimeMs() });
    },
  };
}

/** Writes a moved record's value as it came: its original bytes. */
const originalValue: Serde<Outcome> = {
  name: 'retry-topics-original-value',
  serialize: (_topic, o) => o?.origin.value ?? null,
  deserialize: () => {
    throw new Error('retry-topics-original-value only writes');
  },
};

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new RetryTopicsTimeoutError(`The handler did not settle within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
