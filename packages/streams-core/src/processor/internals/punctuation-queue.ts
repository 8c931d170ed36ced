/**
 * The punctuators a task's processors schedule, on stream time or on the wall clock. The two kinds
 * are kept apart because they are checked at different moments: stream-time schedules after every
 * record and every stream-time advance (a check that must cost nothing when there are none),
 * wall-clock schedules only when the runtime or the test driver says the clock moved.
 */
import { errorMessage, StreamsException } from '../../errors/exception-handlers.ts';
import type { Cancellable, PunctuationType, Punctuator } from '../api/processor.ts';
import type { TaskMetrics } from './task-metrics.ts';
import { type TaskState, UNKNOWN_TIME } from './task-state.ts';

interface Schedule {
  next: number;
  readonly interval: number;
  readonly punctuator: Punctuator;
  readonly node: string;
  cancelled: boolean;
}

export class PunctuationQueue {
  readonly #streamTimeSchedules: Schedule[] = [];
  readonly #wallClockSchedules: Schedule[] = [];
  readonly #taskId: string;
  readonly #state: TaskState;
  readonly #metrics: TaskMetrics;
  readonly #clock: { now(): number };

  /** `clock` is the task's options, whose `now` the test driver controls. */
  constructor(taskId: string, state: TaskState, metrics: TaskMetrics, clock: { now(): number }) {
    this.#taskId = taskId;
    this.#state = state;
    this.#metrics = metrics;
    this.#clock = clock;
  }

  /** A processor's `context.schedule`; `node` is the processor's name. */
  schedule(node: string, intervalMs: number, type: PunctuationType, punctuator: Punctuator): Cancellable {
    if (!(intervalMs >= 1))
      throw new StreamsException(`Punctuation interval must be at least 1 ms, got ${intervalMs}`);
    const schedule: Schedule = {
      // Stream-time punctuation is aligned to 0 and fires with the first record; wall-clock
      // punctuation fires one interval from now, as in Kafka Streams.
      next: type === 'STREAM_TIME' ? 0 : this.#clock.now() + intervalMs,
      interval: intervalMs,
      punctuator,
      node,
      cancelled: false,
    };
    (type === 'STREAM_TIME' ? this.#streamTimeSchedules : this.#wallClockSchedules).push(schedule);
    return {
      cancel() {
        schedule.cancelled = true;
      },
    };
  }

  /** Runs the stream-time punctuators due at `streamTime`; none before the first record. */
  punctuateStreamTime(streamTime: number): void {
    if (streamTime === UNKNOWN_TIME || this.#streamTimeSchedules.length === 0) return;
    this.#run(this.#streamTimeSchedules, streamTime);
  }

  /** Runs wall-clock punctuators that are due; returns whether any ran. */
  punctuateWallClock(now: number): boolean {
    return this.#run(this.#wallClockSchedules, now);
  }

  #run(schedules: Schedule[], time: number): boolean {
    let ran = false;
    for (const s of schedules) {
      if (s.cancelled || s.next > time) continue;
      ran = true;
      this.#state.currentNode = s.node;
      try {
        s.punctuator(time);
      } catch (error) {
        throw new StreamsException(
          `Punctuator of ${s.node} in task ${this.#taskId} failed: ${errorMessage(error)}`,
          { cause: error, taskId: this.#taskId },
        );
      }
      this.#metrics.punctuations++;
      // A punctuator skips the intervals it missed rather than firing once for each.
      const missed = Math.floor((time - s.next) / s.interval);
      s.next += (missed + 1) * s.interval;
    }
    // Cancelled schedules are dropped after a run, not during it, so a punctuator may cancel any
    // schedule (its own included) without disturbing the loop.
    if (ran) {
      for (let i = schedules.length - 1; i >= 0; i--) if (schedules[i]!.cancelled) schedules.splice(i, 1);
    }
    return ran;
  }
}
