/**
 * Damage in a stopped instance's state directory: one task's SQLite file is overwritten with
 * garbage, the other task's checkpoint (the kp_checkpoint table kept in the same database as
 * its data) is deleted. On restart both tasks must restore from their changelogs, never keep
 * state they cannot vouch for, and the counts continue exactly (exactly_once_v2).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { createTopic, uniqueName } from '../support/kafka.ts';
import {
  AppProcess,
  type AppSpec,
  countFigures,
  figures,
  firstDuplicateHistory,
  KeyedInput,
  killAll,
  removeDir,
  seconds,
  taskDirs,
  tempDir,
  waitForCounts,
  waitForInputCommitted,
} from './support.ts';

const RECORDS = 20_000;
const MORE = 2_000;
const KEYS = 200;

const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0)) removeDir(d);
});

describe('a damaged state directory', () => {
  it('exactly_once_v2: a corrupt database and a deleted checkpoint are restored, counts exact', async () => {
    const started = Date.now();
    const input = await createTopic(uniqueName('f8-in'), 2);
    const output = await createTopic(uniqueName('f8-out'), 2);
    const applicationId = uniqueName('f8-eos');
    const stateDir = tempDir('kp-f8-');
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
    await keyed.produce(RECORDS);
    const first = new AppProcess(spec, 'first');
    await waitForInputCommitted(applicationId, [input], 90_000, () => first.tail());
    expect(await first.stop()).toBe(true);
    expect(first.restored().reduce((n, e) => n + (e.restored as number), 0)).toBe(0);

    // Damage the stopped instance's state.
    const tasks = taskDirs(stateDir);
    expect([...tasks.keys()].sort()).toEqual(['0_0', '0_1']);
    const corrupt = join(tasks.get('0_0')!, 'state.sqlite');
    expect(existsSync(corrupt)).toBe(true);
    writeFileSync(corrupt, 'this is not a database, whatever it was before'.repeat(100));
    const db = new DatabaseSync(join(tasks.get('0_1')!, 'state.sqlite'));
    const checkpointRows = (db.prepare('SELECT count(*) AS n FROM kp_checkpoint').get() as { n: number }).n;
    db.exec('DELETE FROM kp_checkpoint');
    db.close();

    const second = new AppProcess(spec, 'restarted');
    await second.waitForRunning(90_000);
    const restored = new Map<string, number>();
    for (const e of second.restored())
      restored.set(e.taskId as string, (restored.get(e.taskId as string) ?? 0) + (e.restored as number));
    await keyed.produce(MORE);
    await waitForInputCommitted(applicationId, [input], 60_000, () => second.tail());
    const check = await waitForCounts(output, keyed.expected, 30_000, undefined, () => second.tail());
    const warnings = second.log.filter((l) => /unreadable|corrupt|NOTADB/i.test(l)).length;
    const closedCleanly = await second.stop();
    figures('8 damaged state dir eos', {
      recordsIn: keyed.produced,
      ...countFigures(check),
      checkpointRowsDeleted: checkpointRows,
      restoredCorruptTask: restored.get('0_0') ?? 0,
      restoredNoCheckpointTask: restored.get('0_1') ?? 0,
      corruptionWarnings: warnings,
      maxRssMiB: second.lastStats()?.maxRssMiB,
      durationS: seconds(started),
    });

    expect(checkpointRows).toBeGreaterThan(0);
    // Both tasks restored their stores (every key at least once), as neither had state to trust.
    expect(restored.get('0_0') ?? 0).toBeGreaterThanOrEqual(KEYS / 4);
    expect(restored.get('0_1') ?? 0).toBeGreaterThanOrEqual(KEYS / 4);
    expect(check.splitKeys).toEqual([]);
    expect(check.duplicates.slice(0, 10), firstDuplicateHistory(check)).toEqual([]);
    expect(check.short.slice(0, 10), second.tail()).toEqual([]);
    expect(check.over.slice(0, 10)).toEqual([]);
    expect(check.latest).toEqual(keyed.expected);
    expect(closedCleanly).toBe(true);
  }, 240_000);
});
