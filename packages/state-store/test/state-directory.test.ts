import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateDirectory } from '../src/state-directory.ts';
import { tempDir } from './support/backends.ts';

describe('StateDirectory', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.remove());

  it('lays out <stateDir>/<applicationId>/<taskId> and lists task directories', () => {
    const state = new StateDirectory(tmp.dir, 'word-count');
    expect(state.listTaskDirs()).toEqual([]);
    expect(state.taskDir('1_0')).toBe(join(tmp.dir, 'word-count', '1_0'));
    state.taskDir('0_1');
    expect(existsSync(join(tmp.dir, 'word-count', '0_1'))).toBe(true);
    expect(state.listTaskDirs()).toEqual(['0_1', '1_0']);
    expect(() => state.taskDir('../escape')).toThrow(/Invalid taskId/);
  });

  it('locks with our pid and unlocks', () => {
    const state = new StateDirectory(tmp.dir, 'app');
    state.lock('0_0');
    state.lock('0_0');
    const lockFile = join(tmp.dir, 'app', '0_0', '.lock');
    expect(readFileSync(lockFile, 'utf8')).toBe(String(process.pid));
    expect(state.isLocked('0_0')).toBe(true);
    state.unlock('0_0');
    expect(existsSync(lockFile)).toBe(false);
  });

  it('refuses a lock held by a live process', () => {
    const state = new StateDirectory(tmp.dir, 'app');
    const lockFile = join(state.taskDir('0_0'), '.lock');
    writeFileSync(lockFile, String(process.ppid)); // our parent: certainly alive
    expect(() => state.lock('0_0')).toThrow(
      `State directory ${join(tmp.dir, 'app', '0_0')} is locked by process ${process.ppid}: two instances of "app" must not share a stateDir`,
    );
    expect(readFileSync(lockFile, 'utf8')).toBe(String(process.ppid));
  });

  it('refuses a second instance in the same process', () => {
    new StateDirectory(tmp.dir, 'app').lock('0_0');
    expect(() => new StateDirectory(tmp.dir, 'app').lock('0_0')).toThrow(/locked by process \d+/);
  });

  it('takes over a stale lock whose process is gone', () => {
    const state = new StateDirectory(tmp.dir, 'app');
    const finished = spawnSync(process.execPath, ['-e', '']);
    const lockFile = join(state.taskDir('0_0'), '.lock');
    writeFileSync(lockFile, String(finished.pid));
    state.lock('0_0');
    expect(readFileSync(lockFile, 'utf8')).toBe(String(process.pid));
  });

  it('wipes a task but keeps a lock it holds', () => {
    const state = new StateDirectory(tmp.dir, 'app');
    const dir = state.taskDir('0_0');
    writeFileSync(join(dir, 'state.sqlite'), 'x');
    state.lock('0_0');
    state.wipe('0_0');
    expect(existsSync(join(dir, 'state.sqlite'))).toBe(false);
    expect(existsSync(join(dir, '.lock'))).toBe(true);
    state.unlock('0_0');
    state.wipe('0_0');
    expect(state.listTaskDirs()).toEqual([]);
  });
});
