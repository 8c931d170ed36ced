/**
 * Read-your-writes on the in-memory cluster: an instance knows how far it has processed each
 * input partition, also right after it started from a committed offset with nothing new to
 * read, and wakes a waiter once the record it waits for is in the store.
 */
import { describe, expect, it } from 'vitest';
import { counting, eventually, rec, useHarness } from '../support/harness.ts';

const harness = useHarness();

describe('processed positions', () => {
  it('follow processing, start at the committed offset after a restart, and wake waiters', async () => {
    const h = harness();
    h.kafka.createTopic('in', 2);
    h.kafka.createTopic('out', 2);
    const config = { applicationId: 'positions', commitIntervalMs: 0 };
    const first = h.app(counting(), config);
    await first.start();
    await first.waitForRunning();
    h.kafka.produce([rec('in', 'a', '1', { partition: 0 }), rec('in', 'a', '2', { partition: 0 })]);
    expect(await first.waitForProcessed({ topic: 'in', partition: 0, offset: 1n }, 5_000)).toBe(true);
    expect(first.processedOffset('in', 0)).toBe(2n);
    expect(first.store<string, number>('counts').get('a')).toBe(2);
    // Partition 1 is empty: its task is at the offset it starts from.
    await eventually(() => first.processedOffset('in', 1) === 0n, 'partition 1 positioned at 0');
    expect(first.processedOffset('nope', 0)).toBeUndefined();
    await eventually(() => h.kafka.committedOffset('positions', 'in', 0) === 2n, 'offset 2 committed');
    await first.close();

    // A fresh state directory: the store is restored, the position is the committed offset.
    const second = h.app(counting(), config);
    await second.start();
    await second.waitForRunning();
    await eventually(() => second.processedOffset('in', 0) === 2n, 'restarted at the committed offset');
    expect(await second.waitForProcessed({ topic: 'in', partition: 0, offset: 1n }, 0)).toBe(true);
    const waiting = second.waitForProcessed({ topic: 'in', partition: 0, offset: 2n }, 5_000);
    expect(await second.waitForProcessed({ topic: 'in', partition: 0, offset: 2n }, 50)).toBe(false);
    h.kafka.produce([rec('in', 'a', '3', { partition: 0 })]);
    expect(await waiting).toBe(true);
    expect(second.store<string, number>('counts').get('a')).toBe(3);
  });
});
