/**
 * TimeWindows: fixed-size windows aligned to the epoch. Tumbling when the advance equals the size,
 * hopping (overlapping) when it is smaller. A window is `[start, start + size)`; it closes, and
 * later records for it are dropped, once stream time reaches its end plus the grace period.
 */
import type { Window } from '../../serdes/windowed.ts';
import { checkMillis } from './durations.ts';

export class TimeWindows {
  readonly sizeMs: number;
  readonly advanceMs: number;
  readonly graceMs: number;

  private constructor(sizeMs: number, advanceMs: number, graceMs: number) {
    checkMillis('Window size', sizeMs, 1);
    checkMillis('Window advance', advanceMs, 1);
    if (advanceMs > sizeMs) {
      throw new RangeError(
        `Window advance (${advanceMs} ms) must not be larger than the window size (${sizeMs} ms): records between windows would be lost`,
      );
    }
    checkMillis('Grace period', graceMs, 0);
    this.sizeMs = sizeMs;
    this.advanceMs = advanceMs;
    this.graceMs = graceMs;
  }

  /** Tumbling windows of `sizeMs`; a record later than its window's end is dropped. */
  static ofSizeWithNoGrace(sizeMs: number): TimeWindows {
    return new TimeWindows(sizeMs, sizeMs, 0);
  }

  /** Tumbling windows of `sizeMs` that accept out-of-order records until `graceMs` after their end. */
  static ofSizeAndGrace(sizeMs: number, graceMs: number): TimeWindows {
    return new TimeWindows(sizeMs, sizeMs, graceMs);
  }

  /** Hopping windows: a new window every `advanceMs` (0 < advance <= size). */
  advanceBy(advanceMs: number): TimeWindows {
    return new TimeWindows(this.sizeMs, advanceMs, this.graceMs);
  }

  size(): number {
    return this.sizeMs;
  }

  gracePeriodMs(): number {
    return this.graceMs;
  }

  /**
   * The windows a timestamp falls in, by start, ascending. Windows never start before 0, as in
   * Kafka Streams, so the first windows of a hopping definition are fewer.
   */
  windowsFor(timestamp: number): Window[] {
    const out: Window[] = [];
    let start =
      Math.floor(Math.max(0, timestamp - this.sizeMs + this.advanceMs) / this.advanceMs) * this.advanceMs;
    for (; start <= timestamp; start += this.advanceMs) out.push({ start, end: start + this.sizeMs });
    return out;
  }

  toString(): string {
    return `TimeWindows{size=${this.sizeMs}, advance=${this.advanceMs}, grace=${this.graceMs}}`;
  }
}
