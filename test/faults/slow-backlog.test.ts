/**
 * A slow processor (a mapValues that burns about 200 µs of CPU per record) facing a backlog of
 * 150,000 records under at_least_once, with the client's default session timeout and
 * heartbeats. The drain must make progress the group can see: offsets are committed while it
 * runs (not only at the end), the output is complete, and the process's peak RSS stays under
 * a bound.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTopic, uniqueName } from '../support/kafka.ts';
import {
  AppProcess,
  committedOffsets,
  endOffsetSum,
  figures,
  KeyedInput,
  killAll,
  readCommitted,
  removeDir,
  seconds,
  sleep,
  tempDir,
} from './support.ts';

const RECORDS = 150_000;
const BUSY_MICROS = 200;
const MAX_RSS_MIB = 600;
const COMMIT_INTERVAL_MS = 2_000;
const DRAIN_TIMEOUT_MS = 150_000;

const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0)) removeDir(d);
});

describe('a slow processor facing a backlog', () => {
  it('at_least_once: commits during the drain, complete output, bounded memory', async () => {
    const started = Date.now();
    const input = await createTopic(uniqueName('f4-in'), 3);
    const output = await createTopic(uniqueName('f4-out'), 3);
    const applicationId = uniqueName('f4-alos');
    const stateDir = tempDir('kp-f4-');
    dirs.push(stateDir);
    const keyed = new KeyedInput(input, 1_000);
    await keyed.produce(RECORDS);

    const app = new AppProcess(
      {
        topology: 'slow',
        topics: { input, output },
        applicationId,
        stateDir,
        guarantee: 'at_least_once',
        busyWaitMicros: BUSY_MICROS,
        // Default client settings (session timeout, heartbeats, fetch sizes); commits every 2 s.
        config: { commitIntervalMs: COMMIT_INTERVAL_MS },
        statsIntervalMs: 500,
      },
      'slow app',
    );
    await app.waitForRunning(60_000);
    const drainStarted = Date.now();

    // Watch the drain from outside: the group's committed offsets and the output's end offsets.
    const commitsSeen: Array<{ atS: number; committed: number }> = [];
    let lastCommitted = 0;
    let outputEnd = 0;
    while (Date.now() - drainStarted < DRAIN_TIMEOUT_MS) {
      const committed = (await committedOffsets(applicationId, input)).reduce((n, o) => n + Number(o), 0);
      outputEnd = await endOffsetSum(output);
      if (committed > lastCommitted) {
        commitsSeen.push({ atS: seconds(drainStarted), committed });
        lastCommitted = committed;
      }
      if (committed >= RECORDS && outputEnd >= RECORDS) break;
      if (app.states().includes('ERROR') || !app.alive) break;
      await sleep(1_000);
    }
    const drainS = seconds(drainStarted);
    const out = await readCommitted(output, 60_000);
    const seen = new Uint8Array(RECORDS);
    let duplicates = 0;
    for (const r of out) {
      const i = Number(r.value!.toString());
      if (seen[i]) duplicates++;
      seen[i] = 1;
    }
    const lost = seen.reduce((n, s) => n + (s ? 0 : 1), 0);
    const stats = app.lastStats();
    // Commits the group saw before the output was complete.
    const commitsDuringDrain = commitsSeen.filter((c) => c.committed < RECORDS).length;
    const rebalances = app.states().filter((s) => s === 'REBALANCING').length - 1;
    const closedCleanly = await app.stop();
    const final = app.lastStats();
    figures('4 slow backlog alos', {
      recordsIn: keyed.produced,
      outputRecords: out.length,
      duplicates,
      lost,
      busyMicrosPerRecord: BUSY_MICROS,
      drainS,
      commitsSeenByGroup: commitsSeen.map((c) => `${c.committed}@${c.atS}s`),
      commitsDuringDrain,
      appCommits: final?.commits ?? stats?.commits,
      processed: final?.processed ?? stats?.processed,
      rebalancesAfterStart: rebalances,
      states: app.states(),
      maxRssMiB: final?.maxRssMiB ?? stats?.maxRssMiB,
      rssBoundMiB: MAX_RSS_MIB,
      durationS: seconds(started),
    });

    expect(app.states(), app.tail()).not.toContain('ERROR');
    expect(lost, app.tail()).toBe(0);
    // Progress is committed while the backlog drains, not only once it is gone.
    expect(commitsDuringDrain, app.tail()).toBeGreaterThanOrEqual(3);
    expect(final?.maxRssMiB ?? stats?.maxRssMiB ?? Number.POSITIVE_INFINITY).toBeLessThan(MAX_RSS_MIB);
    expect(closedCleanly).toBe(true);
  }, 240_000);
});
