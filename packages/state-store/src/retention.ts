// Stream-time retention shared by the window and session stores of both backends, so they
// agree exactly on what is expired: observed stream time is the largest timestamp put so far
// (window start, or session end); a timestamp t is expired once t <= streamTime - retention.
// Expired data is invisible to reads immediately and physically removed a segment at a time,
// like Kafka Streams' segmented stores: time is cut into segments of `segmentIntervalMs` and
// a whole segment is dropped once every timestamp in it is expired.

export const NO_STREAM_TIME = -1;

/** Kafka Streams' default: max(retention / 2, 60 s). */
export function defaultSegmentInterval(retentionMs: number): number {
  return Math.max(Math.floor(retentionMs / 2), 60_000);
}

export class Retention {
  readonly retentionMs: number;
  readonly segmentIntervalMs: number;
  #streamTime = NO_STREAM_TIME;
  // Everything strictly below this timestamp has been (or is being) physically removed.
  #purgedBelow = Number.NEGATIVE_INFINITY;

  constructor(retentionMs: number, segmentIntervalMs = defaultSegmentInterval(retentionMs)) {
    if (!(retentionMs >= 0) || !Number.isFinite(retentionMs)) {
      throw new RangeError(
        `retentionMs must be a non-negative finite number of milliseconds, got ${retentionMs}`,
      );
    }
    if (!(segmentIntervalMs > 0) || !Number.isFinite(segmentIntervalMs)) {
      throw new RangeError(
        `segmentIntervalMs must be a positive number of milliseconds, got ${segmentIntervalMs}`,
      );
    }
    this.retentionMs = retentionMs;
    this.segmentIntervalMs = segmentIntervalMs;
  }

  get streamTime(): number {
    return this.#streamTime;
  }

  /** Smallest timestamp that is still live. */
  get minLiveTime(): number {
    return this.#streamTime - this.retentionMs + 1;
  }

  isExpired(timestamp: number): boolean {
    return timestamp < this.minLiveTime;
  }

  segmentId(timestamp: number): number {
    return Math.floor(timestamp / this.segmentIntervalMs);
  }

  /** Resumes from a stream time persisted earlier; what it made expire was already removed then. */
  restore(streamTime: number): void {
    this.#streamTime = streamTime;
    this.#purgedBelow = this.segmentId(this.minLiveTime) * this.segmentIntervalMs;
  }

  /**
   * Advances stream time. Returns the timestamp below which data should now be physically
   * removed when a segment boundary was crossed, or undefined when nothing new expired.
   */
  advance(timestamp: number): number | undefined {
    if (timestamp <= this.#streamTime) return undefined;
    this.#streamTime = timestamp;
    const purgeBelow = this.segmentId(this.minLiveTime) * this.segmentIntervalMs;
    if (purgeBelow <= this.#purgedBelow) return undefined;
    this.#purgedBelow = purgeBelow;
    return purgeBelow;
  }
}
