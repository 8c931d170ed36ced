/**
 * The Redis fast path: one `SET key pending NX PX <claim> GET` per event tells whether the
 * event is known to be done, and marks it in progress when nobody knew it yet; after the
 * PostgreSQL commit, `SET key done PX <ttl>` records that it is done.
 *
 * Only "done" lets an event be skipped, and "done" is written only after PostgreSQL committed
 * the event (or found it committed before). A crash between the claim and the commit leaves a
 * "pending" marker, which never skips anything: the next delivery goes to PostgreSQL, which
 * decides. So the cache can only save work, never lose an event; and when Redis is slow, down or
 * flushed, every event simply takes the PostgreSQL path.
 */
import type { Redis } from 'ioredis';

export type CacheAnswer =
  /** PostgreSQL committed this event before: skip it. */
  | 'done'
  /** Not known: ask PostgreSQL (the claim was taken, or another attempt holds it, or Redis did not answer). */
  | 'unknown';

const DONE = 'done';
const PENDING = 'pending';

export interface DedupCacheOptions {
  redis: Redis;
  consumerId: string;
  /** How long a "done" entry lives. */
  ttlMs: number;
  /** How long a "pending" marker lives: past it, no attempt that set it is still running. */
  claimMs: number;
  /** A Redis call slower than this counts as no answer. */
  callTimeoutMs: number;
}

/** The Redis key that caches whether `eventId` is done for `consumerId`. */
export function dedupCacheKey(consumerId: string, eventId: string): string {
  return `idempotent-consumer:${consumerId}:${eventId}`;
}

export class DedupCache {
  readonly #redis: Redis;
  readonly #consumerId: string;
  readonly #ttlMs: number;
  readonly #claimMs: number;
  readonly #callTimeoutMs: number;

  constructor(options: DedupCacheOptions) {
    this.#redis = options.redis;
    this.#consumerId = options.consumerId;
    this.#ttlMs = options.ttlMs;
    this.#claimMs = options.claimMs;
    this.#callTimeoutMs = options.callTimeoutMs;
  }

  key(eventId: string): string {
    return dedupCacheKey(this.#consumerId, eventId);
  }

  /** Whether the event is known done; when nobody knew it, marks it pending. Never throws. */
  async check(eventId: string): Promise<CacheAnswer> {
    const previous = await this.#call(() =>
      this.#redis.set(this.key(eventId), PENDING, 'PX', this.#claimMs, 'NX', 'GET'),
    );
    return previous === DONE ? 'done' : 'unknown';
  }

  /** Records the event as done, best effort: false when Redis did not take it. Never throws. */
  async markDone(eventId: string): Promise<boolean> {
    const ok = await this.#call(() => this.#redis.set(this.key(eventId), DONE, 'PX', this.#ttlMs));
    return ok === 'OK';
  }

  /**
   * Runs a Redis call unless the client is not connected (then ioredis would queue the command
   * until it reconnects), bounded by the call timeout; any failure is `undefined`.
   */
  async #call<T>(call: () => Promise<T>): Promise<T | undefined> {
    if (this.#redis.status !== 'ready') return undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      const answer = call();
      // The call may still settle after the timeout: its outcome is ignored, never unhandled.
      answer.catch(() => {});
      return await Promise.race([
        answer,
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), this.#callTimeoutMs);
        }),
      ]);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}
