/**
 * The fetch loop behind both the group consumer and the partition reader.
 *
 * The client's MessagesStream owns positions, cannot seek or pause a partition, keeps stale
 * positions across rebalances for partitions without a commit, and buffers records of revoked
 * partitions. This loop owns the positions instead and calls the client's low-level `fetch`
 * (one request per leader, on the fetcher's own connections so a long poll never delays the
 * group's heartbeats). A response is applied only if the partition's position did not move while
 * it was in flight, so a `seek` always wins.
 *
 * read_committed: the records of aborted transactions are dropped here rather than by the client,
 * whose filter misses some of them and, for a producer with two abort markers in one answer,
 * drops the committed transactions between them too (see aborted-transactions.ts). The client
 * filters by the list of aborted transactions in each partition's answer, so the fetcher takes
 * that list out of the answer before the client sees it (`hideAbortedTransactions`) and filters
 * with it itself.
 */
import { type Consumer, FetchIsolationLevels, kGetApi } from '@platformatic/kafka';
import { Headers } from '../../processor/api/headers.ts';
import { OffsetOutOfRangeError } from '../errors.ts';
import {
  type ConsumedRecord,
  type IsolationLevel,
  type PartitionBatch,
  type TopicPartition,
  topicPartitionKey,
} from '../port.ts';
import { abortedBatches, isControlBatch } from './aborted-transactions.ts';
import { errorFacts } from './errors.ts';

type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;
type FetchPartitionResponse = FetchResponse['responses'][number]['partitions'][number];

/** Where a partition's answer keeps the aborted transactions the client is not shown. */
const ABORTED_TRANSACTIONS = Symbol('kafka-pattern.abortedTransactions');

type StashedPartitionResponse = FetchPartitionResponse & {
  [ABORTED_TRANSACTIONS]?: FetchPartitionResponse['abortedTransactions'];
};

type GetApi = (name: string, callback: (error: Error | null, api?: unknown) => void) => void;

type AnyFunction = (...args: unknown[]) => unknown;

const hidingClients = new WeakSet<Consumer>();
const hidingApis = new WeakSet<object>();
/** One wrapper per Fetch API version the client looks up, made on its first lookup. */
const wrappers = new WeakMap<AnyFunction, AnyFunction>();

/**
 * Makes `client` hand its read_committed fetch answers over unfiltered: the Fetch API it obtains
 * is wrapped so that each partition's list of aborted transactions is moved out of the answer
 * (to ABORTED_TRANSACTIONS) before the client's own filter reads it, which then has nothing to
 * drop. Only the answer's bookkeeping changes; request, retries and fetch sessions stay the
 * client's.
 */
export function hideAbortedTransactions(client: Consumer): void {
  if (hidingClients.has(client)) return;
  const target = client as unknown as Record<typeof kGetApi, GetApi | undefined>;
  const getApi = target[kGetApi];
  if (typeof getApi !== 'function')
    throw new TypeError('the Kafka client has no API lookup to fetch read_committed answers through');
  target[kGetApi] = (name, callback) =>
    getApi.call(client, name, (error, api) => {
      if (error || name !== 'Fetch' || typeof api !== 'function' || hidingApis.has(api)) {
        callback(error, api);
        return;
      }
      callback(null, hidingFetchApi(api as AnyFunction));
    });
  hidingClients.add(client);
}

function hidingFetchApi(api: AnyFunction): AnyFunction {
  const known = wrappers.get(api);
  if (known) return known;
  const wrapped = new Proxy(api, {
    apply(fn, thisArg, args: unknown[]) {
      const callback = args.at(-1);
      if (typeof callback === 'function') {
        args[args.length - 1] = (error: unknown, result?: FetchResponse) => {
          stashAbortedTransactions(result ?? (error as { response?: FetchResponse } | null)?.response);
          return callback(error, result);
        };
      }
      return Reflect.apply(fn, thisArg, args);
    },
  });
  hidingApis.add(wrapped);
  wrappers.set(api, wrapped);
  return wrapped;
}

function stashAbortedTransactions(response: FetchResponse | undefined): void {
  for (const topic of response?.responses ?? []) {
    for (const partition of topic.partitions as StashedPartitionResponse[]) {
      if (ABORTED_TRANSACTIONS in partition) continue;
      partition[ABORTED_TRANSACTIONS] = partition.abortedTransactions;
      partition.abortedTransactions = [];
    }
  }
}

function abortedTransactionsOf(partition: StashedPartitionResponse) {
  const list =
    ABORTED_TRANSACTIONS in partition ? partition[ABORTED_TRANSACTIONS] : partition.abortedTransactions;
  return list ?? [];
}

export interface FetchPosition extends TopicPartition {
  offset: bigint;
  /** Exclusive end; the partition is finished once `offset >= until`. */
  until?: bigint;
}

export interface FetcherOptions {
  isolationLevel: IsolationLevel;
  maxWaitMs: number;
  maxBytesPerPartition: number;
}

export class Fetcher {
  readonly #client: Consumer;
  readonly #options: FetcherOptions;
  readonly positions = new Map<string, FetchPosition>();
  readonly paused = new Set<string>();

  constructor(client: Consumer, options: FetcherOptions) {
    this.#client = client;
    this.#options = options;
    if (options.isolationLevel === 'read_committed') hideAbortedTransactions(client);
  }

  set(position: FetchPosition): void {
    this.positions.set(topicPartitionKey(position), { ...position });
  }

  remove(tp: TopicPartition): void {
    this.positions.delete(topicPartitionKey(tp));
    this.paused.delete(topicPartitionKey(tp));
  }

  clear(): void {
    this.positions.clear();
    this.paused.clear();
  }

  /** Partitions that still have something to read. */
  active(): FetchPosition[] {
    const result: FetchPosition[] = [];
    for (const [key, pos] of this.positions) {
      if (this.paused.has(key)) continue;
      if (pos.until !== undefined && pos.offset >= pos.until) continue;
      result.push(pos);
    }
    return result;
  }

  /**
   * One fetch round over the active partitions. Resolves with one batch per partition that had
   * records, each in offset order, or none after `maxWaitMs`. Throws OffsetOutOfRangeError naming
   * the partitions whose position is outside the log.
   */
  async fetch(): Promise<PartitionBatch[]> {
    const targets = this.active();
    if (targets.length === 0) return [];
    const topics = [...new Set(targets.map((t) => t.topic))];
    this.#client.topics.trackAll(...topics.filter((t) => !this.#client.topics.has(t)));
    const metadata = await this.#client.metadata({ topics });
    const byNode = new Map<number, Map<string, FetchPosition[]>>();
    const names = new Map<string, string>();
    for (const pos of targets) {
      const topic = metadata.topics.get(pos.topic);
      const leader = topic?.partitions[pos.partition]?.leader;
      if (topic === undefined || leader === undefined) continue;
      names.set(topic.id, pos.topic);
      let node = byNode.get(leader);
      if (!node) {
        node = new Map();
        byNode.set(leader, node);
      }
      const list = node.get(topic.id) ?? [];
      list.push({ ...pos });
      node.set(topic.id, list);
    }
    const isolationLevel =
      this.#options.isolationLevel === 'read_committed'
        ? FetchIsolationLevels.READ_COMMITTED
        : FetchIsolationLevels.READ_UNCOMMITTED;
    const responses = await Promise.all(
      [...byNode].map(async ([node, byTopic]) => {
        const request = [...byTopic].map(([topicId, positions]) => ({
          topicId,
          partitions: positions.map((p) => ({
            partition: p.partition,
            fetchOffset: p.offset,
            partitionMaxBytes: this.#options.maxBytesPerPartition,
            currentLeaderEpoch: -1,
            lastFetchedEpoch: -1,
          })),
        }));
        try {
          return await this.#client.fetch({
            node,
            topics: request,
            maxWaitTime: this.#options.maxWaitMs,
            minBytes: 1,
            isolationLevel,
          });
        } catch (error) {
          throw this.#outOfRange(error, names) ?? error;
        }
      }),
    );
    const requested = new Map(targets.map((t) => [topicPartitionKey(t), t.offset]));
    const batches: PartitionBatch[] = [];
    for (const response of responses) this.#apply(response, names, requested, batches);
    return batches;
  }

  #apply(
    response: FetchResponse,
    names: Map<string, string>,
    requested: Map<string, bigint>,
    out: PartitionBatch[],
  ): void {
    for (const topicResponse of response.responses) {
      const topic = names.get(topicResponse.topicId);
      if (topic === undefined) continue;
      for (const partitionResponse of topicResponse.partitions) {
        const partition = partitionResponse.partitionIndex;
        const key = `${topic}:${partition}`;
        const position = this.positions.get(key);
        const from = requested.get(key);
        // Sought, unassigned or paused while the request was in flight: this answer is stale.
        if (position === undefined || from === undefined || position.offset !== from || this.paused.has(key))
          continue;
        const batches = partitionResponse.records;
        if (!batches || batches.length === 0) continue;
        const aborted =
          this.#options.isolationLevel === 'read_committed'
            ? abortedBatches(batches, abortedTransactionsOf(partitionResponse))
            : undefined;
        let next = position.offset;
        const records: ConsumedRecord[] = [];
        for (const batch of batches) {
          const lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta);
          if (position.until !== undefined && batch.firstOffset >= position.until) break;
          if (!isControlBatch(batch) && !aborted?.has(batch)) {
            for (const record of batch.records) {
              const offset = batch.firstOffset + BigInt(record.offsetDelta);
              if (offset < position.offset) continue;
              if (position.until !== undefined && offset >= position.until) break;
              records.push({
                topic,
                partition,
                offset,
                timestamp: Number(batch.firstTimestamp + record.timestampDelta),
                key: record.key ?? null,
                value: record.value ?? null,
                headers: toHeaders(record.headers),
              });
            }
          }
          next = lastOffset + 1n;
        }
        if (position.until !== undefined && next > position.until) next = position.until;
        if (next > position.offset) position.offset = next;
        if (records.length > 0) out.push({ topic, partition, records });
      }
    }
  }

  #outOfRange(error: unknown, names: Map<string, string>): OffsetOutOfRangeError | undefined {
    if (!errorFacts(error).apiIds.has('OFFSET_OUT_OF_RANGE')) return undefined;
    const response = findResponse(error);
    const partitions: TopicPartition[] = [];
    for (const t of response?.responses ?? []) {
      const topic = names.get(t.topicId);
      if (topic === undefined) continue;
      for (const p of t.partitions)
        if (p.errorCode === 1) partitions.push({ topic, partition: p.partitionIndex });
    }
    return new OffsetOutOfRangeError(partitions, { cause: error });
  }
}

function findResponse(error: unknown): FetchResponse | undefined {
  const seen = new Set<unknown>();
  const visit = (e: unknown): FetchResponse | undefined => {
    if (e === null || typeof e !== 'object' || seen.has(e)) return undefined;
    seen.add(e);
    const err = e as { response?: FetchResponse; errors?: unknown[]; cause?: unknown };
    if (err.response?.responses) return err.response;
    for (const inner of err.errors ?? []) {
      const found = visit(inner);
      if (found) return found;
    }
    return visit(err.cause);
  };
  return visit(error);
}

const EMPTY = Buffer.alloc(0);

function toHeaders(headers: [Buffer | null, Buffer | null][]): Headers {
  if (headers.length === 0) return Headers.wrap([]);
  const result: Array<readonly [string, Buffer]> = [];
  for (const [k, v] of headers) result.push([k === null ? '' : k.toString('utf8'), v ?? EMPTY]);
  return Headers.wrap(result);
}
