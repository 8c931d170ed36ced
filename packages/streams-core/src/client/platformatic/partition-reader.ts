/**
 * PartitionReaderPort: group-less reads of chosen partitions from chosen offsets, for changelog
 * restoration and standby replicas. The client's stream API only reads what a group assigns; its
 * low-level `fetch` (driven by the shared Fetcher) reads any partition from any offset without
 * joining a group.
 */
import { Consumer, FetchIsolationLevels } from '@platformatic/kafka';
import type {
  PartitionBatch,
  PartitionRange,
  PartitionReaderOptions,
  PartitionReaderPort,
  TopicPartition,
} from '../port.ts';
import { topicPartitionKey } from '../port.ts';
import { baseOptions, type ConnectionConfig, securityContext } from './connection.ts';
import { toPortError } from './errors.ts';
import { Fetcher } from './fetcher.ts';

export class PlatformaticPartitionReader implements PartitionReaderPort {
  readonly #config: ConnectionConfig;
  readonly #client: Consumer;
  readonly #fetcher: Fetcher;
  readonly #maxWaitMs: number;
  #closed = false;

  constructor(config: ConnectionConfig, options: PartitionReaderOptions) {
    this.#config = config;
    this.#maxWaitMs = options.maxWaitMs ?? 500;
    this.#client = new Consumer({
      ...baseOptions(config, options.clientId),
      // Required by the client, never joined: fetch needs no membership.
      groupId: `${options.clientId}-reader`,
      autocommit: false,
      isolationLevel:
        options.isolationLevel === 'read_committed'
          ? FetchIsolationLevels.READ_COMMITTED
          : FetchIsolationLevels.READ_UNCOMMITTED,
      timeout: this.#maxWaitMs + 10_000,
    });
    this.#fetcher = new Fetcher(this.#client, {
      isolationLevel: options.isolationLevel,
      maxWaitMs: this.#maxWaitMs,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1_048_576,
    });
  }

  assign(ranges: PartitionRange[]): void {
    for (const r of ranges) {
      this.#fetcher.set({
        topic: r.topic,
        partition: r.partition,
        offset: r.from,
        ...(r.until !== undefined ? { until: r.until } : {}),
      });
    }
  }

  unassign(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.#fetcher.remove(tp);
  }

  async poll(): Promise<PartitionBatch[]> {
    if (this.#fetcher.active().length === 0) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(this.#maxWaitMs, 50)));
      return [];
    }
    try {
      return await this.#fetcher.fetch();
    } catch (error) {
      if (this.#closed) return [];
      throw toPortError(error, {
        bootstrapServers: this.#config.bootstrapServers,
        ...securityContext(this.#config),
        topics: [...new Set([...this.#fetcher.positions.values()].map((p) => p.topic))],
      });
    }
  }

  positions(): Map<string, bigint> {
    return new Map([...this.#fetcher.positions].map(([key, p]) => [key, p.offset]));
  }

  pending(): TopicPartition[] {
    const result: TopicPartition[] = [];
    for (const p of this.#fetcher.positions.values()) {
      if (p.until !== undefined && p.offset < p.until)
        result.push({ topic: p.topic, partition: p.partition });
    }
    return result.sort((a, b) => topicPartitionKey(a).localeCompare(topicPartitionKey(b)));
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#client.close();
  }
}
