/**
 * The idempotent-producer pattern on a real broker: a broker of its own behind the fault proxy,
 * which drops the acknowledgements of produce requests the broker has written and resets the
 * connection, by a seeded plan, so every run meets the same faults. The same records go through
 * it twice: from the client's default producer without idempotence (the unsafe baseline, which
 * must duplicate, or the proxy injected nothing) and from an idempotent one (which must write
 * each record once, in order). The broker's own segment files (DumpLogSegments) are the
 * evidence; a consumer reading the topic must agree with them.
 *
 * Needs Java 17+ (the broker and DumpLogSegments run from the Kafka jars): without it the
 * broker does not start and these tests fail.
 */
import { createPlatformaticClientFactory, type KafkaClientFactory } from '@kafka-pattern/streams-core/client';
import {
  type FaultPlan,
  type FaultRunReport,
  type ProxiedBroker,
  produceThroughFaults,
  startProxiedBroker,
} from '@kafka-pattern/topologies/idempotent-producer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../support/kafka.ts';

const RECORDS = 1_000;
const BATCH_SIZE = 50;
// Seeded: this plan drops the same acknowledgements on every run (several, never more than two
// in a row, well within the client's five retries).
const FAULTS: FaultPlan = { dropProduceResponses: 0.3, seed: 11, maxConsecutiveDrops: 2 };

let cluster: ProxiedBroker | undefined;
let baseline: FaultRunReport;
let idempotent: FaultRunReport;

beforeAll(async () => {
  cluster = await startProxiedBroker();
  const clients: KafkaClientFactory = createPlatformaticClientFactory({
    bootstrapServers: cluster.bootstrapServers,
    clientId: uniqueName('idempotent-producer-test'),
  });
  const run = (topic: string, producer: ReturnType<KafkaClientFactory['producer']>) =>
    produceThroughFaults({
      cluster: cluster!,
      clients,
      producer,
      topic,
      records: RECORDS,
      batchSize: BATCH_SIZE,
      faults: FAULTS,
    });
  // The unsafe baseline, only to show what the faults do without idempotence.
  const unsafeBaseline = clients.producer({ clientId: 'unsafe-baseline-non-idempotent', idempotent: false });
  baseline = await run(uniqueName('non-idempotent'), unsafeBaseline);
  idempotent = await run(
    uniqueName('idempotent'),
    clients.producer({ clientId: 'idempotent', idempotent: true }),
  );
});

afterAll(async () => {
  await cluster?.close();
});

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('idempotent producer through a proxy that drops acknowledgements', () => {
  it('the proxy dropped acknowledgements, the same ones for both producers', () => {
    expect(baseline.sends).toBe(RECORDS / BATCH_SIZE);
    expect(baseline.droppedAcks).toBeGreaterThan(0);
    // Each dropped acknowledgement costs one retry, so both saw the same produce responses.
    expect(baseline.produceResponses).toBe(baseline.sends + baseline.droppedAcks);
    expect({ responses: idempotent.produceResponses, dropped: idempotent.droppedAcks }).toEqual({
      responses: baseline.produceResponses,
      dropped: baseline.droppedAcks,
    });
  });

  it('without idempotence, every lost acknowledgement is a batch written twice', () => {
    const f = baseline.findings;
    expect(f.duplicates).toBeGreaterThan(0);
    expect(f.duplicates).toBe(baseline.droppedAcks * BATCH_SIZE);
    expect(f.batchesInLog).toBe(baseline.sends + baseline.droppedAcks);
    expect(f.recordsInLog).toBe(RECORDS + f.duplicates);
    expect(f.missing).toBe(0);
    // No producer id: the broker keeps no state for these batches and checks no sequence.
    expect(baseline.batches.every((b) => b.producerId === -1)).toBe(true);
    expect(baseline.readBack).toHaveLength(f.recordsInLog);
  });

  it('the idempotent producer writes each record exactly once and in order, by the broker log', () => {
    expect(idempotent.findings).toMatchObject({
      recordsSent: RECORDS,
      recordsInLog: RECORDS,
      batchesInLog: idempotent.sends,
      duplicates: 0,
      duplicatedValues: 0,
      outOfOrder: 0,
      missing: 0,
      contiguousSequences: true,
    });
    // One producer session wrote everything, and its sequence numbers are the records' own.
    expect(idempotent.findings.producers).toHaveLength(1);
    expect(idempotent.batches.every((b) => b.producerId >= 0)).toBe(true);
    const records = idempotent.batches.flatMap((b) => b.records);
    expect(records.map((r) => r.sequence)).toEqual(range(RECORDS));
    expect(records.map((r) => Number(r.payload))).toEqual(range(RECORDS));
  });

  it('a consumer reading the topic sees the same: each record once, in order', () => {
    expect(idempotent.readBack).toEqual(range(RECORDS));
  });
});
