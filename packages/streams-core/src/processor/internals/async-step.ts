/**
 * One asynchronous step of a task (`mapValuesAsync`, `foreachAsync`): the calls it has in flight,
 * the records waiting for a slot or for an earlier record of their key, and the results waiting
 * to go downstream.
 *
 * Calls of one key run one at a time, in the order the records arrived; calls of different keys
 * overlap, up to `concurrency`. Results go downstream in arrival order, on the stream thread, when
 * the thread releases them (`release()`), never from a promise callback: the rest of the
 * sub-topology (stores, sinks, windows) therefore sees records in the same order as without the
 * step, and never while the thread is in the middle of a commit. Each waiting record keeps the
 * source offset it came from, so the task can tell which offsets are not done yet.
 */
import type { ConsumedRecord } from '../../client/port.ts';
import type { StreamRecord } from '../api/record.ts';
import type { TaskState } from './task-state.ts';

export interface AsyncStepOptions {
  /** Most calls in flight at once in this task (different keys). */
  readonly concurrency: number;
  /** A call that has not settled by then fails with AsyncTimeoutError. */
  readonly timeoutMs: number;
}

/** A call of an asynchronous step did not settle within its `timeoutMs`. */
export class AsyncTimeoutError extends Error {
  override readonly name = 'AsyncTimeoutError';
}

/** Where a released record goes: downstream with its result, or to the failure handling. */
export interface AsyncStepTarget<R> {
  emit(record: StreamRecord<unknown, unknown>, result: R): void;
  fail(raw: ConsumedRecord | undefined, error: unknown): void;
}

const QUEUED = 0;
const RUNNING = 1;
const DONE = 2;
const FAILED = 3;

interface Entry<R> {
  readonly record: StreamRecord<unknown, unknown>;
  /** Source record and position it came from; undefined for records made by a punctuator. */
  readonly raw: ConsumedRecord | undefined;
  readonly meta: TaskState['current'];
  readonly keyId: unknown;
  status: number;
  result: R | undefined;
  error: unknown;
}

export class AsyncStep<R> {
  readonly name: string;
  readonly #options: AsyncStepOptions;
  readonly #call: (record: StreamRecord<unknown, unknown>, signal: AbortSignal) => Promise<R>;
  readonly #target: AsyncStepTarget<R>;
  readonly #state: TaskState;
  readonly #notify: () => void;
  /** Every record not released yet, in arrival order. */
  #fifo: Entry<R>[] = [];
  #head = 0;
  /** Records waiting for an earlier record of their key, by key. */
  readonly #byKey = new Map<unknown, Entry<R>[]>();
  /** Records whose key is free, waiting for a slot. */
  #ready: Entry<R>[] = [];
  #readyHead = 0;
  #running = 0;
  /** Calls in flight, each with the controller that aborts it. */
  readonly #inFlight = new Map<Promise<void>, AbortController>();
  #closed = false;

  constructor(
    name: string,
    options: AsyncStepOptions,
    call: (record: StreamRecord<unknown, unknown>, signal: AbortSignal) => Promise<R>,
    target: AsyncStepTarget<R>,
    state: TaskState,
    notify: () => void,
  ) {
    this.name = name;
    this.#options = options;
    this.#call = call;
    this.#target = target;
    this.#state = state;
    this.#notify = notify;
  }

  /** Records taken in and not released yet. */
  get pending(): number {
    return this.#fifo.length - this.#head;
  }

  /** Takes a record in (inside `process`, so the task's current record is its source). */
  accept(record: StreamRecord<unknown, unknown>): void {
    if (this.#closed) return;
    const state = this.#state;
    const entry: Entry<R> = {
      record,
      raw: state.raw,
      meta: state.current,
      keyId: keyIdentity(record.key),
      status: QUEUED,
      result: undefined,
      error: undefined,
    };
    this.#fifo.push(entry);
    const waiting = this.#byKey.get(entry.keyId);
    if (waiting) {
      waiting.push(entry);
      return;
    }
    this.#byKey.set(entry.keyId, []);
    this.#ready.push(entry);
    this.#startReady();
  }

  /**
   * Sends the finished records at the head downstream, in arrival order, each with its source
   * record as the task's current one. Returns how many went.
   */
  release(): number {
    const fifo = this.#fifo;
    const state = this.#state;
    let released = 0;
    while (this.#head < fifo.length) {
      const e = fifo[this.#head]!;
      if (e.status !== DONE && e.status !== FAILED) break;
      this.#head++;
      released++;
      const before = state.current;
      const beforeRaw = state.raw;
      state.current = e.meta;
      state.raw = e.raw;
      state.currentNode = this.name;
      try {
        if (e.status === DONE) this.#target.emit(e.record, e.result as R);
        else this.#target.fail(e.raw, e.error);
      } finally {
        state.current = before;
        state.raw = beforeRaw;
      }
    }
    if (this.#head > 1024 && this.#head * 2 > fifo.length) {
      this.#fifo = fifo.slice(this.#head);
      this.#head = 0;
    }
    return released;
  }

  /** The lowest source offset not released yet, per `topic:partition`, folded into `into`. */
  lowestPendingOffsets(into: Map<string, bigint>): void {
    const fifo = this.#fifo;
    for (let i = this.#head; i < fifo.length; i++) {
      const meta = fifo[i]!.meta;
      if (!meta) continue;
      const key = `${meta.topic}:${meta.partition}`;
      const known = into.get(key);
      if (known === undefined || meta.offset < known) into.set(key, meta.offset);
    }
  }

  /**
   * Stops taking records and starting calls; waits for the calls in flight up to `timeoutMs`,
   * then forgets every record (none is released: the next owner of the task redoes them).
   */
  async abandon(timeoutMs: number): Promise<void> {
    this.#closed = true;
    this.#fifo = [];
    this.#head = 0;
    this.#ready = [];
    this.#readyHead = 0;
    this.#byKey.clear();
    if (this.#inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#inFlight.keys()]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    for (const controller of this.#inFlight.values())
      controller.abort(new AsyncTimeoutError(`${this.name} was abandoned: its task closed`));
  }

  #startReady(): void {
    const concurrency = this.#options.concurrency;
    while (this.#running < concurrency && this.#readyHead < this.#ready.length) {
      const e = this.#ready[this.#readyHead++]!;
      this.#start(e);
    }
    if (this.#readyHead > 256 && this.#readyHead * 2 > this.#ready.length) {
      this.#ready = this.#ready.slice(this.#readyHead);
      this.#readyHead = 0;
    }
  }

  #start(e: Entry<R>): void {
    e.status = RUNNING;
    this.#running++;
    const controller = new AbortController();
    let answer: Promise<R>;
    try {
      answer = this.#call(e.record, controller.signal);
    } catch (error) {
      answer = Promise.reject(error);
    }
    const timeoutMs = this.#options.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new AsyncTimeoutError(`${this.name} did not settle within ${timeoutMs} ms`);
        // The call learns it is no longer waited for, so it can stop before it has an effect.
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    });
    const settled = Promise.race([answer, timeout]).then(
      (result) => {
        e.status = DONE;
        e.result = result;
      },
      (error: unknown) => {
        e.status = FAILED;
        e.error = error;
      },
    );
    const tracked = settled.then(() => {
      clearTimeout(timer);
      this.#inFlight.delete(tracked);
      this.#running--;
      if (this.#closed) return;
      this.#next(e);
      this.#notify();
    });
    this.#inFlight.set(tracked, controller);
  }

  /** The key of `e` is free for its next record; slots go to the records that are ready. */
  #next(e: Entry<R>): void {
    const waiting = this.#byKey.get(e.keyId);
    if (waiting && waiting.length > 0) this.#ready.push(waiting.shift()!);
    else this.#byKey.delete(e.keyId);
    this.#startReady();
  }
}

/** What makes two keys the same key for ordering: the value itself, or its bytes or JSON. */
export function keyIdentity(key: unknown): unknown {
  if (key === null || key === undefined) return key;
  switch (typeof key) {
    case 'string':
    case 'number':
    case 'bigint':
    case 'boolean':
      return key;
  }
  if (Buffer.isBuffer(key)) return `b:${key.toString('latin1')}`;
  return `j:${JSON.stringify(key, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`;
}
