/**
 * The instance's state machine, as Kafka Streams' KafkaStreams.State: which transitions exist,
 * and telling the listeners. A transition the table does not allow is ignored (a late event
 * from a stopping thread), so callers may ask for a state without checking first.
 */
import { errorMessage } from '../errors/exception-handlers.ts';
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

  /** PENDING_ERROR then ERROR, telling the listeners both. */
  fail(): void {
    this.transition('PENDING_ERROR');
    this.transition('ERROR');
  }
}
