/**
 * Restoration from checkpoints with real SQLite state directories: a restarted instance reads
 * only the changelog tail written after its checkpoint; without its state (deleted or unreadable)
 * it restores everything; either way the counts continue exactly.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SQLITE_STATE_FILE } from '@kafka-pattern/state-store';
import {
  type ProcessingGuarantee,
  type RestoreProgress,
  Serdes,
  SessionWindows,
  StreamsBuilder,
  TimeWindows,
} from '@kafka-pattern/streams-core';
import { describe, expect, it } from 'vitest';
import { counting, eventually, type Harness, latest, longs, rec, useHarness } from '../support/harness.ts';

const S = Serdes.String();
const harness = useHarness();
const APP = 'restore';
const CHANGELOG = `${APP}-counts-changelog`;

const keys = ['k0', 'k1', 'k2'];

/** Runs one incarnation on `stateDir`: processes `records` more inputs, then closes cleanly. */
async function incarnation(h: Harness, guarantee: ProcessingGuarantee, stateDir: string, records: number) {
  const app = h.app(counting(), {
    applicationId: APP,
    processingGuarantee: guarantee,
    stateDir,
    cacheMaxBytes: 0,
    commitIntervalMs: 0,
  });
  const restores: RestoreProgress[] = [];
  app.setRestoreListener({ onRestoreEnd: (p) => restores.push(p) });
  await app.start();
  await app.waitForRunning(5_000);
  const restored = app.metrics().restoredRecords;
  const countsAtStart = new Map(keys.map((k) => [k, app.store<string, number>('counts').get(k)]));
  const before = h.kafka.endOffset('in', 0);
  h.kafka.produce(Array.from({ length: records }, (_, i) => rec('in', keys[(Number(before) + i) % 3]!, 'x')));
  const target = before + BigInt(records);
  await eventually(() => h.kafka.committedOffset(APP, 'in', 0) === target, `offset ${target} committed`);
  await app.close();
  return { restored, restores, countsAtStart };
}

/** What the counts are after the first `n` inputs (keys round robin). */
function expectedCounts(n: number): Map<string, number | undefined> {
  return new Map(keys.map((k, i) => [k, n > i ? Math.floor((n - 1 - i) / 3) + 1 : undefined]));
}

describe.each(['exactly_once_v2', 'at_least_once'] as const)('restoration (%s)', (guarantee) => {
  it('a restarted instance restores only the changelog tail after its checkpoint; a deleted state dir restores all', async () => {
    const h = harness();
    h.kafka.createTopic('in', 1);
    h.kafka.createTopic('out', 1);
    const dirA = h.stateDir();
    const dirB = h.stateDir();

    const first = await incarnation(h, guarantee, dirA, 10);
    expect(first.restored).toBe(0);
    const lastRecordOfFirst = h.kafka.log(CHANGELOG).findLast((e) => e.kind === 'record')!.offset;
    const endAfterFirst = h.kafka.endOffset(CHANGELOG, 0);

    // Another instance (its own state dir) restores everything, then writes 5 more updates.
    const second = await incarnation(h, guarantee, dirB, 5);
    expect(second.restored).toBe(10);
    expect(second.restores.map((p) => [p.taskId, p.changelog, p.from, p.restored])).toEqual([
      ['0_0', CHANGELOG, 0n, 10],
    ]);
    expect(second.countsAtStart).toEqual(expectedCounts(10));

    // The first state dir comes back: only the 5 updates written after its checkpoint are read,
    // from just after the last record its state had (a commit marker may follow it) to the end.
    const endAfterSecond = h.kafka.endOffset(CHANGELOG, 0);
    const third = await incarnation(h, guarantee, dirA, 3);
    expect(third.restored).toBe(5);
    expect(third.restores).toHaveLength(1);
    expect(third.restores[0]!.from).toBeGreaterThan(lastRecordOfFirst);
    expect(third.restores[0]!.from).toBeLessThanOrEqual(endAfterFirst);
    expect(third.restores[0]!.to).toBe(endAfterSecond);
    expect(third.countsAtStart).toEqual(expectedCounts(15));

    // Without its state directory an instance restores every changelog record.
    rmSync(dirA, { recursive: true, force: true });
    const fourth = await incarnation(h, guarantee, dirA, 2);
    expect(fourth.restored).toBe(18);
    expect(fourth.countsAtStart).toEqual(expectedCounts(18));

    // Counts continued exactly across all four incarnations.
    const out = longs(h.kafka.records('out'));
    expect(out).toHaveLength(20);
    expect(latest(out)).toEqual(expectedCounts(20));
    expect(out.map(([, v]) => v)).toEqual(Array.from({ length: 20 }, (_, i) => Math.floor(i / 3) + 1));
  });
});

describe('restoration from an unreadable state file', () => {
  it('replaces it and restores everything from the changelog', async () => {
    const h = harness();
    h.kafka.createTopic('in', 1);
    h.kafka.createTopic('out', 1);
    const dir = h.stateDir();
    await incarnation(h, 'exactly_once_v2', dir, 4);
    const file = join(dir, APP, '0_0', SQLITE_STATE_FILE);
    for (const suffix of ['-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    writeFileSync(
      file,
      'this is not a database, it is long enough to have a header that is wrong...'.repeat(20),
    );
    const next = await incarnation(h, 'exactly_once_v2', dir, 2);
    expect(next.restored).toBe(4);
    expect(next.countsAtStart).toEqual(expectedCounts(4));
    expect(latest(longs(h.kafka.records('out')))).toEqual(expectedCounts(6));
  });
});

describe('restoration of window and session stores', () => {
  it('a new instance without state restores both from their changelogs', async () => {
    const h = harness();
    h.kafka.createTopic('in', 1);
    h.kafka.createTopic('out', 1);
    const topology = () => {
      const builder = new StreamsBuilder();
      const grouped = builder.stream('in', { key: S, value: S }).groupByKey();
      // Grace keeps the first window and sessions in their stores (retention is size + grace).
      grouped.windowedBy(TimeWindows.ofSizeAndGrace(60_000, 600_000)).count({ name: 'per-minute' });
      grouped.windowedBy(SessionWindows.ofInactivityGapAndGrace(10_000, 600_000)).count({ name: 'sessions' });
      return builder.build();
    };
    const base = 1_800_000_000_000;
    h.kafka.produce(
      [0, 1_000, 2_000, 61_000, 90_000].map((dt) => rec('in', 'a', 'x', { timestamp: base + dt })),
    );
    const config = { applicationId: 'windows', cacheMaxBytes: 0, commitIntervalMs: 0 };
    const first = h.app(topology(), config);
    await first.start();
    await eventually(() => h.kafka.committedOffset('windows', 'in', 0) === 5n, 'all committed');
    await first.close();
    const second = h.app(topology(), config);
    const restores: RestoreProgress[] = [];
    second.setRestoreListener({ onRestoreEnd: (p) => restores.push(p) });
    await second.start();
    await second.waitForRunning(5_000);
    expect(restores.map((p) => p.store).sort()).toEqual(['per-minute', 'sessions']);
    const minutes = second.store<string, number, 'window'>('per-minute', 'window');
    expect(minutes.fetch('a', base)).toBe(3);
    expect(minutes.fetch('a', base + 60_000)).toBe(2);
    const sessions = second.store<string, number, 'session'>('sessions', 'session');
    expect(
      sessions.fetch('a').map((kv) => [kv.key.window.start - base, kv.key.window.end - base, kv.value]),
    ).toEqual([
      [0, 2_000, 3],
      [61_000, 61_000, 1],
      [90_000, 90_000, 1],
    ]);
  });
});
