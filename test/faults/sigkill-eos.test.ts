/**
 * A per-key count under exactly_once_v2, SIGKILLed ten times over 200,000 input records and
 * restarted on the same state directory each time. The committed output must be exact: every
 * key's last count is its number of input records, and each key's emitted counts strictly
 * increase (no update applied twice, none lost).
 *
 * Each kill lands mid-stream by construction, not by timing: every incarnation finds a backlog
 * and more input keeps arriving while it runs; it is killed once its committed output has grown
 * since it started, it has committed at least half a backlog of input, and the group still has
 * input it has not committed.
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

const RECORDS = 200_000;
const KILLS = 10;
const KEYS = 100;
/** Produced before each incarnation starts, and then in chunks of CHUNK until it is killed. */
const BACKLOG = 10_000;
const CHUNK = 300;

const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0)) removeDir(d);
});

describe('SIGKILL x10 under exactly_once_v2', () => {
  it('keeps the counts exact over 200,000 records, with no duplicate update', async () => {
    const started = Date.now();
    const input = await createTopic(uniqueName('f1-in'), 3);
    const output = await createTopic(uniqueName('f1-out'), 3);
    const applicationId = uniqueName('f1-eos');
    const stateDir = tempDir('kp-f1-');
    dirs.push(stateDir);
    const spec: AppSpec = {
      topology: 'count',
      topics: { input, output },
      applicationId,
      stateDir,
      guarantee: 'exactly_once_v2',
      config: { commitIntervalMs: 100, client: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 } },
    };
    const keyed = new KeyedInput(input, KEYS);
    const expected = keyed.expected;
    const produceNext = async (n: number) => {
      if (keyed.produced + n > RECORDS)
        throw new Error(`the kills used up the input budget (${keyed.produced} + ${n} > ${RECORDS} records)`);
      await keyed.produce(n);
    };

    const kills: Array<{
      outputBefore: number;
      outputAtKill: number;
      uncommittedAtKill: number;
      committedByIncarnation: number;
      streamed: number;
      upMs: number;
    }> = [];
    let maxRssMiB = 0;
    for (let k = 1; k <= KILLS; k++) {
      // A backlog waits for each incarnation (the input that arrived while it was down); then
      // the stream keeps flowing in small chunks until the kill.
      await produceNext(BACKLOG);
      const child = new AppProcess(spec, `incarnation ${k}`);
      await child.waitForRunning(60_000);
      const outputBefore = await endOffsetSum(output, 'read_committed');
      const committedBefore = await committedSum(applicationId, input);
      let streamed = 0;
      const atKill = await waitUntil(
        async () => {
          await produceNext(CHUNK);
          streamed += CHUNK;
          const out = await endOffsetSum(output, 'read_committed');
          if (out <= outputBefore) return undefined;
          const committed = await committedSum(applicationId, input);
          if (committed - committedBefore < BACKLOG / 2) return undefined;
          const uncommitted = (await endOffsetSum(input)) - committed;
          return uncommitted > 0 ? { out, uncommitted, committed: committed - committedBefore } : undefined;
        },
        60_000,
        `incarnation ${k}: committed output beyond ${outputBefore} and ${BACKLOG / 2} input records, with input still uncommitted`,
        50,
        () => child.tail(),
      );
      await child.kill();
      kills.push({
        outputBefore,
        outputAtKill: atKill.out,
        uncommittedAtKill: atKill.uncommitted,
        committedByIncarnation: atKill.committed,
        streamed,
        upMs: Date.now() - child.startedAt,
      });
      maxRssMiB = Math.max(maxRssMiB, child.lastStats()?.maxRssMiB ?? 0);
    }
    // What remains of the input is the last incarnation's backlog.
    await produceNext(RECORDS - keyed.produced);

    const drainStarted = Date.now();
    const last = new AppProcess(spec, 'last incarnation');
    const check = await waitForCounts(output, expected, 120_000, undefined, () => last.tail());
    const drainS = seconds(drainStarted);
    const closedCleanly = await last.stop();
    maxRssMiB = Math.max(maxRssMiB, last.lastStats()?.maxRssMiB ?? 0);
    const inputRecords = await endOffsetSum(input);

    figures('1 sigkill x10 eos', {
      recordsIn: inputRecords,
      ...countFigures(check),
      kills: kills.length,
      committedByIncarnation: kills.map((k) => k.committedByIncarnation),
      uncommittedAtKill: kills.map((k) => k.uncommittedAtKill),
      streamedPerIncarnation: kills.map((k) => k.streamed),
      committedOutputGrowthAtKill: kills.map((k) => k.outputAtKill - k.outputBefore),
      incarnationUpS: kills.map((k) => Math.round(k.upMs / 100) / 10),
      finalDrainS: drainS,
      maxRssMiB,
      durationS: seconds(started),
    });

    expect(inputRecords).toBe(RECORDS);
    expect(kills).toHaveLength(KILLS);
    // Every kill landed mid-stream: output committed since the restart, input not yet committed.
    for (const k of kills) {
      expect(k.outputAtKill).toBeGreaterThan(k.outputBefore);
      expect(k.uncommittedAtKill).toBeGreaterThan(0);
      expect(k.committedByIncarnation).toBeGreaterThanOrEqual(BACKLOG / 2);
    }
    expect(check.splitKeys).toEqual([]);
    expect(check.duplicates.slice(0, 10), firstDuplicateHistory(check)).toEqual([]);
    expect(check.short.slice(0, 10), last.tail()).toEqual([]);
    expect(check.over.slice(0, 10)).toEqual([]);
    expect(check.unexpected).toEqual([]);
    expect(check.latest).toEqual(expected);
    expect(closedCleanly).toBe(true);
  }, 330_000);
});
