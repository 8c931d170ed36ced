/**
 * One state machine for an instance with several stream threads. Each thread tells its own
 * transitions (rebalancing, running); the instance is RUNNING only while every thread runs, and
 * goes to REBALANCING when the first of them leaves RUNNING. A thread's end is not the
 * instance's: KafkaStreams tells NOT_RUNNING or ERROR once every thread has ended.
 */
import type { StreamsState, StreamsStateMachine } from './streams-state.ts';

/** Where a stream thread tells its transitions: the instance's machine, or its share of one. */
export interface ThreadStateSink {
  transition(next: StreamsState): void;
}

export class ThreadStates {
  readonly #instance: StreamsStateMachine;
  readonly #running: boolean[];

  constructor(instance: StreamsStateMachine, threads: number) {
    this.#instance = instance;
    this.#running = Array.from({ length: threads }, () => false);
  }

  /** The sink of thread `index` (0 for stream thread 1). */
  thread(index: number): ThreadStateSink {
    return { transition: (next) => this.#told(index, next) };
  }

  #told(index: number, next: StreamsState): void {
    if (next === 'RUNNING') {
      this.#running[index] = true;
      if (this.#running.every(Boolean)) this.#instance.transition('RUNNING');
    } else if (next === 'REBALANCING') {
      this.#running[index] = false;
      if (this.#instance.state !== 'REBALANCING') this.#instance.transition('REBALANCING');
    }
  }
}
