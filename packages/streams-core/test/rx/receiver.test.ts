/**
 * The rx receiver and sender on the in-memory cluster: which offsets are committed for which
 * acknowledgements, the per-partition bound with pause and resume, rebalances, per-record
 * sender results, and one transaction per batch.
 */
import { Serdes } from '@kafka-pattern/streams-core';
import {
  type ExactlyOnceBatch,
  KafkaReceiver,
  KafkaSender,
  type ReceiverRecord,
  type SenderResult,
} from '@kafka-pattern/streams-core/rx';
import { firstValueFrom, from, last, map, of, type Subscription, scan, takeWhile, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/harness.ts';
import { InMemoryKafka } from '../support/in-memory-kafka.ts';

const S = Serdes.String();
const subscriptions: Subscription[] = [];
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of subscriptions.splice(0)) s.unsubscribe();
  for (const c of closers.splice(0)) await c();
});

function fill(kafka: InMemoryKafka, topic: string, partitions: number, perPartition: number): void {
  kafka.createTopic(topic, partitions);
  const records = [];
  for (let p = 0; p < partitions; p++)
    for (let i = 0; i < perPartition; i++)
      records.push({ topic, partition: p, key: Buffer.from(`k${i}`), value: Buffer.from(`${p}:${i}`) });
  kafka.produce(records);
}

function receiver(
  kafka: InMemoryKafka,
  topic: string,
  extra: Partial<Parameters<typeof KafkaReceiver.create>[0]> = {},
) {
  const r = KafkaReceiver.create({
    clientFactory: kafka.factory(),
    groupId: 'g',
    topics: [topic],
    keyDeserializer: S,
    valueDeserializer: S,
    commitIntervalMs: 0,
    commitBatchSize: 1,
    pollTimeoutMs: 20,
    ...extra,
  } as Parameters<typeof KafkaReceiver.create<string, string>>[0]);
  closers.push(() => r.close());
  return r;
}

describe('KafkaReceiver.receive', () => {
  it('commits only the acknowledged prefix of each partition', async () => {
    const kafka = new InMemoryKafka();
    fill(kafka, 'in', 1, 10);
    const rx = receiver(kafka, 'in');
    const got: ReceiverRecord<string, string>[] = [];
    subscriptions.push(rx.receive().subscribe((r) => got.push(r)));
    await eventually(() => got.length === 10, 'ten records');
    for (const i of [1, 3, 4, 5, 9]) got[i]!.receiverOffset.acknowledge();
    got[0]!.receiverOffset.acknowledge();
    await eventually(() => kafka.committedOffset('g', 'in', 0) === 2n, 'commit at 2');
    // Acknowledged records 3..5 and 9 wait behind the unacknowledged record 2.
    const commitsBefore = rx.stats().commits;
    await eventually(() => rx.stats().commits >= commitsBefore, 'no further commit');
    expect(kafka.committedOffset('g', 'in', 0)).toBe(2n);
    const committed = got[2]!.receiverOffset.commit();
    await committed;
    expect(kafka.committedOffset('g', 'in', 0)).toBe(6n);
    for (const r of got) r.receiverOffset.acknowledge();
    await eventually(() => kafka.committedOffset('g', 'in', 0) === 10n, 'commit at 10');
  });

  it('delivers at most maxBufferedPerPartition unacknowledged records and pauses the partition', async () => {
    const kafka = new InMemoryKafka({ maxRecordsPerPartition: 30 });
    fill(kafka, 'in', 2, 2_000);
    const rx = receiver(kafka, 'in', {
      maxBufferedPerPartition: 50,
      maxPollRecords: 30,
      commitBatchSize: 10,
    });
    const held: ReceiverRecord<string, string>[] = [];
    const seen = new Set<string>();
    subscriptions.push(
      rx.receive().subscribe((r) => {
        held.push(r);
        seen.add(`${r.partition}:${r.offset}`);
      }),
    );
    await eventually(() => held.length === 100, '50 records per partition');
    // Nothing more comes while nothing is acknowledged: twenty more polls deliver nothing.
    let polls = 0;
    const stopCounting = kafka.intercept('poll', () => {
      polls++;
    });
    await eventually(() => polls >= 20, 'twenty polls');
    stopCounting();
    expect(held.length).toBe(100);
    for (const s of rx.stats().partitions) {
      expect(s.outstanding).toBe(50);
      expect(s.buffered).toBeLessThanOrEqual(30);
      expect(s.paused).toBe(true);
    }
    // Acknowledge as they come: everything arrives, and the bound held throughout.
    const drain = setInterval(() => {
      for (const r of held.splice(0)) r.receiverOffset.acknowledge();
    }, 1);
    try {
      await eventually(() => seen.size === 4_000, 'all 4,000 records', 20_000);
    } finally {
      clearInterval(drain);
    }
    for (const r of held.splice(0)) r.receiverOffset.acknowledge();
    expect(rx.stats().maxHeldPerPartition).toBeLessThanOrEqual(50 + 30);
    await eventually(
      () => kafka.committedOffset('g', 'in', 0) === 2_000n && kafka.committedOffset('g', 'in', 1) === 2_000n,
      'both partitions committed to the end',
    );
  });

  it('reports revoked and assigned partitions and ignores acknowledgements of revoked records', async () => {
    const kafka = new InMemoryKafka();
    fill(kafka, 'in', 2, 5);
    const rx = receiver(kafka, 'in');
    const revoked: string[][] = [];
    const assigned: string[][] = [];
    subscriptions.push(
      rx.revocations$.subscribe((e) => revoked.push(e.partitions.map((p) => `${p.partition}`))),
    );
    subscriptions.push(
      rx.assignments$.subscribe((e) => assigned.push(e.partitions.map((p) => `${p.partition}`))),
    );
    const got: ReceiverRecord<string, string>[] = [];
    subscriptions.push(rx.receive().subscribe((r) => got.push(r)));
    await eventually(() => got.length === 10, 'ten records');
    got[0]!.receiverOffset.acknowledge();
    await eventually(() => kafka.committedOffset('g', 'in', 0) === 1n, 'first commit');
    const pending = got[1]!.receiverOffset.commit().then(
      () => 'committed',
      (e: Error) => e.name,
    );
    got.length = 0;
    kafka.rebalance('g');
    await eventually(() => revoked.length === 1, 'a revocation');
    expect(revoked[0]!.sort()).toEqual(['0', '1']);
    // A commit asked for before the rebalance may have gone through under the old generation or been refused.
    expect(['committed', 'RebalanceError']).toContain(await pending);
    expect(assigned.length).toBe(2);
    // Redelivered from the committed offsets.
    const from0 = Number(kafka.committedOffset('g', 'in', 0));
    await eventually(() => got.length === 10 - from0, 'redelivery');
    expect(got.filter((r) => r.partition === 0)[0]!.offset).toBe(BigInt(from0));
  });

  it('receiveAutoAck acknowledges a batch when its handler completes', async () => {
    const kafka = new InMemoryKafka({ maxRecordsPerPartition: 5 });
    fill(kafka, 'in', 1, 20);
    const rx = receiver(kafka, 'in', { maxPollRecords: 5 });
    const out: string[] = [];
    subscriptions.push(
      rx.receiveAutoAck((batch) => batch.pipe(map((r) => r.value!))).subscribe((v) => out.push(v)),
    );
    await eventually(() => kafka.committedOffset('g', 'in', 0) === 20n, 'all committed');
    expect(out).toEqual(Array.from({ length: 20 }, (_, i) => `0:${i}`));
  });

  it('receiveAutoAck commits nothing of a batch whose handler errors', async () => {
    const kafka = new InMemoryKafka({ maxRecordsPerPartition: 4 });
    fill(kafka, 'in', 1, 10);
    const rx = receiver(kafka, 'in', { maxPollRecords: 4 });
    const failed = new Promise<Error>((resolve) => {
      subscriptions.push(
        rx
          .receiveAutoAck((batch) =>
            batch.pipe(
              map((r) => {
                if (r.offset === 5n) throw new Error('boom');
                return r;
              }),
            ),
          )
          .subscribe({ error: resolve }),
      );
    });
    expect((await failed).message).toBe('boom');
    await rx.close();
    expect(kafka.committedOffset('g', 'in', 0)).toBe(4n);
  });

  it('receiveAtMostOnce commits past a batch before handling its first record', async () => {
    const kafka = new InMemoryKafka({ maxRecordsPerPartition: 4 });
    fill(kafka, 'in', 1, 12);
    const rx = receiver(kafka, 'in', { maxPollRecords: 4 });
    const committedAtHandling: bigint[] = [];
    subscriptions.push(
      rx
        .receiveAtMostOnce((r) => {
          committedAtHandling.push(kafka.committedOffset('g', 'in', 0)! - r.offset);
          return of(r);
        })
        .subscribe(),
    );
    await eventually(() => committedAtHandling.length === 12, 'twelve handled');
    expect(committedAtHandling.every((d) => d >= 1n)).toBe(true);
  });
});

describe('KafkaReceiver failures', () => {
  it('ends the stream with a deserializer error, also one raised by a delivery after an acknowledgement', async () => {
    const kafka = new InMemoryKafka();
    fill(kafka, 'in', 1, 10);
    const rx = receiver(kafka, 'in', {
      maxBufferedPerPartition: 2,
      valueDeserializer: {
        deserialize: (topic: string, data: Buffer | null) => {
          const v = S.deserialize(topic, data);
          if (v === '0:5') throw new Error('unreadable 0:5');
          return v;
        },
      },
    });
    const got: string[] = [];
    const error = await new Promise<Error>((resolve) =>
      subscriptions.push(
        rx.receive().subscribe({
          next: (r) => {
            got.push(r.value!);
            r.receiverOffset.acknowledge();
          },
          error: resolve,
        }),
      ),
    );
    expect(error.message).toBe('unreadable 0:5');
    expect(got).toEqual(['0:0', '0:1', '0:2', '0:3', '0:4']);
    await rx.close();
    expect(kafka.committedOffset('g', 'in', 0)).toBe(5n);
  });
});

describe('KafkaSender', () => {
  it('reports each record with its offset, in order', async () => {
    const kafka = new InMemoryKafka();
    kafka.createTopic('out', 3);
    const sender = KafkaSender.create({
      clientFactory: kafka.factory(),
      keySerializer: S,
      valueSerializer: S,
      maxInFlight: 7,
    });
    closers.push(() => sender.close());
    const input = Array.from({ length: 50 }, (_, i) => ({
      topic: 'out',
      key: i % 5 === 0 ? null : `k${i % 9}`,
      value: `v${i}`,
      correlationMetadata: i,
    }));
    const results = await firstValueFrom(sender.send(from(input)).pipe(toArray()));
    expect(results.map((r) => r.correlationMetadata)).toEqual(input.map((r) => r.correlationMetadata));
    for (const r of results) {
      const m = r.recordMetadata!;
      const stored = kafka.records('out', { partition: m.partition }).find((x) => x.offset === m.offset)!;
      expect(stored.value!.toString()).toBe(`v${r.correlationMetadata}`);
    }
  });

  it('ends with the first error by default, and delivers errors per record with stopOnError false', async () => {
    const kafka = new InMemoryKafka();
    kafka.createTopic('out', 1);
    const input = [
      { topic: 'out', key: 'a', value: '1', correlationMetadata: 'a' },
      { topic: 'missing', key: 'b', value: '2', correlationMetadata: 'b' },
      { topic: 'out', key: 'c', value: '3', correlationMetadata: 'c' },
    ];
    const stopping = KafkaSender.create({
      clientFactory: kafka.factory(),
      keySerializer: S,
      valueSerializer: S,
      maxInFlight: 1,
    });
    closers.push(() => stopping.close());
    const seen: SenderResult<string>[] = [];
    const error = await new Promise<Error>((resolve) =>
      stopping.send(from(input)).subscribe({ next: (r) => seen.push(r), error: resolve }),
    );
    expect(error.message).toMatch(/missing/);
    expect(seen.map((r) => r.correlationMetadata)).toEqual(['a']);

    const going = KafkaSender.create({
      clientFactory: kafka.factory(),
      keySerializer: S,
      valueSerializer: S,
      stopOnError: false,
    });
    closers.push(() => going.close());
    const all = await firstValueFrom(going.send(from(input)).pipe(toArray()));
    expect(all.map((r) => [r.correlationMetadata, r.error !== undefined])).toEqual([
      ['a', false],
      ['b', true],
      ['c', false],
    ]);
  });
});

describe('KafkaReceiver.receiveExactlyOnce', () => {
  it('commits each batch output and its input offsets in one transaction', async () => {
    const kafka = new InMemoryKafka({ maxRecordsPerPartition: 8 });
    fill(kafka, 'in', 2, 30);
    kafka.createTopic('out', 2);
    const rx = receiver(kafka, 'in', { maxPollRecords: 8 });
    const sender = KafkaSender.create({
      clientFactory: kafka.factory(),
      keySerializer: S,
      valueSerializer: S,
      transactionalId: 'eos-1',
    });
    closers.push(() => sender.close());
    const batches = await firstValueFrom(
      rx
        .receiveExactlyOnce(sender, (records) =>
          records.map((r) => ({
            topic: 'out',
            key: r.key,
            value: r.value!.toUpperCase(),
            correlationMetadata: r.offset,
          })),
        )
        .pipe(
          scan((acc, b) => ({ total: acc.total + b.records, batches: [...acc.batches, b] }), {
            total: 0,
            batches: [] as ExactlyOnceBatch<bigint>[],
          }),
          takeWhile((acc) => acc.total < 60, true),
          last(),
        ),
    );
    expect(batches.batches.length).toBeGreaterThan(1);
    expect(batches.total).toBe(60);
    const out = kafka.records('out', { isolation: 'read_committed' }).map((r) => r.value!.toString());
    expect(out.length).toBe(60);
    expect(new Set(out).size).toBe(60);
    expect(kafka.committedOffset('g', 'in', 0)).toBe(30n);
    expect(kafka.committedOffset('g', 'in', 1)).toBe(30n);
  });
});
