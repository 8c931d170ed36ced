import { describe, expect, it } from 'vitest';
import { counting, eventually, longs, rec, useHarness } from '../support/harness.ts';

const harness = useHarness();

const tasksOf = (assignment: Array<{ partition: number }>) =>
  assignment.map((tp) => `0_${tp.partition}`).sort();

describe('standby replicas', () => {
  it('with numStandbyReplicas 1 and 3 instances, each task has one standby: on the instance after its owner', async () => {
    const h = harness();
    const { kafka } = h;
    kafka.createTopic('in', 3);
    kafka.createTopic('out', 3);
    const config = { applicationId: 'standby', numStandbyReplicas: 1, commitIntervalMs: 0 };
    const apps = ['c', 'a', 'b'].map((clientId) => ({
      clientId,
      app: h.app(counting(), { ...config, clientId }),
    }));
    for (const { app } of apps) await app.start();
    await eventually(
      () => apps.every(({ app }) => app.state === 'RUNNING' && app.activeTaskIds().length === 1),
      'one active task per instance',
      5_000,
      () => apps.map(({ app }) => [app.state, app.activeTaskIds()]),
    );
    // The ring from the group description: members in client-id order.
    const members = [...kafka.members('standby')].sort((x, y) => x.clientId.localeCompare(y.clientId));
    expect(members.map((m) => m.clientId.split('-')[0])).toEqual(['a', 'b', 'c']);
    const expected = new Map<string, string[]>();
    members.forEach((m, i) => {
      const next = members[(i + 1) % members.length]!;
      expected.set(next.clientId.split('-')[0]!, tasksOf(m.assignment));
    });
    await eventually(
      () =>
        apps.every(
          ({ clientId, app }) =>
            JSON.stringify(app.standbyTaskIds()) === JSON.stringify(expected.get(clientId)),
        ),
      'standbys on the next instance in client-id order',
      5_000,
      () => apps.map(({ clientId, app }) => [clientId, app.activeTaskIds(), app.standbyTaskIds()]),
    );
    const holders = new Map<string, number>();
    for (const { app } of apps) {
      for (const t of app.standbyTaskIds()) {
        expect(app.activeTaskIds()).not.toContain(t);
        holders.set(t, (holders.get(t) ?? 0) + 1);
      }
    }
    expect(holders).toEqual(
      new Map([
        ['0_0', 1],
        ['0_1', 1],
        ['0_2', 1],
      ]),
    );
  });

  it('a standby follows the changelog; when its owner leaves, the takeover restores nothing it already had', async () => {
    const h = harness();
    const { kafka } = h;
    kafka.createTopic('in', 2);
    kafka.createTopic('out', 1);
    const config = {
      applicationId: 'takeover',
      numStandbyReplicas: 1,
      commitIntervalMs: 0,
      cacheMaxBytes: 0,
    };
    const a = h.app(counting(), { ...config, clientId: 'a' });
    const b = h.app(counting(), { ...config, clientId: 'b' });
    const restoredByB: Array<{ taskId: string; restored: number }> = [];
    b.setRestoreListener({
      onRestoreEnd: (p) => restoredByB.push({ taskId: p.taskId, restored: p.restored }),
    });
    await a.start();
    await b.start();
    await eventually(
      () =>
        a.activeTaskIds().length === 1 &&
        b.activeTaskIds().length === 1 &&
        a.state === 'RUNNING' &&
        b.state === 'RUNNING',
      'one task each',
    );
    // Two instances and one replica: each keeps the other's task.
    await eventually(
      () =>
        JSON.stringify(a.standbyTaskIds()) === JSON.stringify(b.activeTaskIds()) &&
        JSON.stringify(b.standbyTaskIds()) === JSON.stringify(a.activeTaskIds()),
      'standbys of each other',
    );
    const aTask = a.activeTaskIds()[0]!;
    const aPartition = Number(aTask.split('_')[1]);
    const records = Array.from({ length: 5 }, (_, i) =>
      rec('in', `k${i % 2}`, `v${i}`, { partition: aPartition }),
    );
    kafka.produce(records);
    await eventually(
      () => kafka.committedOffset('takeover', 'in', aPartition) === 5n,
      "a's records committed",
    );
    await eventually(
      () => b.metrics().standbyRecords === 5,
      "b's standby applied a's five changelog records",
      5_000,
      () => b.metrics(),
    );
    const restoredBefore = b.metrics().restoredRecords;
    await a.close();
    await eventually(() => b.activeTaskIds().length === 2 && b.state === 'RUNNING', 'b runs both tasks');
    expect(b.standbyTaskIds()).toEqual([]);
    expect(b.metrics().restoredRecords).toBe(restoredBefore);
    expect(restoredByB.filter((r) => r.taskId === aTask)).toEqual([]);
    // Keys were placed by partition, not by hash: read the task's store whole.
    expect(b.store<string, number>('counts').all()).toEqual([
      { key: 'k0', value: 3 },
      { key: 'k1', value: 2 },
    ]);
    kafka.produce([rec('in', 'k0', 'v5', { partition: aPartition })]);
    await eventually(() => kafka.committedOffset('takeover', 'in', aPartition) === 6n, 'b carries on');
    expect(longs(kafka.records('out')).at(-1)).toEqual(['k0', 4]);
  });
});
