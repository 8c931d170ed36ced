/**
 * SessionWindows: per-key periods of activity separated by at least the inactivity gap. A
 * session's window runs from its first to its last record's timestamp (both included); records
 * within the gap of a session join it, and a record that bridges two sessions merges them.
 */
import { checkMillis } from './durations.ts';

export class SessionWindows {
  readonly inactivityGapMs: number;
  readonly graceMs: number;

  private constructor(inactivityGapMs: number, graceMs: number) {
    checkMillis('Session inactivity gap', inactivityGapMs, 0);
    checkMillis('Grace period', graceMs, 0);
    this.inactivityGapMs = inactivityGapMs;
    this.graceMs = graceMs;
  }

  static ofInactivityGapWithNoGrace(inactivityGapMs: number): SessionWindows {
    return new SessionWindows(inactivityGapMs, 0);
  }

  static ofInactivityGapAndGrace(inactivityGapMs: number, graceMs: number): SessionWindows {
    return new SessionWindows(inactivityGapMs, graceMs);
  }

  inactivityGap(): number {
    return this.inactivityGapMs;
  }

  gracePeriodMs(): number {
    return this.graceMs;
  }

  toString(): string {
    return `SessionWindows{inactivityGap=${this.inactivityGapMs}, grace=${this.graceMs}}`;
  }
}
