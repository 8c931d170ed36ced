/**
 * The instance's state machine, as Kafka Streams' KafkaStreams.State: which transitions exist,
 * and telling the listeners. A transition the table does not allow is ignored (a late event
 * from a stopping thread), so callers may ask for a state without checking first.
 */
import { errorMessage, StreamsException } from '../errors/exception-handlers.ts';
import type { Logger } from '../observability/logger.ts';

export type StreamsState =
  | 'CREATED'
  | 'REBALANCING'
  | 'RUNNING'
  | 'PENDING_SHUTDOWN'
  | 'NOT_RUNNING'
  | 'PENDING_ERROR'
  | 'ERROR';

export type StateListener = (newState: StreamsState, oldState: StreamsState) => void;

export const TRANSITIONS: Readonly<Record<StreamsState, readonly StreamsState[]>> = {
  CREATED: ['REBALANCING', 'PENDING_SHUTDOWN', 'PENDING_ERROR'],
  REBALANCING: ['RUNNING', 'REBALANCING', 'PENDING_SHUTDOWN', 'PENDING_ERROR'],
  RUNNING: ['REBALANCING', 'PENDING_SHUTDOWN', 'PENDING_ERROR'],
  PENDING_SHUTDOWN: ['NOT_RUNNING'],
  NOT_RUNNING: [],
  PENDING_ERROR: ['ERROR'],
  ERROR: [],
};

export class StreamsStateMachine {
  #state: StreamsState = 'CREATED';
  readonly #listeners: StateListener[] = [];
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  get state(): StreamsState {
    return this.#state;
  }

  onChange(listener: StateListener): void {
    this.#listeners.push(listener);
  }

  /** Moves to `next` when the table allows it; REBALANCING may repeat (each rebalance is told). */
  transition(next: StreamsState): void {
    const prev = this.#state;
    if (prev === next && next !== 'REBALANCING') return;
    if (prev !== next && !TRANSITIONS[prev].includes(next)) return;
    this.#state = next;
    for (const l of this.#listeners) {
      try {
        l(next, prev);
      } catch (e) {
        this.#logger.warn({ state: next }, `state listener failed: ${errorMessage(e)}`);
      }
    }
  }

  /**
   * Resolves once RUNNING; rejects with the instance's error (`fatal()`) when it stops first or
   * has stopped already, or after `timeoutMs`.
   */
  waitForRunning(applicationId: string, timeoutMs: number, fatal: () => unknown): Promise<void> {
    if (this.#state === 'RUNNING') return Promise.resolve();
    const stopped = (s: StreamsState) =>
      fatal() ?? new StreamsException(`"${applicationId}" stopped (state ${s}) before it was running`);
    // Already stopped: it will never run, so say why now rather than after the timeout.
    if (this.#state === 'ERROR' || this.#state === 'NOT_RUNNING') return Promise.reject(stopped(this.#state));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new StreamsException(
              `"${applicationId}" did not reach RUNNING within ${timeoutMs} ms (state ${this.#state})`,
            ),
          ),
        timeoutMs,
      );
      this.onChange((s) => {
        if (s === 'RUNNING') {
          clearTimeout(timer);
          resolve();
        } else if (s === 'ERROR' || s === 'NOT_RUNNING') {
          clearTimeout(timer);
          reject(stopped(s));
        }
      });
    });
  }

  /** PENDING_ERROR then ERROR, telling the listeners both. */
  fail(): void {
    this.transition('PENDING_ERROR');
    this.transition('ERROR');
  }
}
