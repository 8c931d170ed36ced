/**
 * SlidingWindows: windows of a fixed length that exist only where records are, as in Kafka
 * Streams. Two records fall in the same window when their timestamps differ by at most the time
 * difference; a window `[start, start + timeDifference]` includes both ends.
 */
import { checkMillis } from './durations.ts';

export class SlidingWindows {
  readonly timeDifferenceMs: number;
  readonly graceMs: number;

  private constructor(timeDifferenceMs: number, graceMs: number) {
    // Kafka Streams accepts 0 here but fails on the first record (a window must end after it starts).
    checkMillis('Window time difference', timeDifferenceMs, 1);
    checkMillis('Grace period', graceMs, 0);
    this.timeDifferenceMs = timeDifferenceMs;
    this.graceMs = graceMs;
  }

  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): SlidingWindows {
    return new SlidingWindows(timeDifferenceMs, 0);
  }

  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): SlidingWindows {
    return new SlidingWindows(timeDifferenceMs, graceMs);
  }

  gracePeriodMs(): number {
    return this.graceMs;
  }

  toString(): string {
    return `SlidingWindows{timeDifference=${this.timeDifferenceMs}, grace=${this.graceMs}}`;
  }
}
