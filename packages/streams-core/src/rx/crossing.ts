/**
 * From a topology into RxJS: a KStream's records as an Observable whose subscriber says when
 * each is done. The topology owns the commit: a record's offset is committed (under
 * exactly_once_v2, its transaction committed) only after the subscriber acknowledged it and every
 * record before it in its partition, so work done in the subscriber is at least once, as with
 * `foreachAsync`, on which it is built. The other way, an Observable into a topology, is a
 * `KafkaSender` sending to the topic the topology's source reads: the sender owns that delivery.
 */
import { Observable, type Subscriber } from 'rxjs';
import type { KStream } from '../kstream/kstream.ts';
import type { AsyncOptions } from '../kstream/options.ts';
import type { Headers } from '../processor/api/headers.ts';

export interface StreamElement<K, V> {
  readonly key: K;
  readonly value: V;
  readonly headers: Headers;
  /**
   * Aborted when the record's step timed out (`timeoutMs`) or its task closed: stop working on
   * it. The record then goes to the processing exception handler, or to the task's next owner.
   */
  readonly signal: AbortSignal;
  /** Done with the record: the topology may commit past it. */
  acknowledge(): void;
  /** The record failed: the processing exception handler decides (a dead letter by default). */
  fail(error: unknown): void;
}

class ElementQueue<K, V> {
  #subscriber: Subscriber<StreamElement<K, V>> | undefined;
  readonly #waiting: StreamElement<K, V>[] = [];

  offer(element: StreamElement<K, V>): void {
    if (this.#subscriber) this.#subscriber.next(element);
    else this.#waiting.push(element);
  }

  attach(subscriber: Subscriber<StreamElement<K, V>>): () => void {
    if (this.#subscriber) {
      subscriber.error(
        new Error(
          'streamToObservable has one subscriber at a time (each record is acknowledged once): share() the Observable to fan it out',
        ),
      );
      return () => {};
    }
    this.#subscriber = subscriber;
    while (this.#waiting.length > 0 && this.#subscriber === subscriber) {
      const element = this.#waiting.shift()!;
      if (!element.signal.aborted) subscriber.next(element);
    }
    return () => {
      if (this.#subscriber === subscriber) this.#subscriber = undefined;
    };
  }
}

/**
 * The records of `stream` as an Observable with one subscriber at a time. Records that arrive
 * while nobody subscribes wait (their partition's commit with them) for the next subscriber.
 * `options` are `foreachAsync`'s: `concurrency` records in flight per task (one per key), and
 * `timeoutMs`, the longest the subscriber may take over one record (default 5000 ms).
 */
export function streamToObservable<K, V>(
  stream: KStream<K, V>,
  options: AsyncOptions = {},
): Observable<StreamElement<K, V>> {
  const queue = new ElementQueue<K, V>();
  stream.foreachAsync(
    (key, value, headers, signal) =>
      new Promise<void>((resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        queue.offer({ key, value, headers, signal, acknowledge: () => resolve(), fail: reject });
      }),
    options,
  );
  return new Observable<StreamElement<K, V>>((subscriber) => queue.attach(subscriber));
}
