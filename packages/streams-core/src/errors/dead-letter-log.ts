/**
 * Dead letters in the application's log, rate-limited per source topic.
 *
 * A dead letter that is only counted hides the bug that made it: the first ones of each source
 * topic are logged in full (where from, which dead-letter topic, why), so the cause is in the
 * log next to everything else. A flood must not drown that log, though: within an interval only
 * the first `perInterval` dead letters of a topic are logged one by one; the rest are counted
 * and summed up in one line when the interval ends ("… and 1,234 more dead letters from orders
 * in the last 10 s"). The metric `records_dead_lettered_total` still counts every one.
 */
import type { Logger } from '../observability/logger.ts';

export interface DeadLetterLogEntry {
  readonly kind: 'deserialization' | 'processing';
  readonly taskId: string;
  /** The node whose code threw; the source node for deserialization errors. */
  readonly nodeName: string;
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: bigint };
  readonly deadLetterTopic: string;
  /** The exception's class name, as written to the dead letter's headers. */
  readonly exception: string;
  readonly message: string;
}

/** Time and timers, so that tests drive the intervals without waiting. */
export interface DeadLetterLogClock {
  now(): number;
  /** Calls `callback` after `ms`; the returned function cancels it. */
  schedule(callback: () => void, ms: number): () => void;
}

export interface DeadLetterLogOptions {
  readonly logger: Logger;
  /** Dead letters per source topic and interval logged one by one. Default 10. */
  readonly perInterval?: number;
  /** Default 10 s. */
  readonly intervalMs?: number;
  readonly clock?: DeadLetterLogClock;
}

const systemClock: DeadLetterLogClock = {
  now: Date.now,
  schedule(callback, ms) {
    const timer = setTimeout(callback, ms);
    // A pending summary must not keep a process alive that has nothing else to do.
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/** One source topic's current interval. */
interface Interval {
  readonly startedAt: number;
  logged: number;
  suppressed: number;
  last: DeadLetterLogEntry | undefined;
  deadLetterTopics: Set<string>;
  cancel: (() => void) | undefined;
}

export class DeadLetterLog {
  readonly #logger: Logger;
  readonly #perInterval: number;
  readonly #intervalMs: number;
  readonly #clock: DeadLetterLogClock;
  readonly #intervals = new Map<string, Interval>();

  constructor(options: DeadLetterLogOptions) {
    this.#logger = options.logger;
    this.#perInterval = options.perInterval ?? 10;
    this.#intervalMs = options.intervalMs ?? 10_000;
    this.#clock = options.clock ?? systemClock;
  }

  log(entry: DeadLetterLogEntry): void {
    const topic = entry.source.topic;
    const now = this.#clock.now();
    let interval = this.#intervals.get(topic);
    if (interval && now - interval.startedAt >= this.#intervalMs) {
      this.#summarize(topic, interval, now);
      interval = undefined;
    }
    if (!interval) {
      interval = {
        startedAt: now,
        logged: 0,
        suppressed: 0,
        last: undefined,
        deadLetterTopics: new Set(),
        cancel: undefined,
      };
      this.#intervals.set(topic, interval);
    }
    if (interval.logged < this.#perInterval) {
      interval.logged++;
      this.#logOne(entry);
      return;
    }
    interval.suppressed++;
    interval.last = entry;
    interval.deadLetterTopics.add(entry.deadLetterTopic);
    if (!interval.cancel) {
      const current = interval;
      interval.cancel = this.#clock.schedule(
        () => this.#summarize(topic, current, this.#clock.now()),
        current.startedAt + this.#intervalMs - now,
      );
    }
  }

  /** Logs the summaries still pending (on close, so that no count is lost). */
  close(): void {
    const now = this.#clock.now();
    for (const [topic, interval] of [...this.#intervals]) this.#summarize(topic, interval, now);
    this.#intervals.clear();
  }

  #logOne(e: DeadLetterLogEntry): void {
    const { topic, partition, offset } = e.source;
    this.#logger.warn(
      {
        taskId: e.taskId,
        node: e.nodeName,
        kind: e.kind,
        source: e.source,
        deadLetterTopic: e.deadLetterTopic,
        exception: e.exception,
      },
      `dead letter: ${topic}-${partition}@${offset} moved to ${e.deadLetterTopic} after a ${e.kind} error in ${e.nodeName} (task ${e.taskId}): ${e.exception}: ${e.message}`,
    );
  }

  #summarize(topic: string, interval: Interval, now: number): void {
    interval.cancel?.();
    interval.cancel = undefined;
    if (this.#intervals.get(topic) === interval) this.#intervals.delete(topic);
    const last = interval.last;
    if (interval.suppressed === 0 || !last) return;
    const elapsedMs = Math.min(now - interval.startedAt, this.#intervalMs);
    const to = [...interval.deadLetterTopics].join(', ');
    this.#logger.warn(
      {
        sourceTopic: topic,
        deadLetterTopics: [...interval.deadLetterTopics],
        more: interval.suppressed,
        intervalMs: elapsedMs,
        last: { source: last.source, exception: last.exception, message: last.message },
      },
      `… and ${interval.suppressed.toLocaleString('en-US')} more dead letters from ${topic} in the last ${seconds(elapsedMs)}, to ${to} (the last: ${topic}-${last.source.partition}@${last.source.offset}, ${last.exception}: ${last.message})`,
    );
  }
}

function seconds(ms: number): string {
  const s = Math.round(ms / 100) / 10;
  return `${s.toLocaleString('en-US')} s`;
}
