/**
 * Interactive-query metadata across instances, from the group description on the in-memory
 * cluster: which instance (by applicationServer) holds a key, every instance's tasks and stores,
 * and local store reads answering only for local partitions.
 */
import { partitionForKey } from '@kafka-pattern/streams-core';
import { describe, expect, it } from 'vitest';
import { counting, eventually, rec, useHarness } from '../support/harness.ts';

const harness = useHarness();

/** A key that the partitioner puts on `partition` of 2. */
function keyOn(partition: number): string {
  for (let i = 0; ; i++) if (partitionForKey(Buffer.from(`key-${i}`), 2) === partition) return `key-${i}`;
}

describe('interactive-query metadata', () => {
  it('says which instance holds a key, lists every instance, and reads local partitions only', async () => {
    const h = harness();
    h.kafka.createTopic('in', 2);
    h.kafka.createTopic('out', 2);
    const config = { applicationId: 'iq', commitIntervalMs: 0, cacheMaxBytes: 0 };
    const a = h.app(counting(), { ...config, clientId: 'a', applicationServer: 'host-a:7070' });
    const b = h.app(counting(), { ...config, clientId: 'b', applicationServer: 'host-b:7070' });
    await a.start();
    await b.start();
    await eventually(
      () =>
        a.state === 'RUNNING' &&
        b.state === 'RUNNING' &&
        a.activeTaskIds().length === 1 &&
        b.activeTaskIds().length === 1,
      'one task each',
    );
    const [k0, k1] = [keyOn(0), keyOn(1)];
    h.kafka.produce([rec('in', k0, 'x'), rec('in', k1, 'x'), rec('in', k1, 'x')]);
    await eventually(
      () => h.kafka.committedOffset('iq', 'in', 0) === 1n && h.kafka.committedOffset('iq', 'in', 1) === 2n,
      'all committed',
    );
    const owner = (p: number) => (a.activeTaskIds().includes(`0_${p}`) ? a : b);
    const other = (p: number) => (owner(p) === a ? b : a);
    const hostOf = (app: typeof a) => (app === a ? 'host-a' : 'host-b');
    for (const [key, p, count] of [
      [k0, 0, 1],
      [k1, 1, 2],
    ] as const) {
      const fromOwner = await owner(p).queryMetadataForKey('counts', key);
      expect(fromOwner).toEqual({
        partition: p,
        activeHost: { host: hostOf(owner(p)), port: 7070 },
        local: true,
      });
      const fromOther = await other(p).queryMetadataForKey('counts', key);
      expect(fromOther).toEqual({
        partition: p,
        activeHost: { host: hostOf(owner(p)), port: 7070 },
        local: false,
      });
      expect(owner(p).store<string, number>('counts').get(key)).toBe(count);
      expect(other(p).store<string, number>('counts').get(key)).toBeUndefined();
    }
    const all = await a.allMetadata();
    expect(
      all
        .map((m) => ({ server: m.applicationServer, local: m.local, tasks: m.tasks, stores: m.stores }))
        .sort((x, y) => x.server!.localeCompare(y.server!)),
    ).toEqual([
      { server: 'host-a:7070', local: true, tasks: a.activeTaskIds(), stores: ['counts'] },
      { server: 'host-b:7070', local: false, tasks: b.activeTaskIds(), stores: ['counts'] },
    ]);
  });
});
