/**
 * The main thread's handle on a stream thread that runs in a worker (`stream-thread-worker.ts`):
 * starts the worker, keeps what it last reported (state, tasks, metrics), forwards its log lines
 * and restorations, and when the worker ends with an error applies the application's uncaught
 * exception handler: REPLACE_THREAD starts a new worker for the same thread, SHUTDOWN_CLIENT
 * stops the instance.
 */
import { Worker } from 'node:worker_threads';
import { errorMessage } from '../errors/exception-handlers.ts';
import type { Logger } from '../observability/logger.ts';
import type { StreamsMetrics } from './metrics.ts';
import type { UncaughtExceptionHandler, UncaughtExceptionResponse } from './stream-thread.ts';
import type { TaskId } from './task-id.ts';
import type { RestoreProgress } from './task-manager.ts';
import {
  type FromWorker,
  reviveThreadError,
  type StreamThreadWorkerData,
  type ToWorker,
  threadError,
} from './thread-messages.ts';
import type { ThreadStateSink } from './thread-states.ts';

/** The worker's module, next to this one (TypeScript sources, or the built JavaScript). */
const WORKER_URL = new URL(
  `./stream-thread-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`,
  import.meta.url,
);
/** A worker that said it ended but does not exit (a handle left open) is terminated after this long. */
const EXIT_WAIT_MS = 10_000;

export interface WorkerStreamThreadOptions {
  readonly data: StreamThreadWorkerData;
  readonly state: ThreadStateSink;
  readonly logger: Logger;
  readonly uncaughtExceptionHandler: () => UncaughtExceptionHandler;
  readonly onRestore: (progress: RestoreProgress) => void;
  /** Called with the error that stopped the thread for good. */
  readonly onFatal: (error: unknown) => void;
  /** A worker has exited: its task locks are released (it may not have released them itself). */
  readonly onExit: (workerThreadId: number) => void;
}

export class WorkerStreamThread {
  readonly #o: WorkerStreamThreadOptions;
  #worker: Worker | undefined;
  #stopping = false;
  #released = false;
  #tasks: TaskId[] = [];
  #metrics: StreamsMetrics | undefined;
  #markReady: () => void = () => {};
  /** Resolves once the first worker has built its topology (or has ended without). */
  readonly ready = new Promise<void>((resolve) => {
    this.#markReady = resolve;
  });

  constructor(options: WorkerStreamThreadOptions) {
    this.#o = options;
  }

  /** The tasks the worker last reported running. */
  activeTaskIds(): TaskId[] {
    return this.#tasks;
  }

  /** The worker's metrics as last reported (every half second, and when it ends). */
  get metrics(): StreamsMetrics | undefined {
    return this.#metrics;
  }

  /** The instance runs with every thread: the worker may start processing. */
  release(): void {
    this.#released = true;
    this.#worker?.postMessage({ type: 'release' } satisfies ToWorker);
  }

  stop(): void {
    this.#stopping = true;
    this.#worker?.postMessage({ type: 'stop' } satisfies ToWorker);
  }

  /** Runs until stopped or failed for good; never rejects. */
  async run(): Promise<void> {
    for (;;) {
      const error = await this.#runWorker();
      this.#tasks = [];
      if (error === undefined || this.#stopping) return;
      let response: UncaughtExceptionResponse = 'SHUTDOWN_CLIENT';
      try {
        response = this.#o.uncaughtExceptionHandler()(error);
      } catch (e) {
        this.#o.logger.warn({}, `uncaught exception handler failed: ${errorMessage(e)}`);
      }
      if (response === 'REPLACE_THREAD') {
        this.#o.logger.warn(
          {},
          `"${this.#o.data.config.applicationId}" replaces stream thread ${this.#o.data.threadNumber} after: ${errorMessage(error)}`,
        );
        this.#o.state.transition('REBALANCING');
        continue;
      }
      this.#o.onFatal(error);
      return;
    }
  }

  /** One worker's life: resolves with the error that ended it, undefined when it was stopped. */
  #runWorker(): Promise<Error | undefined> {
    return new Promise((resolve) => {
      const worker = new Worker(WORKER_URL, { workerData: { ...this.#o.data, held: !this.#released } });
      this.#worker = worker;
      const workerThreadId = worker.threadId;
      let ended: Error | undefined;
      let saidEnded = false;
      let exitTimer: NodeJS.Timeout | undefined;
      worker.on('message', (message: FromWorker) => {
        switch (message.type) {
          case 'ready':
            this.#markReady();
            break;
          case 'state':
            this.#tasks = message.tasks as TaskId[];
            this.#o.state.transition(message.state);
            break;
          case 'metrics':
            this.#tasks = message.tasks as TaskId[];
            this.#metrics = message.metrics;
            break;
          case 'log':
            this.#o.logger[message.level](message.obj, message.msg);
            break;
          case 'restored':
            this.#o.onRestore(message.progress);
            break;
          case 'ended':
            saidEnded = true;
            if (message.error) ended = reviveThreadError(message.error);
            exitTimer = setTimeout(() => void worker.terminate(), EXIT_WAIT_MS);
            break;
        }
      });
      worker.on('error', (error) => {
        ended ??= reviveThreadError(threadError(error));
      });
      worker.on('exit', (code) => {
        clearTimeout(exitTimer);
        this.#worker = undefined;
        this.#o.onExit(workerThreadId);
        this.#markReady();
        if (!saidEnded && ended === undefined)
          ended = new Error(`stream thread ${this.#o.data.threadNumber} exited with code ${code}`);
        // A stop asked while the worker was starting reaches it as soon as it listens.
        resolve(ended);
      });
      if (this.#stopping) worker.postMessage({ type: 'stop' } satisfies ToWorker);
    });
  }
}
