/**
 * Riding out a broker outage: how long the stream thread keeps retrying transient failures
 * (Kafka Streams' task.timeout.ms), how long it waits between tries, and telling the logger and
 * the metrics when an outage begins, goes on and ends. The thread decides what a retry is (fresh
 * clients, resuming from the committed state); this module decides whether and when.
 */
import { errorMessage } from '../errors/exception-handlers.ts';
import type { Logger } from '../observability/logger.ts';
import type { ThreadMetrics } from './thread-metrics.ts';

export const DEFAULT_TASK_TIMEOUT_MS = 300_000;
const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;

export class Outage {
  readonly #applicationId: string;
  readonly #budgetMs: number;
  readonly #logger: Logger;
  readonly #metrics: ThreadMetrics;
  /** When the current run of transient failures began (performance.now()), while one lasts. */
  #since: number | undefined;
  #retries = 0;
  #wake: (() => void) | undefined;

  constructor(applicationId: string, budgetMs: number | undefined, logger: Logger, metrics: ThreadMetrics) {
    this.#applicationId = applicationId;
    this.#budgetMs = budgetMs ?? DEFAULT_TASK_TIMEOUT_MS;
    this.#logger = logger;
    this.#metrics = metrics;
  }

  /**
   * A transient failure: waits out the back-off and returns true, or returns false at once when
   * the outage has lasted longer than the budget.
   */
  async retry(error: unknown): Promise<boolean> {
    const now = performance.now();
    this.#since ??= now;
    const elapsed = now - this.#since;
    const app = this.#applicationId;
    if (elapsed > this.#budgetMs) {
      this.#logger.error(
        { elapsedMs: Math.round(elapsed), taskTimeoutMs: this.#budgetMs },
        `"${app}" gives up after ${Math.round(elapsed / 1000)} s of broker errors (taskTimeoutMs ${this.#budgetMs}): ${errorMessage(error)}`,
      );
      return false;
    }
    const delay = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** Math.min(this.#retries, 10));
    this.#retries++;
    this.#metrics.transientFailure(error, this.#since);
    this.#logger.warn(
      { retry: this.#retries, delayMs: delay, outageMs: Math.round(elapsed) },
      `"${app}" lost the broker, retrying in ${delay} ms (${Math.round(elapsed / 1000)} s into the outage, gives up after ${Math.round(this.#budgetMs / 1000)} s): ${errorMessage(error)}`,
    );
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
    return true;
  }

  /** Ends a back-off early (the application is closing). */
  interrupt(): void {
    this.#wake?.();
  }

  /** The thread made progress: an outage, if one was going on, is over. */
  recovered(): void {
    if (this.#since === undefined) return;
    this.#logger.info(
      { outageMs: Math.round(performance.now() - this.#since), retries: this.#retries },
      `"${this.#applicationId}" is back after ${this.#retries} retries`,
    );
    this.#since = undefined;
    this.#retries = 0;
    this.#metrics.recovered();
  }
}
