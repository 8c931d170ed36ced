/**
 * A SIGKILL during restoration. A per-key count under exactly_once_v2 builds a large changelog
 * (no record cache: one changelog record per input record) and stops cleanly; its state
 * directory is wiped; the next incarnation starts restoring everything from the changelog and
 * is killed while it does; a third incarnation on the same, half-restored, state directory
 * must restore and continue with exact counts.
 *
 * "While it restores" is observed, not timed: the child says it has tasks while its state is
 * still REBALANCING (tasks are created, then restored, then the instance goes RUNNING), and it
 * has read a good part of the changelog from the broker since then (its read bytes in /proc),
 * without having reported the end of a restoration.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTopic, uniqueName } from '../support/kafka.ts';
import {
  AppProcess,
  type AppSpec,
  bytesRead,
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

const RECORDS = 200_000;
const MORE = 5_000;
const KEYS = 2_000;
/** Bytes the killed incarnation must have read while restoring (the changelog is about 14 MB). */
const READ_BEFORE_KILL = 2_000_000;

const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0)) removeDir(d);
});

describe('SIGKILL during restoration', () => {
  it('exactly_once_v2: the next start restores and the counts stay exact', async () => {
    const started = Date.now();
    const input = await createTopic(uniqueName('f5-in'), 2);
    const output = await createTopic(uniqueName('f5-out'), 2);
    const applicationId = uniqueName('f5-eos');
    const stateDir = tempDir('kp-f5-');
    dirs.push(stateDir);
    const spec: AppSpec = {
      topology: 'count',
      topics: { input, output },
      applicationId,
      stateDir,
      guarantee: 'exactly_once_v2',
      config: {
        commitIntervalMs: 100,
        cacheMaxBytes: 0,
        client: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 },
      },
    };
    const keyed = new KeyedInput(input, KEYS);
    const changelog = `${applicationId}-counts-changelog`;

    // 1. Build the changelog, then stop cleanly.
    await keyed.produce(RECORDS);
    const first = new AppProcess(spec, 'first');
    await waitForInputCommitted(applicationId, [input], 120_000, () => first.tail());
    const built = await waitForCounts(output, keyed.expected, 120_000, undefined, () => first.tail());
    expect(built.short.slice(0, 10), first.tail()).toEqual([]);
    expect(await first.stop()).toBe(true);
    const changelogEnds = await endOffsets(changelog);
    const buildS = seconds(started);

    // 2. Wipe the state directory; the next incarnation restores from scratch and is killed mid-way.
    for (const entry of readdirSync(stateDir))
      rmSync(join(stateDir, entry), { recursive: true, force: true });
    const victim = new AppProcess(spec, 'killed while restoring');
    const marker = await victim.waitForEvent((e) => e.event === 'restoring', 60_000, 'restoring');
    const readAtMarker = bytesRead(victim.pid) ?? 0;
    let readBeforeKill = 0;
    await waitUntil(
      () => {
        if (victim.restored().length > 0 || victim.states().includes('RUNNING'))
          throw new Error(`the restoration ended before the kill\n${victim.tail()}`);
        if (!victim.alive) throw new Error(`the restoring incarnation died by itself\n${victim.tail()}`);
        readBeforeKill = (bytesRead(victim.pid) ?? Number.POSITIVE_INFINITY) - readAtMarker;
        return readBeforeKill >= READ_BEFORE_KILL ? true : undefined;
      },
      60_000,
      `${READ_BEFORE_KILL} changelog bytes read while restoring`,
      5,
      () => victim.tail(),
    );
    await victim.kill();
    const restoringForMs = Date.now() - marker.at;
    // The kill landed before any restoration finished, and before the instance ran.
    const victimRestored = victim.restored().length;
    const victimStates = victim.states();

    // 3. Restart on the half-restored state directory: restore, then continue exactly.
    const last = new AppProcess(spec, 'restarted');
    await last.waitForRunning(120_000);
    const restoredAfter = last.restored().reduce((n, e) => n + (e.restored as number), 0);
    const restoreMs = Math.max(0, ...last.restored().map((e) => e.durationMs as number));
    await keyed.produce(MORE);
    await waitForInputCommitted(applicationId, [input], 60_000, () => last.tail());
    const check = await waitForCounts(output, keyed.expected, 60_000, undefined, () => last.tail());
    const closedCleanly = await last.stop();
    const changelogRecords = Number(changelogEnds.reduce((a, b) => a + b, 0n));
    figures('5 sigkill while restoring eos', {
      recordsIn: keyed.produced,
      ...countFigures(check),
      changelogOffsets: changelogRecords,
      buildS,
      killedAfterRestoringMs: restoringForMs,
      bytesReadBeforeKill: readBeforeKill,
      killedIncarnationRestoreEnds: victimRestored,
      killedIncarnationStates: victimStates,
      restoredAfterRestart: restoredAfter,
      restoreAfterRestartMs: restoreMs,
      maxRssMiB: Math.max(first.lastStats()?.maxRssMiB ?? 0, last.lastStats()?.maxRssMiB ?? 0),
      durationS: seconds(started),
    });

    expect(victimRestored).toBe(0);
    expect(victimStates).not.toContain('RUNNING');
    // The restarted instance restored the whole store (its directory held no finished restoration).
    expect(restoredAfter).toBeGreaterThanOrEqual(KEYS);
    expect(check.splitKeys).toEqual([]);
    expect(check.duplicates.slice(0, 10), firstDuplicateHistory(check)).toEqual([]);
    expect(check.short.slice(0, 10), last.tail()).toEqual([]);
    expect(check.over.slice(0, 10)).toEqual([]);
    expect(check.latest).toEqual(keyed.expected);
    expect(closedCleanly).toBe(true);
  }, 300_000);
});
