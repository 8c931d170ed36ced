import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateDirectory, StateDirectoryError, TaskLockedByThreadError } from '../src/state-directory.ts';
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

  it('creates <stateDir>/<applicationId> when it is made', () => {
    const stateDir = join(tmp.dir, 'nested', 'state');
    const state = new StateDirectory(stateDir, 'app');
    expect(statSync(state.appDir).isDirectory()).toBe(true);
    expect(state.appDir).toBe(join(stateDir, 'app'));
  });

  it('a stateDir under a regular file fails naming the stateDir, the OS reason and the fix', () => {
    const file = join(tmp.dir, 'file');
    writeFileSync(file, 'x');
    const stateDir = join(file, 'state');
    const error = catching(() => new StateDirectory(stateDir, 'app'));
    expect(error).toBeInstanceOf(StateDirectoryError);
    expect(error).toMatchObject({ stateDir, path: join(stateDir, 'app'), code: 'ENOTDIR' });
    expect(error.message).toBe(
      `stateDir "${stateDir}" cannot be used: ${join(stateDir, 'app')} cannot be created or written (ENOTDIR, a part of the path is a file, not a directory): set stateDir to a directory this process can create and write to`,
    );
  });

  it('an application directory that is a file, or a task directory that is one', () => {
    writeFileSync(join(tmp.dir, 'app'), 'x');
    expect(() => new StateDirectory(tmp.dir, 'app')).toThrow(
      `stateDir "${tmp.dir}" cannot be used: ${join(tmp.dir, 'app')} cannot be created or written (EEXIST, it exists and is not a directory)`,
    );
    const state = new StateDirectory(tmp.dir, 'other');
    writeFileSync(join(state.appDir, '0_0'), 'x');
    expect(() => state.lock('0_0')).toThrow(StateDirectoryError);
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

  it("refuses a lock another thread of this process holds, until the process releases that thread's locks", () => {
    const state = new StateDirectory(tmp.dir, 'app');
    const lockFile = join(state.taskDir('0_1'), '.lock');
    writeFileSync(lockFile, `${process.pid}:9999`); // a worker thread of this process
    const error = catching(() => state.lock('0_1'));
    expect(error).toBeInstanceOf(TaskLockedByThreadError);
    expect(error.message).toBe(
      `State directory ${join(tmp.dir, 'app', '0_1')} is locked by thread 9999 of this process: task 0_1 is open in another stream thread`,
    );
    expect(() => state.wipe('0_1')).toThrow(/locked by process \d+ \(thread 9999\)/);
    state.releaseThreadLocks(1234); // another thread's: this lock stays
    expect(existsSync(lockFile)).toBe(true);
    state.releaseThreadLocks(9999);
    state.lock('0_1');
    expect(readFileSync(lockFile, 'utf8')).toBe(String(process.pid));
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

function catching(f: () => unknown): Error {
  try {
    f();
  } catch (error) {
    return error as Error;
  }
  throw new Error('did not throw');
}
