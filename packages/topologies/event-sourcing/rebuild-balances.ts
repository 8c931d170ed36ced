/**
 * Replay: the balances of every account rebuilt from the events topic alone, or from the
 * snapshots topic and the events no snapshot holds. No consumer group, no state: a partition
 * reader reads each partition from its start offset up to the last stable offset at the time of
 * the call (read_committed, so events of aborted transactions are never folded in), through the
 * same `applyInOrder` the live view uses.
 */
import {
  createPlatformaticClientFactory,
  type KafkaClientFactory,
  type SecuritySettings,
  type TopicPartition,
  topicPartitionKey,
} from '@kafka-pattern/streams-core/client';
import { type AccountState, EventGapError } from './ledger.ts';
import { BalanceReplay } from './replay.ts';

/** `tls` and `sasl`: how to reach a secured cluster (as the application's client.tls and client.sasl). */
export interface RebuildOptions extends SecuritySettings {
  /** The broker; or give `clients` to reuse a client factory. */
  bootstrapServers?: string[];
  clients?: KafkaClientFactory;
  topics: { readonly events: string; readonly snapshots: string };
  /** 'events': every event from the first; 'snapshots': the latest snapshots, then the events after them. */
  from: 'events' | 'snapshots';
}

export interface RebuiltBalances {
  balances: Map<string, AccountState>;
  /** Events read from the events topic, those a snapshot already held included. */
  eventsRead: number;
  /** Events folded into a balance. */
  eventsApplied: number;
  snapshotsRead: number;
  /** Per events partition: where reading started and the last stable offset it stopped at. */
  partitions: Array<{ partition: number; from: bigint; until: bigint }>;
  durationMs: number;
}

export async function rebuildBalances(options: RebuildOptions): Promise<RebuiltBalances> {
  const started = performance.now();
  const clients =
    options.clients ??
    createPlatformaticClientFactory({
      bootstrapServers: requireServers(options.bootstrapServers),
      clientId: 'ledger-rebuild',
      tls: options.tls,
      sasl: options.sasl,
    });
  const { events, snapshots } = options.topics;
  const admin = clients.admin();
  let eventTps: TopicPartition[];
  let eventEnds: Map<string, bigint>;
  let eventStarts: Map<string, bigint>;
  let snapshotEnds = new Map<string, bigint>();
  try {
    const described = await admin.describeTopics([events, snapshots]);
    const count = described.get(events)?.partitions;
    if (count === undefined) throw new Error(`rebuildBalances: the events topic "${events}" does not exist`);
    eventTps = Array.from({ length: count }, (_, partition) => ({ topic: events, partition }));
    // Events end first: a snapshot taken after that may be newer, never older, than the events read.
    eventEnds = await admin.listOffsets(eventTps, 'latest', 'read_committed');
    eventStarts = await admin.listOffsets(eventTps, 'earliest');
    if (options.from === 'snapshots') {
      const snapshotCount = described.get(snapshots)?.partitions;
      if (snapshotCount !== count)
        throw new Error(
          `rebuildBalances: the snapshots topic "${snapshots}" has ${snapshotCount ?? 'no'} partitions, the events topic ${count}: snapshots of events partition N are in snapshots partition N`,
        );
      snapshotEnds = await admin.listOffsets(
        eventTps.map((tp) => ({ topic: snapshots, partition: tp.partition })),
        'latest',
        'read_committed',
      );
    }
  } finally {
    await admin.close();
  }

  const replay = new BalanceReplay();
  if (options.from === 'snapshots') {
    await readRanges(clients, snapshots, snapshotEnds, new Map(), (partition, value) =>
      replay.snapshot(partition, JSON.parse(value)),
    );
  }
  for (const tp of eventTps) {
    const earliest = eventStarts.get(topicPartitionKey(tp)) ?? 0n;
    const start = replay.startOf(tp.partition);
    if (earliest > start)
      throw new EventGapError(
        `rebuildBalances: events ${start}..${earliest - 1n} of ${events}-${tp.partition} are no longer in the topic (retention deleted them): balances cannot be rebuilt from what is left. Keep the events topic with retention.ms=-1`,
      );
  }
  const eventFrom = new Map(
    eventTps.map((tp) => [topicPartitionKey(tp), replay.startOf(tp.partition)] as const),
  );
  await readRanges(clients, events, eventEnds, eventFrom, (_partition, value) =>
    replay.event(JSON.parse(value)),
  );

  return {
    balances: replay.balances,
    eventsRead: replay.eventsRead,
    eventsApplied: replay.eventsApplied,
    snapshotsRead: replay.snapshotsRead,
    partitions: eventTps.map((tp) => ({
      partition: tp.partition,
      from: replay.startOf(tp.partition),
      until: eventEnds.get(topicPartitionKey(tp)) ?? 0n,
    })),
    durationMs: performance.now() - started,
  };
}

/** Reads every partition of `topic` from its `from` (default 0) up to its end, value by value, in offset order. */
async function readRanges(
  clients: KafkaClientFactory,
  topic: string,
  ends: Map<string, bigint>,
  from: Map<string, bigint>,
  onValue: (partition: number, value: string) => void,
): Promise<void> {
  const ranges = [...ends]
    .map(([key, until]) => {
      const partition = Number(key.slice(key.lastIndexOf(':') + 1));
      return { topic, partition, from: from.get(key) ?? 0n, until };
    })
    .filter((r) => r.from < r.until);
  if (ranges.length === 0) return;
  const reader = clients.partitionReader({
    clientId: 'ledger-rebuild-reader',
    isolationLevel: 'read_committed',
    maxWaitMs: 100,
    maxBytesPerPartition: 4 * 1024 * 1024,
  });
  try {
    reader.assign(ranges);
    while (reader.pending().length > 0) {
      for (const batch of await reader.poll())
        for (const r of batch.records)
          if (r.value !== null) onValue(batch.partition, r.value.toString('utf8'));
    }
  } finally {
    await reader.close();
  }
}

function requireServers(servers: string[] | undefined): string[] {
  if (!servers || servers.length === 0)
    throw new Error('rebuildBalances: give bootstrapServers (e.g. ["127.0.0.1:9092"]) or clients');
  return servers;
}
