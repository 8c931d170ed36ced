/**
 * Standby failover under exactly_once_v2: two instances of a per-key count, one standby replica
 * each (the other's task). The owner of a task is SIGKILLed while the input flows; the survivor
 * takes the task over from its warm standby, restoring only the changelog's tail (far fewer
 * records than the changelog holds), and the counts stay exact.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTopic, uniqueName } from '../support/kafka.ts';
import {
  AppProcess,
  type AppSpec,
  countFigures,
  endOffsets,
  figures,
  firstDuplicateHistory,
  KeyedInput,
  killAll,
  removeDir,
  seconds,
  tempDir,
  waitForCounts,
  waitForInputCommitted,
  waitUntil,
} from './support.ts';

const RECORDS = 30_000;
const KEYS = 200;

const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0)) removeDir(d);
});

describe('standby failover', () => {
  it('exactly_once_v2: the survivor takes over with a small restore and exact counts', async () => {
    const started = Date.now();
    const input = await createTopic(uniqueName('f6-in'), 2);
    const output = await createTopic(uniqueName('f6-out'), 2);
    const applicationId = uniqueName('f6-eos');
    const changelog = `${applicationId}-counts-changelog`;
    const spec = (name: string): AppSpec => {
      const stateDir = tempDir(`kp-f6-${name}-`);
      dirs.push(stateDir);
      return {
        topology: 'count',
        topics: { input, output },
        applicationId,
        stateDir,
        guarantee: 'exactly_once_v2',
        config: {
          commitIntervalMs: 100,
          numStandbyReplicas: 1,
          // Every update reaches the changelog, so a full restore is as long as the input.
          cacheMaxBytes: 0,
          client: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 },
        },
      };
    };
    const both = () => `${a.tail()}\n${b.tail()}`;
    const a = new AppProcess(spec('a'), 'a');
    await a.waitForRunning(60_000);
    const b = new AppProcess(spec('b'), 'b');
    // One task each, and each keeps the other's task as a standby.
    await waitUntil(
      () => {
        const sa = a.lastStats();
        const sb = b.lastStats();
        return sa?.state === 'RUNNING' &&
          sb?.state === 'RUNNING' &&
          sa.active.length === 1 &&
          sb.active.length === 1 &&
          sa.standby.join() === sb.active.join() &&
          sb.standby.join() === sa.active.join()
          ? true
          : undefined;
      },
      60_000,
      'one task and one standby each',
      100,
      both,
    );
    const moved = b.lastStats()!.active[0]!;
    const movedPartition = Number(moved.split('_')[1]);

    const keyed = new KeyedInput(input, KEYS);
    await keyed.produce(RECORDS);
    await waitForInputCommitted(applicationId, [input], 90_000, both);
    // The standby has applied the changelog of the task it follows (one record per input record).
    const inputOfMoved = Number((await endOffsets(input))[movedPartition]);
    await a.waitForStats((s) => s.standbyRecords >= inputOfMoved, 60_000, `standby of ${moved} caught up`);

    // Kill the owner while the stream flows and it has committed some of it.
    keyed.feed(100, 100);
    const bProcessed = b.lastStats()!.processed;
    await b.waitForStats((s) => s.processed >= bProcessed + 200, 30_000, 'b processing the stream');
    await b.kill();
    const killedAt = Date.now();
    const eventsAtKill = a.events.length;
    await waitUntil(
      () => {
        const sa = a.lastStats();
        return sa && sa.at > killedAt && sa.state === 'RUNNING' && sa.active.includes(moved)
          ? true
          : undefined;
      },
      60_000,
      `a running ${moved}`,
      100,
      () => a.tail(),
    );
    const takeoverS = seconds(killedAt);
    await keyed.stopFeeding();
    await waitForInputCommitted(applicationId, [input], 60_000, () => a.tail());
    const check = await waitForCounts(output, keyed.expected, 60_000, undefined, () => a.tail());
    const restoredOnFailover = a.events
      .slice(eventsAtKill)
      .filter((e) => e.event === 'restored' && e.taskId === moved)
      .reduce((n, e) => n + (e.restored as number), 0);
    const changelogOfMoved = Number((await endOffsets(changelog))[movedPartition]);
    const standbyRecords = a.lastStats()?.standbyRecords;
    const closedCleanly = await a.stop();
    figures('6 standby failover eos', {
      recordsIn: keyed.produced,
      ...countFigures(check),
      movedTask: moved,
      changelogOffsetsOfMoved: changelogOfMoved,
      restoredOnFailover,
      standbyRecords,
      takeoverS,
      maxRssMiB: Math.max(a.lastStats()?.maxRssMiB ?? 0, b.lastStats()?.maxRssMiB ?? 0),
      durationS: seconds(started),
    });

    // A warm standby: the survivor restored a small tail, not the changelog.
    expect(changelogOfMoved).toBeGreaterThan(inputOfMoved);
    expect(restoredOnFailover).toBeLessThan(changelogOfMoved / 10);
    expect(check.splitKeys).toEqual([]);
    expect(check.duplicates.slice(0, 10), firstDuplicateHistory(check)).toEqual([]);
    expect(check.short.slice(0, 10), a.tail()).toEqual([]);
    expect(check.over.slice(0, 10)).toEqual([]);
    expect(check.latest).toEqual(keyed.expected);
    expect(closedCleanly).toBe(true);
  }, 240_000);
});
