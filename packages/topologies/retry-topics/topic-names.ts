/**
 * Back-off delays and topic names, computed as Spring Kafka 4.1's `@RetryableTopic` computes them
 * for the same settings (BackOffFactory, BackOffValuesGenerator, DestinationTopicPropertiesFactory),
 * so that a Spring listener and this topology configured alike use the same topics.
 */

/** How long to wait before each retry. */
export interface Backoff {
  /** The first delay (and every delay when neither multiplier nor maxDelayMs is given). */
  delayMs: number;
  /** Each delay is the previous one times this (at least 1); exponential back-off when given. */
  multiplier?: number;
  /** No delay is longer than this; exponential back-off when given. */
  maxDelayMs?: number;
}

/**
 * How retry topics are told apart: `'index'` gives `<topic>-retry-0`, `-retry-1`, ...
 * (`topicSuffixingStrategy = SUFFIX_WITH_INDEX_VALUE`); `'delay'` gives `<topic>-retry-1000`,
 * `-retry-2000`, ... (`SUFFIX_WITH_DELAY_VALUE`, the annotation's default). Either way a back-off
 * whose delays are all the same uses one topic, `<topic>-retry`, as Spring's default
 * `sameIntervalTopicReuseStrategy = SINGLE_TOPIC` does.
 */
export type TopicSuffixing = 'index' | 'delay';

export const DEFAULT_ATTEMPTS = 3;
export const DEFAULT_BACKOFF: Readonly<Backoff> = Object.freeze({ delayMs: 1000 });
export const RETRY_SUFFIX = '-retry';
export const DLT_SUFFIX = '-dlt';

export interface RetryTopicChain {
  readonly main: string;
  /** The retry topics, in the order a record goes through them. */
  readonly retries: readonly string[];
  readonly dlt: string;
  /** The delay before a record in each retry topic is due, by retry topic. */
  readonly delays: readonly number[];
  /**
   * The last retry topic takes every remaining attempt (its delay repeats): a record that fails
   * there goes back to it until its attempts run out.
   */
  readonly lastIsReused: boolean;
}

/**
 * The delays before attempts 2, 3, ..., `attempts`: a fixed back-off when only `delayMs` is
 * given, else exponential from `delayMs` by `multiplier` (default 1) up to `maxDelayMs` (default
 * none), each delay truncated to whole milliseconds as Spring's ExponentialBackOff does.
 */
export function backoffDelays(attempts: number, backoff: Backoff = DEFAULT_BACKOFF): number[] {
  checkSettings(attempts, backoff);
  const count = attempts - 1;
  const exponential = backoff.multiplier !== undefined || backoff.maxDelayMs !== undefined;
  if (!exponential) return Array.from({ length: count }, () => backoff.delayMs);
  const multiplier = backoff.multiplier ?? 1;
  const max = backoff.maxDelayMs ?? Number.MAX_SAFE_INTEGER;
  const out: number[] = [];
  let current = -1;
  for (let i = 0; i < count; i++) {
    if (current < 0) current = backoff.delayMs;
    else if (current >= max) current = max;
    else current = Math.min(Math.trunc(current * multiplier), max);
    out.push(Math.min(current, max));
  }
  return out;
}

/** The topics a record goes through for these settings, named as Spring names them. */
export function retryTopicChain(
  topic: string,
  attempts: number = DEFAULT_ATTEMPTS,
  backoff: Backoff = DEFAULT_BACKOFF,
  suffixing: TopicSuffixing = 'index',
): RetryTopicChain {
  const delays = backoffDelays(attempts, backoff);
  const last = delays.at(-1);
  const repeatsOfLast = delays.filter((d) => d === last).length;
  // Delays never shrink, so equal delays are always the last ones: they share one topic.
  const reused = delays.length > 1 ? repeatsOfLast - 1 : 0;
  const topicCount = delays.length - reused;
  const allSame = delays.length > 1 && repeatsOfLast === delays.length;
  const byIndex = suffixing === 'index' || allSame;
  const retries: string[] = [];
  for (let i = 0; i < topicCount; i++) {
    const delay = delays[i]!;
    let suffix: string;
    if (topicCount === 1) suffix = RETRY_SUFFIX;
    else if (byIndex) suffix = `${RETRY_SUFFIX}-${i}`;
    else suffix = `${RETRY_SUFFIX}-${delay}`;
    retries.push(`${topic}${suffix}`);
  }
  return {
    main: topic,
    retries,
    dlt: `${topic}${DLT_SUFFIX}`,
    delays: delays.slice(0, topicCount),
    lastIsReused: topicCount > 0 && repeatsOfLast > 1,
  };
}

/**
 * Where a record that failed on `sourceTopic` goes for its next attempt (Spring's
 * DefaultDestinationTopicResolver): the main topic leads to the first retry topic, each retry
 * topic to the next one, a reused last retry topic to itself. Undefined: there is no retry topic
 * after this one (the record goes to the dead-letter topic).
 */
export function nextRetryTopic(
  chain: RetryTopicChain,
  sourceTopic: string,
): { topic: string; delayMs: number } | undefined {
  const at = sourceTopic === chain.main ? -1 : chain.retries.indexOf(sourceTopic);
  const last = chain.retries.length - 1;
  const next = at === last && chain.lastIsReused ? at : at + 1;
  if (next > last || next < 0) return undefined;
  return { topic: chain.retries[next]!, delayMs: chain.delays[next]! };
}

function checkSettings(attempts: number, backoff: Backoff): void {
  if (!Number.isInteger(attempts) || attempts < 1)
    throw new RangeError(
      `retryTopics: attempts must be a whole number of at least 1 (it counts the first attempt), got ${attempts}`,
    );
  if (attempts > 32_767)
    throw new RangeError(
      `retryTopics: attempts must be at most 32767 (Spring's cap on the attempts header), got ${attempts}`,
    );
  if (!Number.isInteger(backoff.delayMs) || backoff.delayMs < 0)
    throw new RangeError(
      `retryTopics: backoff.delayMs must be a whole number of milliseconds, 0 or more, got ${backoff.delayMs}`,
    );
  if (backoff.multiplier !== undefined && !(backoff.multiplier >= 1 && Number.isFinite(backoff.multiplier)))
    throw new RangeError(
      `retryTopics: backoff.multiplier must be 1 or more (1 keeps the delay fixed), got ${backoff.multiplier}`,
    );
  if (backoff.maxDelayMs !== undefined && !(Number.isInteger(backoff.maxDelayMs) && backoff.maxDelayMs > 0))
    throw new RangeError(
      `retryTopics: backoff.maxDelayMs must be a whole number of milliseconds above 0, got ${backoff.maxDelayMs}`,
    );
}
