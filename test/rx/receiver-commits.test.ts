/**
 * KafkaReceiver on the broker: the committed offset (read through the admin API) never passes an
 * unacknowledged record, however many records after it are acknowledged, and advances to the
 * end once the gap is acknowledged.
 */
import { Serdes } from '@kafka-pattern/streams-core';
import { KafkaReceiver, type ReceiverRecord } from '@kafka-pattern/streams-core/rx';
import type { Subscription } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { bootstrapServers, createTopic, eventually, produce, record, uniqueName } from '../support/kafka.ts';
import { committed } from './support.ts';

const S = Serdes.String();
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

describe('KafkaReceiver commits', () => {
  it('never commits past an unacknowledged record, and catches up once it is acknowledged', async () => {
    const topic = await createTopic(uniqueName('rx-commits'), 2);
    await produce(Array.from({ length: 40 }, (_, i) => record(topic, `k${i}`, `v${i}`, i % 2)));
    const groupId = uniqueName('rx-commits-g');
    const receiver = KafkaReceiver.create({
      bootstrapServers: bootstrapServers(),
      groupId,
      topics: [topic],
      keyDeserializer: S,
      valueDeserializer: S,
      commitIntervalMs: 50,
      commitBatchSize: 1,
    });
    cleanup.push(() => receiver.close());
    const got: ReceiverRecord<string, string>[] = [];
    const sub: Subscription = receiver.receive().subscribe((r) => got.push(r));
    cleanup.push(() => sub.unsubscribe());
    await eventually(() => (got.length === 40 ? true : undefined), 20_000, 'all 40 records delivered');

    // Partition 0: acknowledge 0..4, hold 5, acknowledge 6..19. Partition 1: acknowledge all but 0.
    const p0 = got.filter((r) => r.partition === 0);
    const p1 = got.filter((r) => r.partition === 1);
    for (const r of p0) if (r.offset !== 5n) r.receiverOffset.acknowledge();
    for (const r of p1) if (r.offset !== 0n) r.receiverOffset.acknowledge();
    await eventually(
      async () => ((await committed(groupId, topic, 2))[0] === 5n ? true : undefined),
      20_000,
      'partition 0 committed up to its unacknowledged record',
    );
    // Let further commits happen (commits$ counts them) and check nothing went past the gaps.
    const commitsBefore = receiver.stats().commits;
    p0[0]!.receiverOffset.acknowledge(); // a repeated acknowledgement changes nothing
    await p0[4]!.receiverOffset.commit(); // resolves: offset 5 is committed already
    await eventually(() => (receiver.stats().commits >= commitsBefore ? true : undefined), 5_000, 'commits');
    expect(await committed(groupId, topic, 2)).toEqual([5n, -1n]);

    await p0[5]!.receiverOffset.commit();
    await p1[0]!.receiverOffset.commit();
    expect(await committed(groupId, topic, 2)).toEqual([20n, 20n]);
  });
});
