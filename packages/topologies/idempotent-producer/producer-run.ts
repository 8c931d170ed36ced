/**
 * One producer's run through the fault proxy, and what the broker made of it: the one
 * experiment the demo prints and the tests judge.
 *
 * The records are the numbers 0 .. records-1 as UTF-8 values, sent to partition 0 of a new
 * single-partition topic in batches of `batchSize`, one batch at a time, each awaited before the
 * next: the way the framework's runtime produces (one send in flight). The proxy's fault plan is
 * set afresh at the start, so two producers run with the same plan meet the same dropped
 * acknowledgements at the same points. Afterwards the partition's segment files are read with
 * DumpLogSegments, and the topic is read back by a consumer, to compare the two accounts.
 */
import type { KafkaClientFactory, ProducedRecord, ProducerPort } from '@kafka-pattern/streams-core/client';
import { recordsOf } from '@kafka-pattern/streams-core/client';
import { examineLog, type LogFindings } from './evidence.ts';
import { type LogBatch, readPartitionLog } from './log-segments.ts';
import type { ProxiedBroker } from './proxied-broker.ts';
import type { FaultPlan } from './tcp-proxy.ts';

export interface FaultRunOptions {
  cluster: ProxiedBroker;
  /** A factory bootstrapping through the proxy (`cluster.bootstrapServers`). */
  clients: KafkaClientFactory;
  /** The producer under test, created by the caller from `clients`; closed by the run. */
  producer: ProducerPort;
  /** Created by the run, one partition. */
  topic: string;
  records: number;
  batchSize: number;
  faults: FaultPlan;
  /** Longest wait for the read-back consumer; default 20 s. */
  readTimeoutMs?: number;
}

export interface FaultRunReport {
  topic: string;
  /** Batches handed to the producer (one send each). */
  sends: number;
  recordsSent: number;
  /** Produce responses the proxy saw, and how many of them it dropped (resetting the connection). */
  produceResponses: number;
  droppedAcks: number;
  /** The partition's batches as DumpLogSegments printed them. */
  batches: LogBatch[];
  findings: LogFindings;
  /** The values a consumer reads from the topic, in offset order. */
  readBack: number[];
}

export async function produceThroughFaults(options: FaultRunOptions): Promise<FaultRunReport> {
  const { cluster, clients, producer, topic } = options;
  const admin = clients.admin();
  try {
    let sends = 0;
    try {
      await admin.createTopics([{ name: topic, partitions: 1 }]);
      cluster.proxy.setFaults(options.faults);
      for (let from = 0; from < options.records; from += options.batchSize) {
        const batch: ProducedRecord[] = [];
        for (let i = from; i < Math.min(options.records, from + options.batchSize); i++) {
          batch.push({ topic, partition: 0, key: null, value: Buffer.from(String(i)) });
        }
        sends++;
        await producer.send(batch);
      }
    } finally {
      await producer.close().catch(() => {});
    }
    const { produceResponses, droppedProduceResponses } = cluster.proxy.stats();
    cluster.proxy.setFaults(undefined);
    const readBack = await readTopic(
      clients,
      topic,
      await endOffset(admin, topic),
      options.readTimeoutMs ?? 20_000,
    );
    const batches = await readPartitionLog(cluster.broker.partitionDir(topic, 0), {
      libsDir: cluster.broker.libsDir,
    });
    return {
      topic,
      sends,
      recordsSent: options.records,
      produceResponses,
      droppedAcks: droppedProduceResponses,
      batches,
      findings: examineLog(batches, options.records),
      readBack,
    };
  } finally {
    cluster.proxy.setFaults(undefined);
    await admin.close();
  }
}

async function endOffset(admin: ReturnType<KafkaClientFactory['admin']>, topic: string): Promise<bigint> {
  const ends = await admin.listOffsets([{ topic, partition: 0 }], 'latest');
  return ends.get(`${topic}:0`) ?? 0n;
}

async function readTopic(
  clients: KafkaClientFactory,
  topic: string,
  until: bigint,
  timeoutMs: number,
): Promise<number[]> {
  const reader = clients.partitionReader({
    clientId: `${topic}-read-back`,
    isolationLevel: 'read_uncommitted',
    maxWaitMs: 200,
  });
  const values: number[] = [];
  try {
    reader.assign([{ topic, partition: 0, from: 0n, until }]);
    const deadline = Date.now() + timeoutMs;
    while (reader.pending().length > 0) {
      if (Date.now() > deadline) {
        throw new Error(
          `Reading ${topic} back stopped at ${values.length} of ${until} records after ${timeoutMs} ms: is the broker still up?`,
        );
      }
      for (const r of recordsOf(await reader.poll())) values.push(Number(r.value?.toString()));
    }
    return values;
  } finally {
    await reader.close();
  }
}
