/**
 * The broker is stopped for about 15 s while a per-key count runs with default settings, then
 * started again. The application must recover by itself: back to RUNNING without a restart,
 * its output continuing. Under exactly_once_v2 the committed output is exact (no duplicate
 * update, nothing lost); under at_least_once nothing is lost (every key present, counts never
 * short).
 *
 * This file stops the shared broker: run it alone, holding the broker lock. The broker is
 * started again before each case ends, also when it fails.
 */
import type { ProcessingGuarantee } from '@kafka-pattern/streams-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createTopic, uniqueName } from '../support/kafka.ts';
import {
  AppProcess,
  Broker,
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

const KEYS = 50;
const BEFORE = 6_000;
const AFTER = 6_000;
const DOWN_MS = 15_000;

const broker = new Broker();
const dirs: string[] = [];
afterEach(async () => {
  await broker.ensureStarted();
  await killAll();
  for (const d of dirs.splice(0)) removeDir(d);
});
afterAll(() => broker.ensureStarted());

const FAILED = new Set(['ERROR', 'PENDING_ERROR', 'PENDING_SHUTDOWN', 'NOT_RUNNING']);

async function brokerRestart(guarantee: ProcessingGuarantee) {
  const started = Date.now();
  const tag = guarantee === 'exactly_once_v2' ? 'eos' : 'alos';
  const input = await createTopic(uniqueName(`f2-${tag}-in`), 3);
  const output = await createTopic(uniqueName(`f2-${tag}-out`), 3);
  const applicationId = uniqueName(`f2-${tag}`);
  const stateDir = tempDir('kp-f2-');
  dirs.push(stateDir);
  const keyed = new KeyedInput(input, KEYS);
  const expected = keyed.expected;
  const produceNext = (n: number) => keyed.produce(n);
  // Default settings: only what names the application and where its state goes.
  const app = new AppProcess(
    { topology: 'count', topics: { input, output }, applicationId, stateDir, guarantee },
    `${tag} app`,
  );
  const failed = () => app.states().find((s) => FAILED.has(s));
  await app.waitForRunning(60_000);

  // The stream flows; the broker goes away once output has been committed.
  for (let i = 0; i < BEFORE; i += 500) {
    await produceNext(500);
    await sleep(50);
  }
  const outputBeforeStop = await waitUntil(
    async () => {
      const n = await endOffsetSum(output, 'read_committed');
      return n > 0 ? n : undefined;
    },
    60_000,
    'committed output before the broker stops',
    200,
    () => app.tail(),
  );
  const eventsAtStop = app.events.length;
  const stopAt = Date.now();
  let outage = 0;
  try {
    await broker.stop();
    const stoppedS = seconds(stopAt);
    await sleep(DOWN_MS);
    await broker.start();
    outage = Date.now() - stopAt;
    console.log(
      `[faults] 2 broker restart ${tag}: broker stopped in ${stoppedS} s, back after ${outage / 1000} s`,
    );
  } finally {
    await broker.ensureStarted();
  }
  const upAt = Date.now();

  // Recovery: the same process, RUNNING again, never failed.
  const recovered = await waitUntil(
    () => {
      const f = failed();
      if (f) throw new Error(`${tag} app went to ${f} after the broker restart\n${app.tail()}`);
      if (!app.alive) throw new Error(`${tag} app exited after the broker restart\n${app.tail()}`);
      return app.state === 'RUNNING' ? Date.now() : undefined;
    },
    60_000,
    'RUNNING after the broker restart',
    200,
    () => app.tail(),
  );
  await produceNext(AFTER);
  const outputAfterRestart = await waitUntil(
    async () => {
      if (failed()) throw new Error(`${tag} app went to ${failed()}\n${app.tail()}`);
      const n = await endOffsetSum(output, 'read_committed');
      return n > outputBeforeStop ? n : undefined;
    },
    60_000,
    'committed output after the broker restart',
    500,
    () => app.tail(),
  );
  const check = await waitForCounts(output, expected, 60_000, undefined, () => app.tail());
  const statesAfterStop = app.events
    .slice(eventsAtStop)
    .filter((e) => e.event === 'state')
    .map((e) => `${e.state}@+${((e.at - stopAt) / 1000).toFixed(1)}s`);
  const stats = app.lastStats();
  // Judged before the clean close below, which goes through PENDING_SHUTDOWN by design.
  const failedState = failed();
  const closedCleanly = await app.stop();
  figures(`2 broker restart ${tag}`, {
    recordsIn: keyed.produced,
    ...countFigures(check),
    outageS: outage / 1000,
    runningAgainAfterUpS: (recovered - upAt) / 1000,
    statesAfterStop,
    outputBeforeStop,
    outputAfterRestart,
    commits: stats?.commits,
    maxRssMiB: stats?.maxRssMiB,
    durationS: seconds(started),
  });
  return { check, expected, app, failed: failedState, closedCleanly };
}

describe('broker stopped and started mid-stream (default settings)', () => {
  it('exactly_once_v2: the application recovers by itself and the output is exact', async () => {
    const { check, expected, app, failed, closedCleanly } = await brokerRestart('exactly_once_v2');
    expect(failed).toBeUndefined();
    expect(check.splitKeys).toEqual([]);
    expect(check.duplicates.slice(0, 10), firstDuplicateHistory(check)).toEqual([]);
    expect(check.short.slice(0, 10), app.tail()).toEqual([]);
    expect(check.over.slice(0, 10)).toEqual([]);
    expect(check.latest).toEqual(expected);
    expect(closedCleanly).toBe(true);
  }, 240_000);

  it('at_least_once: the application recovers by itself and nothing is lost', async () => {
    const { check, app, failed, closedCleanly } = await brokerRestart('at_least_once');
    expect(failed).toBeUndefined();
    expect(check.missing).toEqual([]);
    expect(check.short.slice(0, 10), app.tail()).toEqual([]);
    expect(closedCleanly).toBe(true);
  }, 240_000);
});
