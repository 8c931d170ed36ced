/**
 * One TxnOffsetCommit for every partition of a commit. The client commits a transaction's
 * offsets one partition per request, and each must be awaited (it deduplicates concurrent ones),
 * so a commit of N input partitions waited for N round trips to the group coordinator where the
 * Java producer sends one request. The producer's TxnOffsetCommit API is wrapped, as the
 * fetcher's Fetch API is: while `withAllOffsets` runs, the request the client builds for the
 * first partition carries all of them, and the broker's answer covers all of them (an error for
 * any partition fails the request). Retries build the same request again, so they carry them all
 * too. Only the request's partition list changes; connection, coordinator and retries stay the
 * client's.
 */
import { kGetApi, type Producer } from '@platformatic/kafka';

export interface OffsetCommitTopic {
  name: string;
  partitions: { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number }[];
}

type GetApi = (name: string, callback: (error: Error | null, api?: unknown) => void) => void;
type AnyFunction = (...args: unknown[]) => unknown;

/** TxnOffsetCommit's arguments: connection, transactional id, group, producer id and epoch, generation, member, instance, topics, callback. */
const TOPICS_ARGUMENT = 8;

const pending = new WeakMap<Producer, { topics: OffsetCommitTopic[] | undefined }>();

/** Lets `withAllOffsets` widen the producer's TxnOffsetCommit requests. */
export function commitOffsetsTogether(producer: Producer): void {
  if (pending.has(producer)) return;
  const target = producer as unknown as Record<typeof kGetApi, GetApi | undefined>;
  const getApi = target[kGetApi];
  if (typeof getApi !== 'function')
    throw new TypeError('the Kafka client has no API lookup to commit transaction offsets through');
  const state: { topics: OffsetCommitTopic[] | undefined } = { topics: undefined };
  pending.set(producer, state);
  target[kGetApi] = (name, callback) =>
    getApi.call(producer, name, (error, api) => {
      if (error || name !== 'TxnOffsetCommit' || typeof api !== 'function') {
        callback(error, api);
        return;
      }
      callback(
        null,
        new Proxy(api as AnyFunction, {
          apply(fn, thisArg, args: unknown[]) {
            if (state.topics !== undefined && args.length > TOPICS_ARGUMENT)
              args[TOPICS_ARGUMENT] = state.topics;
            return Reflect.apply(fn, thisArg, args);
          },
        }),
      );
    });
}

/** Runs `commitFirst` (the client's commit of one partition's offset) with every partition of `topics` in its request. */
export async function withAllOffsets<T>(
  producer: Producer,
  topics: OffsetCommitTopic[],
  commitFirst: () => Promise<T>,
): Promise<T> {
  const state = pending.get(producer);
  if (state === undefined) throw new TypeError('commitOffsetsTogether() was not called for this producer');
  state.topics = topics;
  try {
    return await commitFirst();
  } finally {
    state.topics = undefined;
  }
}
