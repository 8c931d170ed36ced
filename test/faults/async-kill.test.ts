/**
 * A per-key count behind an asynchronous step (mapValuesAsync, calls that settle after 0-3 ms,
 * 16 in flight per task) under exactly_once_v2, SIGKILLed three times while input flows and
 * restarted on the same state directory. Calls in flight at a kill are abandoned uncommitted
 * and redone by the next incarnation; the committed output must be exact: every key's last
 * count is its number of input records, and each key's counts strictly increase (no record's
 * outputs committed without its offset, none applied twice, none lost, per-key order kept).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTopic, uniqueName } from '../support/kafka.ts';
import {
  AppProcess,
  type AppSpec,
  committedSum,
  countFigures,
  endOffsetSum,
  figures,
  firstDuplicateHistory,
  KeyedInput,
  killAll,
  removeDir,
  seconds,
  tempDir,
  waitForCounts,
  waitUntil,
} from './support.ts';

/** Chunks stop once this much input was produced (each kill still finds a backlog). */
const STREAMED_MAX = 30_000;
const KILLS = 3;
const KEYS = 50;
const BACKLOG = 4_000;
const CHUNK = 300;

const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0)) removeDir(d);
});

describe('asynchronous step under SIGKILL, exactly_once_v2', () => {
  it('keeps a count behind mapValuesAsync exact, with no duplicate update', async () => {
    const started = Date.now();
    const input = await createTopic(uniqueName('f8-in'), 3);
    const output = await createTopic(uniqueName('f8-out'), 3);
    const applicationId = uniqueName('f8-eos');
    const stateDir = tempDir('kp-f8-');
    dirs.push(stateDir);
    const spec: AppSpec = {
      topology: (process.env.KP_F8_TOPOLOGY as 'count' | undefined) ?? 'async-count',
      topics: { input, output },
      applicationId,
      stateDir,
      guarantee: 'exactly_once_v2',
      // No record cache: every update is emitted, so a record applied twice shows as a repeated count.
      config: {
        commitIntervalMs: 100,
        cacheMaxBytes: 0,
        client: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 },
      },
    };
    const keyed = new KeyedInput(input, KEYS);
    const kills: Array<{ outputBefore: number; outputAtKill: number; uncommittedAtKill: number }> = [];
    for (let k = 1; k <= KILLS; k++) {
      await keyed.produce(BACKLOG);
      const child = new AppProcess(spec, `incarnation ${k}`);
      await child.waitForRunning(60_000);
      const outputBefore = await endOffsetSum(output, 'read_committed');
      const committedBefore = await committedSum(applicationId, input);
      const atKill = await waitUntil(
        async () => {
          if (keyed.produced < STREAMED_MAX) await keyed.produce(CHUNK);
          const out = await endOffsetSum(output, 'read_committed');
          if (out <= outputBefore) return undefined;
          const committed = await committedSum(applicationId, input);
          if (committed - committedBefore < BACKLOG / 2) return undefined;
          const uncommitted = (await endOffsetSum(input)) - committed;
          return uncommitted > 0 ? { out, uncommitted } : undefined;
        },
        60_000,
        `incarnation ${k}: committed output beyond ${outputBefore} and ${BACKLOG / 2} input records, with input still uncommitted`,
        50,
        () => child.tail(),
      );
      await child.kill();
      kills.push({ outputBefore, outputAtKill: atKill.out, uncommittedAtKill: atKill.uncommitted });
    }
    await keyed.produce(BACKLOG);
    const last = new AppProcess(spec, 'last incarnation');
    const check = await waitForCounts(output, keyed.expected, 120_000, undefined, () => last.tail());
    const closedCleanly = await last.stop();

    figures('8 async step sigkill eos', {
      recordsIn: await endOffsetSum(input),
      ...countFigures(check),
      kills: kills.length,
      uncommittedAtKill: kills.map((k) => k.uncommittedAtKill),
      durationS: seconds(started),
    });
    expect(kills).toHaveLength(KILLS);
    for (const k of kills) {
      expect(k.outputAtKill).toBeGreaterThan(k.outputBefore);
      expect(k.uncommittedAtKill).toBeGreaterThan(0);
    }
    expect(check.splitKeys).toEqual([]);
    expect(check.duplicates.slice(0, 10), firstDuplicateHistory(check)).toEqual([]);
    expect(check.short.slice(0, 10), last.tail()).toEqual([]);
    expect(check.over.slice(0, 10)).toEqual([]);
    expect(check.unexpected).toEqual([]);
    expect(check.latest).toEqual(keyed.expected);
    expect(closedCleanly).toBe(true);
  }, 300_000);
});
