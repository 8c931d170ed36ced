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
 * drops the committed transactions between them too (see aborted-transactions.ts). The client's
 * filter is turned off per fetch by `keepAbortedTransactions`, an option the repository's patch of
 * the client adds (patches/, applied by pnpm on install).
 */
import { type Consumer, FetchIsolationLevels } from '@platformatic/kafka';
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
            // The client's own read_committed filter drops committed batches of a producer that
            // has two abort markers in one answer; the batches are filtered here instead.
            keepAbortedTransactions: true,
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
            ? abortedBatches(batches, partitionResponse.abortedTransactions ?? [])
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
