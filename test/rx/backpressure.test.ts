/**
 * Back-pressure of KafkaReceiver.receive over a 100,000-record backlog (1 KiB values, 4
 * partitions) with a subscriber that takes 10 ms per record.
 *
 * At 10 ms a record the whole backlog would take 1,000 s, so the slow subscriber runs for a
 * bounded 15 s (about 1,500 records): long enough for an unbounded receiver to have pulled the
 * whole backlog (100 MB) into memory, which the assertions would catch. Throughout that phase,
 * sampled every 100 ms: the records the receiver holds per partition (fetched and not delivered,
 * plus delivered and not acknowledged) stay within maxBufferedPerPartition + maxPollRecords, the
 * process's RSS stays within a fixed margin of what it was before subscribing, and the committed
 * offsets (read through the admin API) keep advancing. Then the subscriber speeds up and the rest
 * drains: every record arrives and the group's committed offsets reach the end of every partition.
 * The client's own buffer of a paused partition (at most one fetch, maxBytesPerPartition) is
 * part of the RSS bound.
 */
import { Serdes } from '@kafka-pattern/streams-core';
import { KafkaReceiver } from '@kafka-pattern/streams-core/rx';
import { concatMap, map, of, type Subscription, timer } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { bootstrapServers, createTopic, eventually, produce, record, uniqueName } from '../support/kafka.ts';
import { committed, endOffsets, sum } from './support.ts';

const RECORDS = 100_000;
const PARTITIONS = 4;
const MAX_BUFFERED = 200;
const MAX_POLL = 100;
const SLOW_PHASE_MS = 15_000;
const RSS_MARGIN_MIB = 64;

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

describe('KafkaReceiver back-pressure', () => {
  it('holds a bounded number of records for a 10 ms/record subscriber over a 100,000-record backlog', async () => {
    const topic = await createTopic(uniqueName('rx-bp'), PARTITIONS);
    const padding = 'x'.repeat(1024);
    for (let i = 0; i < RECORDS; i += 10_000) {
      await produce(
        Array.from({ length: 10_000 }, (_, j) => record(topic, `k${(i + j) % 1000}`, `${i + j}:${padding}`)),
      );
    }
    expect(sum(await endOffsets(topic, PARTITIONS))).toBe(RECORDS);

    const groupId = uniqueName('rx-bp-g');
    const receiver = KafkaReceiver.create({
      bootstrapServers: bootstrapServers(),
      groupId,
      topics: [topic],
      keyDeserializer: Serdes.String(),
      valueDeserializer: Serdes.String(),
      maxBufferedPerPartition: MAX_BUFFERED,
      maxPollRecords: MAX_POLL,
      maxBytesPerPartition: 256 * 1024,
      commitIntervalMs: 500,
    });
    cleanup.push(() => receiver.close());

    const seen = new Set<number>();
    let slow = true;
    (globalThis as { gc?: () => void }).gc?.();
    const rssBefore = process.memoryUsage().rss;
    const sub: Subscription = receiver
      .receive()
      .pipe(concatMap((r) => (slow ? timer(10) : of(0)).pipe(map(() => r))))
      .subscribe((r) => {
        seen.add(Number(r.value!.slice(0, r.value!.indexOf(':'))));
        r.receiverOffset.acknowledge();
      });
    cleanup.push(() => sub.unsubscribe());

    let maxHeld = 0;
    let maxRss = rssBefore;
    const sampler = setInterval(() => {
      for (const p of receiver.stats().partitions) maxHeld = Math.max(maxHeld, p.buffered + p.outstanding);
      maxRss = Math.max(maxRss, process.memoryUsage().rss);
    }, 100);
    cleanup.push(() => clearInterval(sampler));

    // The slow phase: committed offsets are read every 5 s and must grow each time.
    const startedAt = Date.now();
    const committedSums: number[] = [];
    while (Date.now() - startedAt < SLOW_PHASE_MS) {
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      committedSums.push(sum(await committed(groupId, topic, PARTITIONS)));
    }
    const slowSeen = seen.size;
    const slowMaxRssMiB = (maxRss - rssBefore) / 2 ** 20;
    const heldInSlowPhase = maxHeld;
    slow = false;

    await eventually(() => (seen.size === RECORDS ? true : undefined), 120_000, 'every record received');
    const ends = await endOffsets(topic, PARTITIONS);
    await eventually(
      async () => {
        const c = await committed(groupId, topic, PARTITIONS);
        return c.every((o, i) => o === ends[i]) ? true : undefined;
      },
      20_000,
      'committed offsets at the end of every partition',
    );
    console.log(
      `rx back-pressure: slow phase ${slowSeen} records in ${SLOW_PHASE_MS} ms, held per partition max ${heldInSlowPhase} (bound ${MAX_BUFFERED + MAX_POLL}), RSS +${slowMaxRssMiB.toFixed(1)} MiB, committed ${committedSums.join(' < ')}, receiver max held overall ${receiver.stats().maxHeldPerPartition}`,
    );
    expect(slowSeen).toBeGreaterThan(0);
    expect(slowSeen).toBeLessThan(RECORDS / 10);
    expect(heldInSlowPhase).toBeGreaterThan(0);
    expect(heldInSlowPhase).toBeLessThanOrEqual(MAX_BUFFERED + MAX_POLL);
    expect(receiver.stats().maxHeldPerPartition).toBeLessThanOrEqual(MAX_BUFFERED + MAX_POLL);
    expect(slowMaxRssMiB).toBeLessThan(RSS_MARGIN_MIB);
    for (let i = 1; i < committedSums.length; i++)
      expect(committedSums[i]!).toBeGreaterThan(committedSums[i - 1]!);
    expect(committedSums[0]!).toBeGreaterThan(0);
  }, 300_000);
});
