/**
 * A tumbling-window count and an inner stream-stream join in one application under
 * exactly_once_v2, SIGKILLed three times while their inputs flow and restarted on the same
 * state directory. Event times come with the records, so the expected results are known: each
 * (key, window) count is exact and its emitted counts strictly increase, and every join pair is
 * emitted exactly once, none missing and none extra.
 */
import { Serdes } from '@kafka-pattern/streams-core';
import type { ConsumedRecord } from '@kafka-pattern/streams-core/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createTopic, record, uniqueName } from '../support/kafka.ts';
import {
  AppProcess,
  type AppSpec,
  checkCounts,
  countFigures,
  endOffsetSum,
  figures,
  firstDuplicateHistory,
  killAll,
  produceAll,
  readCommitted,
  removeDir,
  seconds,
  tempDir,
  uncommittedInput,
  waitForInputCommitted,
  waitForSettledOutput,
  waitUntil,
} from './support.ts';

const KILLS = 3;
const WINDOW_MS = 1_000;
const GRACE_MS = 3_600_000;
const JOIN_DIFF_MS = 100;
/** Event time advances this much per record; window and join keys cycle. */
const TICK_MS = 10;
const WINDOW_KEYS = 20;
const JOIN_KEYS = 4;
/** Event times start half an hour ago (the broker refuses timestamps far in the future), on a window boundary. */
const BASE = Math.floor((Date.now() - 1_800_000) / WINDOW_MS) * WINDOW_MS;
const CHUNK = 300;
/** Records per input produced before each incarnation (the backlog it finds), and at the end. */
const BACKLOG = 3_000;

const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0)) removeDir(d);
});

const windowed = Serdes.TimeWindowed(Serdes.String(), WINDOW_MS);

describe('windowed aggregation and stream-stream join under SIGKILL', () => {
  it('exactly_once_v2: window counts and join results exact', async () => {
    const started = Date.now();
    const windowInput = await createTopic(uniqueName('f7-win-in'), 2);
    const windowOutput = await createTopic(uniqueName('f7-win-out'), 2);
    const left = await createTopic(uniqueName('f7-left'), 2);
    const right = await createTopic(uniqueName('f7-right'), 2);
    const joinOutput = await createTopic(uniqueName('f7-join-out'), 2);
    const applicationId = uniqueName('f7-eos');
    const stateDir = tempDir('kp-f7-');
    dirs.push(stateDir);
    const spec: AppSpec = {
      topology: 'window-join',
      topics: { windowInput, windowOutput, left, right, joinOutput },
      applicationId,
      stateDir,
      guarantee: 'exactly_once_v2',
      windowSizeMs: WINDOW_MS,
      graceMs: GRACE_MS,
      joinDiffMs: JOIN_DIFF_MS,
      config: { commitIntervalMs: 100, client: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 } },
    };

    // Record i of each input: window key w<i mod 20> at BASE + 10 i; left L<i> at BASE + 10 i and
    // right R<i> at BASE + 10 i + 5 on join key j<i mod 4>.
    const windowCounts = new Map<string, number>();
    let produced = 0;
    const produceNext = async (n: number) => {
      const from = produced;
      produced += n;
      const records = [];
      for (let i = from; i < from + n; i++) {
        const ts = BASE + i * TICK_MS;
        const wk = `w${i % WINDOW_KEYS}`;
        const wkey = `${wk}@${ts - (ts % WINDOW_MS)}`;
        windowCounts.set(wkey, (windowCounts.get(wkey) ?? 0) + 1);
        records.push({ ...record(windowInput, wk, String(i)), timestamp: ts });
        records.push({ ...record(left, `j${i % JOIN_KEYS}`, `L${i}`), timestamp: ts });
        records.push({ ...record(right, `j${i % JOIN_KEYS}`, `R${i}`), timestamp: ts + 5 });
      }
      await produceAll(records);
    };
    const expectedJoins = () => {
      const pairs = new Set<string>();
      for (let i = 0; i < produced; i++) {
        for (let j = Math.max(0, i - 20); j < Math.min(produced, i + 21); j++) {
          const dt = Math.abs(i * TICK_MS - (j * TICK_MS + 5));
          if (i % JOIN_KEYS === j % JOIN_KEYS && dt <= JOIN_DIFF_MS) pairs.add(`L${i}&R${j}`);
        }
      }
      return pairs;
    };

    const kills: Array<{ uncommitted: number[]; windowGrowth: number; joinGrowth: number }> = [];
    const producedAtKill: number[] = [];
    let maxRssMiB = 0;
    for (let k = 1; k <= KILLS; k++) {
      await produceNext(BACKLOG);
      const child = new AppProcess(spec, `incarnation ${k}`);
      await child.waitForRunning(60_000);
      const [w0, j0] = await Promise.all([
        endOffsetSum(windowOutput, 'read_committed'),
        endOffsetSum(joinOutput, 'read_committed'),
      ]);
      // The inputs keep flowing; kill once both outputs have committed more since the restart
      // and input is still uncommitted.
      const at = await waitUntil(
        async () => {
          await produceNext(CHUNK);
          const [w, j] = await Promise.all([
            endOffsetSum(windowOutput, 'read_committed'),
            endOffsetSum(joinOutput, 'read_committed'),
          ]);
          if (w <= w0 || j <= j0) return undefined;
          const perInput = [
            await uncommittedInput(applicationId, windowInput),
            await uncommittedInput(applicationId, left),
            await uncommittedInput(applicationId, right),
          ];
          const uncommitted = perInput.reduce((a, b) => a + b, 0);
          return uncommitted > 0
            ? { uncommitted: perInput, windowGrowth: w - w0, joinGrowth: j - j0 }
            : undefined;
        },
        60_000,
        `incarnation ${k}: committed window and join output with input still uncommitted`,
        50,
        () => child.tail(),
      );
      await child.kill();
      kills.push(at);
      producedAtKill.push(produced);
      maxRssMiB = Math.max(maxRssMiB, child.lastStats()?.maxRssMiB ?? 0);
    }
    await produceNext(BACKLOG);
    const last = new AppProcess(spec, 'last incarnation');
    await waitForInputCommitted(applicationId, [windowInput, left, right], 90_000, () => last.tail());
    await waitForSettledOutput([windowOutput, joinOutput], 30_000);
    // Under exactly-once, outputs commit with the input offsets: all results are visible now.
    const joins = expectedJoins();
    const [windowOut, joinOut] = await Promise.all([readCommitted(windowOutput), readCommitted(joinOutput)]);
    const decodeWindow = (r: ConsumedRecord) => {
      const w = windowed.deserialize(windowOutput, r.key)!;
      return { key: `${w.key}@${w.window.start}`, count: Number(r.value!.readBigInt64BE(0)) };
    };
    const windowCheck = checkCounts(windowOut, windowCounts, decodeWindow);
    const duplicateHistory = firstDuplicateHistory(windowCheck, decodeWindow);
    const seen = new Map<string, number>();
    for (const r of joinOut) {
      const v = r.value!.toString();
      seen.set(v, (seen.get(v) ?? 0) + 1);
    }
    // The inputs themselves hold each record once (else a duplicate below would be the input's).
    const inputDuplicates = async (topic: string) => {
      const values = (await readCommitted(topic)).map((r) => r.value!.toString());
      return { records: values.length, duplicates: values.length - new Set(values).size };
    };
    const [leftIn, rightIn] = [await inputDuplicates(left), await inputDuplicates(right)];
    const joinDuplicates = [...seen].filter(([, n]) => n > 1).map(([v, n]) => `${v} x${n}`);
    const joinMissing = [...joins].filter((p) => !seen.has(p));
    const joinExtra = [...seen.keys()].filter((v) => !joins.has(v));
    // Where a duplicated pair sits in the output: partition@offset of each copy.
    const joinHistory = (pair: string | undefined) =>
      pair === undefined
        ? ''
        : joinOut
            .filter((r) => r.value!.toString() === pair.split(' ')[0])
            .map((r) => `p${r.partition}@${r.offset}`)
            .join(' ');
    const closedCleanly = await last.stop();
    maxRssMiB = Math.max(maxRssMiB, last.lastStats()?.maxRssMiB ?? 0);
    figures('7 window + join sigkill eos', {
      recordsInPerInput: produced,
      windows: windowCounts.size,
      window: countFigures(windowCheck),
      leftInput: leftIn,
      rightInput: rightIn,
      joinExpected: joins.size,
      joinOutputRecords: joinOut.length,
      joinDuplicates: joinDuplicates.length,
      joinMissing: joinMissing.length,
      joinExtra: joinExtra.length,
      kills: kills.length,
      uncommittedAtKillWindowLeftRight: kills.map((k) => k.uncommitted),
      producedAtKill,
      durationS: seconds(started),
      maxRssMiB,
    });

    expect(kills).toHaveLength(KILLS);
    expect([leftIn, rightIn]).toEqual([
      { records: produced, duplicates: 0 },
      { records: produced, duplicates: 0 },
    ]);
    expect(windowCheck.splitKeys.slice(0, 10)).toEqual([]);
    expect(windowCheck.duplicates.slice(0, 10), duplicateHistory).toEqual([]);
    expect(windowCheck.short.slice(0, 10), last.tail()).toEqual([]);
    expect(windowCheck.over.slice(0, 10)).toEqual([]);
    expect(windowCheck.unexpected).toEqual([]);
    expect(joinDuplicates.slice(0, 10), joinHistory(joinDuplicates[0])).toEqual([]);
    expect(joinMissing.slice(0, 10)).toEqual([]);
    expect(joinExtra.slice(0, 10)).toEqual([]);
    expect(closedCleanly).toBe(true);
  }, 240_000);
});
