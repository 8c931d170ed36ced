/**
 * The re-drive tool: once the bug that dead-lettered records is fixed, send them back to the
 * topic they came from (all of them, or those a filter picks), as their producer wrote them —
 * key, value, headers without the dead-letter ones, the original timestamp and, where the topic
 * still has it, the original partition.
 *
 * It reads the dead-letter topic as a consumer group and re-drives each poll's records in one
 * Kafka transaction together with the group's offsets on the dead-letter topic. A crash (or a
 * kill) in the middle of a run therefore leaves every dead letter either re-driven once with
 * its offset committed, or not re-driven at all (the open transaction is aborted when the next
 * run registers the same transactional id), and the next run continues after the last commit.
 * Readers of the original topic must read `read_committed`, as exactly-once applications do.
 *
 * A run re-drives what the dead-letter topic held when it started and then stops; dead letters
 * written meanwhile (a re-driven record that fails again, say) wait for the next run.
 *
 *   node packages/topologies/dead-letter/redrive.ts --dlt orders-dlt [--exception InvalidOrderError]
 */
import { parseArgs } from 'node:util';
import {
  type ConsumerPort,
  createPlatformaticClientFactory,
  type KafkaClientFactory,
  type ProducedRecord,
  ProducerFencedError,
  type ProducerPort,
  RebalanceError,
  type SecuritySettings,
  type TopicPartition,
  type TopicPartitionOffset,
  type TransactionPort,
  topicPartitionKey,
} from '@kafka-pattern/streams-core/client';
import { localStack } from '../src/support/local-stack.ts';
import { type DeadLetter, readDeadLetter } from './dead-letters.ts';

export { type DeadLetter, isDeadLetterHeader, readDeadLetter, SpringDltKeyHeaders } from './dead-letters.ts';

/** Which dead letters to re-drive: all conditions given must hold; none given re-drives all. */
export interface RedriveFilter {
  /** Only dead letters that came from this topic. */
  originalTopic?: string;
  /** A substring of the exception's class name, or of its cause's. */
  exception?: string;
  /** A substring of the exception's message. */
  message?: string;
  /** Only dead letters with exactly this key (UTF-8). */
  key?: string;
  /** Any other condition on the dead letter. */
  where?: (deadLetter: DeadLetter) => boolean;
}

/** `tls` and `sasl`: how to reach a secured cluster (as the application's client.tls and client.sasl). */
export interface RedriveOptions extends SecuritySettings {
  /** The dead-letter topic to read. */
  dlt: string;
  /** Where Kafka is; or give `clients`. */
  bootstrapServers?: string | readonly string[];
  /** The Kafka client to use instead of @platformatic/kafka (and for tests). */
  clients?: KafkaClientFactory;
  filter?: RedriveFilter;
  /**
   * The consumer group whose offsets on the dead-letter topic record what was done; default
   * `<dlt>.redrive`. Its offsets move past every dead letter read, re-driven or skipped: a later
   * pass with another filter needs another group.
   */
  groupId?: string;
  /** Default the group id: one run at a time per group, and a new run fences an old one. */
  transactionalId?: string;
  /**
   * The timestamp of a re-driven record: its original one (default), as a replay of the record,
   * or the time of the re-drive, for topics whose retention or windows the original has outlived.
   */
  timestamp?: 'original' | 'now';
  /** Dead letters per transaction. Default 500. */
  batchSize?: number;
  /** How soon the group notices a crashed run, so the next one can take over. Default 10 s. */
  sessionTimeoutMs?: number;
  /** Default 30 s. */
  transactionTimeoutMs?: number;
  /** Reads and reports what would be re-driven, producing and committing nothing. */
  dryRun?: boolean;
  /** Stops after the transaction in progress. */
  signal?: AbortSignal;
  /** After each committed transaction (each batch, in a dry run), with the totals so far. */
  onProgress?: (report: RedriveReport) => void;
}

export interface Unroutable {
  readonly partition: number;
  readonly offset: bigint;
  readonly reason: string;
}

export interface RedriveReport {
  readonly dlt: string;
  readonly groupId: string;
  readonly dryRun: boolean;
  /** Dead letters read (each counted once its transaction committed). */
  read: number;
  /** Sent back to their original topic. */
  redriven: number;
  /** Left in the dead-letter topic by the filter. */
  skipped: number;
  /** Dead letters that could not be re-driven, and why (their offsets are committed: they are not retried). */
  readonly unroutable: Unroutable[];
  /** Re-driven per original topic. */
  readonly byTopic: Record<string, number>;
  /** False when the run was stopped before it reached the end of the dead-letter topic. */
  complete: boolean;
}

/** A re-drive that cannot go on; the message says what to do. Nothing after the last commit was re-driven. */
export class RedriveError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedriveError';
  }
}

export function matches(deadLetter: DeadLetter, filter: RedriveFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.originalTopic !== undefined && deadLetter.originalTopic !== filter.originalTopic) return false;
  if (filter.exception !== undefined) {
    const names = [deadLetter.exceptionClass, deadLetter.exceptionCauseClass];
    if (!names.some((n) => n?.includes(filter.exception!))) return false;
  }
  if (filter.message !== undefined && !deadLetter.exceptionMessage?.includes(filter.message)) return false;
  if (filter.key !== undefined && deadLetter.record.key?.toString('utf8') !== filter.key) return false;
  if (filter.where && !filter.where(deadLetter)) return false;
  return true;
}

/**
 * The record to send back, or why there is none. `partitions` is the original topic's partition
 * count: the original partition is kept where it exists (a custom partitioner may have chosen it),
 * else the key decides, as for any new record.
 */
export function redriveRecord(
  deadLetter: DeadLetter,
  partitions: number | undefined,
  timestamp: 'original' | 'now' = 'original',
): ProducedRecord | { unroutable: string } {
  const topic = deadLetter.originalTopic;
  const where = `${deadLetter.record.topic}-${deadLetter.record.partition}@${deadLetter.record.offset}`;
  if (topic === undefined || topic === '')
    return {
      unroutable: `dead letter ${where} has no kafka_dlt-original-topic or __streams.errors.topic header, so where it came from is unknown: produce it to its topic by hand`,
    };
  if (partitions === undefined)
    return {
      unroutable: `dead letter ${where} came from topic "${topic}", which does not exist (any more)`,
    };
  const p = deadLetter.originalPartition;
  return {
    topic,
    ...(p !== undefined && p >= 0 && p < partitions ? { partition: p } : {}),
    key: deadLetter.record.key,
    value: deadLetter.record.value,
    ...(timestamp === 'original' ? { timestamp: deadLetter.originalTimestamp } : {}),
    headers: deadLetter.originalHeaders,
  };
}

export async function redrive(options: RedriveOptions): Promise<RedriveReport> {
  const { dlt } = options;
  const groupId = options.groupId ?? `${dlt}.redrive`;
  const transactionalId = options.transactionalId ?? groupId;
  const dryRun = options.dryRun ?? false;
  const clients = options.clients ?? clientsFor(options.bootstrapServers, options);
  const report: RedriveReport = {
    dlt,
    groupId,
    dryRun,
    read: 0,
    redriven: 0,
    skipped: 0,
    unroutable: [],
    byTopic: {},
    complete: false,
  };
  const admin = clients.admin();
  let producer: ProducerPort | undefined;
  let consumer: ConsumerPort | undefined;
  try {
    const described = (await admin.describeTopics([dlt])).get(dlt);
    if (!described)
      throw new RedriveError(
        `Dead-letter topic "${dlt}" does not exist: check its name (the engine's default is <topic>-dlt, as Spring Kafka's @RetryableTopic)`,
      );
    const dltPartitions: TopicPartition[] = Array.from({ length: described.partitions }, (_, partition) => ({
      topic: dlt,
      partition,
    }));
    // What the topic holds now is this run's work; later dead letters are the next run's.
    const ends = await admin.listOffsets(dltPartitions, 'latest', 'read_committed');
    const partitionCounts = new Map<string, number | undefined>();
    const partitionsOf = async (topics: Iterable<string>) => {
      const unknown = [...new Set(topics)].filter((t) => !partitionCounts.has(t));
      if (unknown.length === 0) return;
      for (const [t, d] of await admin.describeTopics(unknown)) partitionCounts.set(t, d?.partitions);
    };

    let tx: TransactionPort | undefined;
    if (!dryRun) {
      producer = clients.producer({
        clientId: `${groupId}-producer`,
        idempotent: true,
        transactionalId,
        transactionTimeoutMs: options.transactionTimeoutMs ?? 30_000,
      });
      // Registering the transactional id first aborts what a crashed run left open, so the
      // committed offsets read next are not held back until that transaction times out.
      tx = await producer.beginTransaction();
    }
    const sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000;
    const active = clients.consumer({
      groupId,
      clientId: `${groupId}-consumer`,
      topics: [dlt],
      isolationLevel: 'read_committed',
      copartitionGroups: [],
      autoOffsetReset: 'earliest',
      sessionTimeoutMs,
      heartbeatIntervalMs: Math.max(100, Math.min(1_000, Math.floor(sessionTimeoutMs / 3))),
      maxPollRecords: options.batchSize ?? 500,
      maxWaitMs: 200,
    });
    consumer = active;
    const caughtUp = (): boolean => {
      if (active.groupMetadata().generationId < 0) return false;
      const positions = active.positions();
      return active.assignment().every((tp) => {
        const position = positions.get(topicPartitionKey(tp));
        return position !== undefined && position >= (ends.get(topicPartitionKey(tp)) ?? 0n);
      });
    };

    while (!options.signal?.aborted) {
      const batches = await active.poll();
      const records = batches.flatMap((b) => {
        const end = ends.get(topicPartitionKey(b)) ?? 0n;
        return b.records.filter((r) => r.offset < end);
      });
      if (records.length === 0) {
        if (caughtUp()) {
          report.complete = true;
          break;
        }
        continue;
      }
      const deadLetters = records.map(readDeadLetter);
      await partitionsOf(deadLetters.flatMap((d) => (d.originalTopic ? [d.originalTopic] : [])));
      const out: ProducedRecord[] = [];
      const batch = {
        read: 0,
        redriven: 0,
        skipped: 0,
        unroutable: [] as Unroutable[],
        byTopic: {} as Record<string, number>,
      };
      for (const d of deadLetters) {
        batch.read++;
        if (!matches(d, options.filter)) {
          batch.skipped++;
          continue;
        }
        const target = d.originalTopic ? partitionCounts.get(d.originalTopic) : undefined;
        const r = redriveRecord(d, target, options.timestamp);
        if ('unroutable' in r) {
          // A missing topic can be created again: stop rather than move past these dead letters for good.
          const missingTopic = !!d.originalTopic && target === undefined;
          if (missingTopic && !dryRun)
            throw new RedriveError(
              `${r.unroutable}: create it (or leave its dead letters out with --original-topic) and run again; this run stopped here, having re-driven ${report.redriven}, and the next one continues from this dead letter`,
            );
          batch.unroutable.push({
            partition: d.record.partition,
            offset: d.record.offset,
            reason: missingTopic ? `${r.unroutable} (a real run stops here until it exists)` : r.unroutable,
          });
          continue;
        }
        out.push(r);
        batch.redriven++;
        batch.byTopic[r.topic] = (batch.byTopic[r.topic] ?? 0) + 1;
      }
      if (!dryRun) {
        const offsets: TopicPartitionOffset[] = records.map((r) => ({
          topic: r.topic,
          partition: r.partition,
          offset: r.offset + 1n,
        }));
        try {
          tx ??= await producer!.beginTransaction();
          if (out.length > 0) await tx.send(out);
          await tx.sendOffsets(active, offsets);
          await tx.commit();
          tx = undefined;
        } catch (error) {
          const open = tx;
          tx = undefined;
          await open?.abort().catch(() => {});
          // Another member took partitions over: what this poll read is theirs (or ours again) to redo.
          if (error instanceof RebalanceError) continue;
          if (error instanceof ProducerFencedError)
            throw new RedriveError(
              `Another re-drive with transactional id "${transactionalId}" started and fenced this one; its last transaction was aborted and nothing of it re-driven. Let one run finish (or use another --group)`,
              { cause: error },
            );
          throw error;
        }
      }
      report.read += batch.read;
      report.redriven += batch.redriven;
      report.skipped += batch.skipped;
      report.unroutable.push(...batch.unroutable);
      for (const [t, n] of Object.entries(batch.byTopic)) report.byTopic[t] = (report.byTopic[t] ?? 0) + n;
      options.onProgress?.(snapshot(report));
    }
    return report;
  } finally {
    await Promise.allSettled([consumer?.close(), producer?.close()]);
    await admin.close().catch(() => {});
  }
}

function snapshot(report: RedriveReport): RedriveReport {
  return { ...report, unroutable: [...report.unroutable], byTopic: { ...report.byTopic } };
}

function clientsFor(
  bootstrapServers: RedriveOptions['bootstrapServers'],
  security: SecuritySettings,
): KafkaClientFactory {
  const servers =
    typeof bootstrapServers === 'string'
      ? bootstrapServers.split(',').map((s) => s.trim())
      : bootstrapServers
        ? [...bootstrapServers]
        : localStack().bootstrapServers;
  return createPlatformaticClientFactory({
    bootstrapServers: servers,
    clientId: 'kafka-pattern-redrive',
    tls: security.tls,
    sasl: security.sasl,
  });
}

/** The report as the command line prints it. */
export function formatReport(report: RedriveReport): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const verb = report.dryRun ? 'would re-drive' : 're-drove';
  const lines = [
    `${report.dryRun ? 'dry run: ' : ''}re-drive of ${report.dlt} (group ${report.groupId})${report.complete ? '' : ', stopped before the end (run it again to continue)'}:`,
    `  read ${n(report.read)}, ${verb} ${n(report.redriven)}, skipped ${n(report.skipped)} (filtered out), could not re-drive ${n(report.unroutable.length)}`,
  ];
  for (const [topic, count] of Object.entries(report.byTopic))
    lines.push(`  ${verb} to ${topic}: ${n(count)}`);
  for (const u of report.unroutable) lines.push(`  could not re-drive: ${u.reason}`);
  return lines.join('\n');
}

const USAGE = `usage: node packages/topologies/dead-letter/redrive.ts --dlt <topic> [options]

Sends the dead letters of <topic> back to their original topics, each once (Kafka transactions
commit the re-driven records together with the tool's offsets on the dead-letter topic).

  --dlt <topic>             the dead-letter topic (required)
  --bootstrap <host:port>   Kafka, comma-separated (default: KAFKA_BOOTSTRAP_SERVERS, .stack/env, 127.0.0.1:9092)
  --original-topic <topic>  only dead letters that came from this topic
  --exception <text>        only those whose exception class (or its cause's) contains <text>
  --message <text>          only those whose exception message contains <text>
  --key <key>               only those with this key (UTF-8)
  --group <id>              consumer group and transactional id (default <dlt>.redrive)
  --timestamp original|now  the re-driven record's timestamp: the original one (default), or now
                            (for a topic whose retention.ms or windows the original has outlived)
  --batch-size <n>          dead letters per transaction (default 500)
  --session-timeout-ms <n>  how soon a crashed run's membership expires (default 10000)
  --dry-run                 report what would be re-driven; produce and commit nothing

Exit status: 0 done, 3 done but some dead letters could not be re-driven, 1 failed, 2 usage,
130 interrupted (what was committed stays re-driven; run again to continue).`;

function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new UsageError(`--${name} must be a positive integer, got "${value}"`);
  return n;
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  let options: RedriveOptions;
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        dlt: { type: 'string' },
        bootstrap: { type: 'string' },
        'original-topic': { type: 'string' },
        exception: { type: 'string' },
        message: { type: 'string' },
        key: { type: 'string' },
        group: { type: 'string' },
        'batch-size': { type: 'string' },
        'session-timeout-ms': { type: 'string' },
        timestamp: { type: 'string' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (!values.dlt) throw new UsageError('--dlt <topic> is required: the dead-letter topic to re-drive');
    const filter: RedriveFilter = {
      ...(values['original-topic'] !== undefined ? { originalTopic: values['original-topic'] } : {}),
      ...(values.exception !== undefined ? { exception: values.exception } : {}),
      ...(values.message !== undefined ? { message: values.message } : {}),
      ...(values.key !== undefined ? { key: values.key } : {}),
    };
    const timestamp = values.timestamp;
    if (timestamp !== undefined && timestamp !== 'original' && timestamp !== 'now')
      throw new UsageError(`--timestamp must be "original" or "now", got "${timestamp}"`);
    const batchSize = positiveInteger('batch-size', values['batch-size']);
    const sessionTimeoutMs = positiveInteger('session-timeout-ms', values['session-timeout-ms']);
    options = {
      dlt: values.dlt,
      filter,
      dryRun: values['dry-run'] ?? false,
      ...(values.bootstrap !== undefined ? { bootstrapServers: values.bootstrap } : {}),
      ...(values.group !== undefined ? { groupId: values.group } : {}),
      ...(timestamp !== undefined ? { timestamp } : {}),
      ...(batchSize !== undefined ? { batchSize } : {}),
      ...(sessionTimeoutMs !== undefined ? { sessionTimeoutMs } : {}),
    };
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  const stop = new AbortController();
  const interrupt = () => stop.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  let lastProgress = Date.now();
  try {
    const report = await redrive({
      ...options,
      signal: stop.signal,
      onProgress: (r) => {
        if (Date.now() - lastProgress < 1_000) return;
        lastProgress = Date.now();
        console.error(
          `… read ${r.read.toLocaleString('en-US')}, re-drove ${r.redriven.toLocaleString('en-US')}`,
        );
      },
    });
    console.log(formatReport(report));
    if (!report.complete) return 130;
    return report.unroutable.length > 0 ? 3 : 0;
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
