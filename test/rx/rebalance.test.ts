/**
 * Two KafkaReceivers in one group on the broker: the second joins while the first works through
 * a backlog; partitions move, the first is told which partitions were revoked (all of them: the
 * rebalance is eager) and which it keeps, and every record is processed at least once. With
 * commits of acknowledged records only, the group's committed offsets end at every partition's
 * end and each partition's processed offsets have no gap.
 */
import { Serdes } from '@kafka-pattern/streams-core';
import type { TopicPartition } from '@kafka-pattern/streams-core/client';
import { KafkaReceiver, type ReceiverRecord } from '@kafka-pattern/streams-core/rx';
import { concatMap, map, type Subscription, timer } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { bootstrapServers, createTopic, eventually, produce, record, uniqueName } from '../support/kafka.ts';
import { committed, endOffsets } from './support.ts';

const PARTITIONS = 6;
const PER_PARTITION = 1_000;

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

interface Member {
  receiver: KafkaReceiver<string, string>;
  processed: number;
  revoked: TopicPartition[][];
  assigned: TopicPartition[][];
}

describe('KafkaReceiver rebalance', () => {
  it('moves partitions to a second member, reports revocations, processes every record at least once', async () => {
    const topic = await createTopic(uniqueName('rx-rebalance'), PARTITIONS);
    const input = [];
    for (let p = 0; p < PARTITIONS; p++)
      for (let i = 0; i < PER_PARTITION; i++) input.push(record(topic, `k${i}`, `${p}:${i}`, p));
    await produce(input);
    const groupId = uniqueName('rx-rebalance-g');
    const times = new Map<string, number>();

    const start = (name: string): Member => {
      const receiver = KafkaReceiver.create({
        bootstrapServers: bootstrapServers(),
        clientId: `${groupId}-${name}`,
        groupId,
        topics: [topic],
        keyDeserializer: Serdes.String(),
        valueDeserializer: Serdes.String(),
        maxBufferedPerPartition: 50,
        commitIntervalMs: 200,
        sessionTimeoutMs: 10_000,
        heartbeatIntervalMs: 500,
      });
      const m: Member = { receiver, processed: 0, revoked: [], assigned: [] };
      const subs: Subscription[] = [
        receiver.revocations$.subscribe((e) => m.revoked.push(e.partitions)),
        receiver.assignments$.subscribe((e) => m.assigned.push(e.partitions)),
        receiver
          .receive()
          .pipe(concatMap((r: ReceiverRecord<string, string>) => timer(1).pipe(map(() => r))))
          .subscribe((r) => {
            const key = `${r.partition}:${r.offset}`;
            times.set(key, (times.get(key) ?? 0) + 1);
            m.processed++;
            r.receiverOffset.acknowledge();
          }),
      ];
      cleanup.push(async () => {
        for (const s of subs) s.unsubscribe();
        await receiver.close();
      });
      return m;
    };

    const a = start('a');
    await eventually(() => (a.processed >= 300 ? true : undefined), 60_000, 'the first member at work');
    expect(times.size).toBeLessThan(PARTITIONS * PER_PARTITION);
    const b = start('b');
    await eventually(
      () => (b.assigned.some((tps) => tps.length > 0) && a.revoked.length > 0 ? true : undefined),
      60_000,
      'the second member assigned partitions and the first told of the revocation',
    );
    await eventually(
      () => (times.size === PARTITIONS * PER_PARTITION ? true : undefined),
      120_000,
      'every record processed',
    );
    const ends = await endOffsets(topic, PARTITIONS);
    await eventually(
      async () => {
        const c = await committed(groupId, topic, PARTITIONS);
        return c.every((o, i) => o === ends[i]) ? true : undefined;
      },
      30_000,
      'committed offsets at the end of every partition',
    );

    const revokedFirst = a.revoked[0]!.map((tp) => tp.partition).sort((x, y) => x - y);
    expect(revokedFirst).toEqual([0, 1, 2, 3, 4, 5]);
    const lastA = a.assigned.at(-1)!.map((tp) => tp.partition);
    const lastB = b.assigned.at(-1)!.map((tp) => tp.partition);
    expect(lastB.length).toBeGreaterThan(0);
    expect([...lastA, ...lastB].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5]);
    for (let p = 0; p < PARTITIONS; p++)
      for (let i = 0; i < PER_PARTITION; i++) expect(times.get(`${p}:${i}`) ?? 0).toBeGreaterThanOrEqual(1);
    const again = [...times.values()].filter((n) => n > 1).length;
    console.log(
      `rx rebalance: a processed ${a.processed}, b ${b.processed}, redelivered ${again}; a revoked ${JSON.stringify(a.revoked.map((x) => x.length))}, a now ${lastA}, b now ${lastB}`,
    );
  }, 240_000);
});
