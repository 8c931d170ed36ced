/**
 * What the main thread and a stream thread's worker say to each other: the data a worker starts
 * with, and the messages on its port. Everything here is plain data (a structured clone).
 */

import type { TopicPlan } from './internal-topics.ts';
import type { StreamsMetrics } from './metrics.ts';
import type { StreamsState } from './streams-state.ts';
import type { RestoreProgress } from './task-manager.ts';
import type { WorkerStreamsConfig } from './worker-config.ts';

export interface StreamThreadWorkerData {
  /** 1-based, as in the client id suffix `-StreamThread-N`. */
  readonly threadNumber: number;
  readonly topologyModule: string;
  readonly topologyArgs: readonly unknown[];
  /** The main topology's `describe()` text, which the worker's must match. */
  readonly description: string;
  readonly config: WorkerStreamsConfig;
  readonly plan: TopicPlan;
  readonly clientId: string;
  readonly transactionalId: string;
  readonly userData: Uint8Array;
  /** Process nothing until told `release`: the instance is not yet RUNNING with every thread. */
  readonly held: boolean;
}

/** The worker's error, as the uncaught exception handler and `KafkaStreams.error` see it. */
export interface ThreadError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
}

export type FromWorker =
  /** The topology is built and checked: the thread is about to join the group. */
  | { readonly type: 'ready' }
  | { readonly type: 'state'; readonly state: StreamsState; readonly tasks: string[] }
  | { readonly type: 'metrics'; readonly metrics: StreamsMetrics; readonly tasks: string[] }
  | {
      readonly type: 'log';
      readonly level: 'debug' | 'info' | 'warn' | 'error';
      readonly obj: Record<string, unknown>;
      readonly msg: string;
    }
  | { readonly type: 'restored'; readonly progress: RestoreProgress }
  /** The worker's thread has ended, on a stop or with the error that ended it. */
  | { readonly type: 'ended'; readonly error: ThreadError | undefined };

/** Asks the worker's thread to finish: commit what was processed, close its tasks, leave the group. */
export type ToWorker =
  | { readonly type: 'stop' }
  /** Every thread has its first assignment: processing may start. */
  | { readonly type: 'release' };

export function threadError(error: unknown): ThreadError {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: String(error), stack: undefined };
}

/** The worker's error again on the main thread, with its name, message and stack. */
export function reviveThreadError(e: ThreadError): Error {
  const error = new Error(e.message);
  error.name = e.name;
  if (e.stack !== undefined) error.stack = e.stack;
  return error;
}
