/**
 * Two members run a per-key count under exactly_once_v2 while the input keeps flowing. One is
 * frozen with SIGSTOP past its session timeout, in the middle of its work: the other takes its
 * tasks over. Then the frozen one is resumed with SIGCONT, a zombie that still believes it owns
 * its tasks and has an open transaction. It must be fenced: no update of a key may appear
 * twice in the committed output, and the final counts are exact.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTopic, uniqueName } from '../support/kafka.ts';
import {
  AppProcess,
  type AppSpec,
  countFigures,
  endOffsetSum,
  figures,
  firstDuplicateHistory,
  KeyedInput,
  killAll,
  removeDir,
  seconds,
  sleep,
  tempDir,
  waitForCounts,
  waitUntil,
} from './support.ts';

const KEYS = 60;
const SESSION_TIMEOUT_MS = 6_000;

const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0)) removeDir(d);
});

describe('a member frozen past its session timeout, then resumed', () => {
  it('exactly_once_v2: the zombie is fenced, no duplicate update, counts exact', async () => {
    const started = Date.now();
    const input = await createTopic(uniqueName('f3-in'), 2);
    const output = await createTopic(uniqueName('f3-out'), 2);
    const applicationId = uniqueName('f3-eos');
    const spec = (name: string): AppSpec => {
      const stateDir = tempDir(`kp-f3-${name}-`);
      dirs.push(stateDir);
      return {
        topology: 'count',
        topics: { input, output },
        applicationId,
        stateDir,
        guarantee: 'exactly_once_v2',
        config: {
          commitIntervalMs: 100,
          client: { sessionTimeoutMs: SESSION_TIMEOUT_MS, heartbeatIntervalMs: 500 },
        },
      };
    };
    const keyed = new KeyedInput(input, KEYS);
    const a = new AppProcess(spec('a'), 'a');
    await a.waitForRunning(60_000);
    const b = new AppProcess(spec('b'), 'b');
    await waitUntil(
      () => {
        const sa = a.lastStats();
        const sb = b.lastStats();
        return sa?.state === 'RUNNING' &&
          sb?.state === 'RUNNING' &&
          sa.active.length === 1 &&
          sb.active.length === 1
          ? true
          : undefined;
      },
      60_000,
      'one task each',
      100,
      () => `${a.tail()}\n${b.tail()}`,
    );

    keyed.feed(200, 100);
    // Freeze `a` in the middle of its work: once it has processed records it was fed since both ran.
    const aProcessedBefore = a.lastStats()!.processed;
    await a.waitForStats((s) => s.processed >= aProcessedBefore + 400, 30_000, 'a processing the stream');
    const aTask = a.lastStats()!.active[0]!;
    a.freeze();
    const frozenAt = Date.now();
    const aProcessedAtFreeze = a.lastStats()!.processed;

    // `b` takes the frozen member's task over and commits output for it.
    const takeover = await b.waitForStats(
      (s) => s.state === 'RUNNING' && s.active.includes(aTask) && s.active.length === 2,
      60_000,
      `b owning ${aTask} as well`,
    );
    const outputAtTakeover = await endOffsetSum(output, 'read_committed');
    await waitUntil(
      async () => ((await endOffsetSum(output, 'read_committed')) > outputAtTakeover ? true : undefined),
      30_000,
      'committed output from b after the takeover',
      200,
      () => b.tail(),
    );
    const minFrozen = SESSION_TIMEOUT_MS + 1_000 - (Date.now() - frozenAt);
    if (minFrozen > 0) await sleep(minFrozen);
    const eventsAtResume = a.events.length;
    a.resume();
    const frozenMs = Date.now() - frozenAt;

    // The zombie wakes up; give it time to try to finish its work and to rejoin.
    let zombieRejoined = true;
    try {
      await waitUntil(
        () => {
          const sa = a.lastStats();
          const sb = b.lastStats();
          return sa &&
            sa.at > frozenAt + frozenMs &&
            sa.state === 'RUNNING' &&
            sa.active.length === 1 &&
            sb?.state === 'RUNNING' &&
            sb.active.length === 1
            ? true
            : undefined;
        },
        45_000,
        'a back with one task',
        200,
      );
    } catch {
      zombieRejoined = false;
    }
    await sleep(2_000);
    await keyed.stopFeeding();
    const check = await waitForCounts(
      output,
      keyed.expected,
      60_000,
      undefined,
      () => `${a.tail()}\n${b.tail()}`,
    );
    const aStatesAfterResume = a.events
      .slice(eventsAtResume)
      .filter((e) => e.event === 'state')
      .map((e) => e.state);
    const maxRssMiB = Math.max(a.lastStats()?.maxRssMiB ?? 0, b.lastStats()?.maxRssMiB ?? 0);
    const [aClosed, bClosed] = await Promise.all([a.stop(), b.stop()]);
    figures('3 frozen member eos', {
      recordsIn: keyed.produced,
      ...countFigures(check),
      frozenS: frozenMs / 1000,
      sessionTimeoutS: SESSION_TIMEOUT_MS / 1000,
      takeoverAfterS: (takeover.at - frozenAt) / 1000,
      aProcessedAtFreeze,
      aStatesAfterResume,
      zombieRejoined,
      maxRssMiB,
      durationS: seconds(started),
    });

    expect(frozenMs).toBeGreaterThan(SESSION_TIMEOUT_MS);
    expect(check.splitKeys).toEqual([]);
    expect(
      check.duplicates.slice(0, 10),
      `${firstDuplicateHistory(check)}\n${a.tail()}\n${b.tail()}`,
    ).toEqual([]);
    expect(check.short.slice(0, 10)).toEqual([]);
    expect(check.over.slice(0, 10)).toEqual([]);
    expect(check.latest).toEqual(keyed.expected);
    expect(aClosed && bClosed).toBe(true);
  }, 240_000);
});
