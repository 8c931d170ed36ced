/**
 * JoinWindows: how far apart in time two records of a stream-stream join may be. A left record at
 * `t` joins right records in `[t - before, t + after]`. Left and outer joins emit a record without
 * a match only once that range plus the grace period has passed in stream time.
 */
import { checkMillis } from './durations.ts';

export class JoinWindows {
  readonly beforeMs: number;
  readonly afterMs: number;
  readonly graceMs: number;

  private constructor(beforeMs: number, afterMs: number, graceMs: number) {
    checkMillis('Join window before', beforeMs, Number.MIN_SAFE_INTEGER);
    checkMillis('Join window after', afterMs, Number.MIN_SAFE_INTEGER);
    if (beforeMs + afterMs < 0) {
      throw new RangeError(
        `Join window interval (before + after) must not be negative, got before=${beforeMs} ms, after=${afterMs} ms`,
      );
    }
    checkMillis('Grace period', graceMs, 0);
    this.beforeMs = beforeMs;
    this.afterMs = afterMs;
    this.graceMs = graceMs;
  }

  /** Records join when their timestamps differ by at most `timeDifferenceMs`; late by more than `graceMs` after that, they are dropped. */
  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): JoinWindows {
    checkMillis('Join window time difference', timeDifferenceMs, 0);
    return new JoinWindows(timeDifferenceMs, timeDifferenceMs, graceMs);
  }

  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): JoinWindows {
    return JoinWindows.ofTimeDifferenceAndGrace(timeDifferenceMs, 0);
  }

  /** How much earlier than a left record a right record may be (may be negative). */
  before(ms: number): JoinWindows {
    return new JoinWindows(ms, this.afterMs, this.graceMs);
  }

  /** How much later than a left record a right record may be (may be negative). */
  after(ms: number): JoinWindows {
    return new JoinWindows(this.beforeMs, ms, this.graceMs);
  }

  size(): number {
    return this.beforeMs + this.afterMs;
  }

  gracePeriodMs(): number {
    return this.graceMs;
  }

  toString(): string {
    return `JoinWindows{before=${this.beforeMs}, after=${this.afterMs}, grace=${this.graceMs}}`;
  }
}
