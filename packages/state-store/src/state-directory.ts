// StateDirectory: the on-disk layout of an application's local state,
// `<stateDir>/<applicationId>/<taskId>/`, and the per-task lock that keeps two processes, or two
// threads of one process, from using the same task's state at once (which would corrupt it, or
// silently lose the exactly-once guarantee).
//
// A lock file holds its owner: `<pid>` for a process's main thread, `<pid>:<threadId>` for a
// worker thread. A process that is gone leaves stale locks anyone may take over; a worker thread
// that is gone leaves locks only its process can tell are stale (`releaseThreadLocks`).

import {
  accessSync,
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

const LOCK_FILE = '.lock';
const NAME = /^[A-Za-z0-9._-]+$/;
// How long a lock file without a pid counts as being written rather than abandoned.
const FRESH_LOCK_MS = 2_000;

/**
 * A task's lock is held by another thread of this process: a stream thread that has not closed
 * the task yet (it is moving between threads in a rebalance). Retry once that thread lets go.
 */
export class TaskLockedByThreadError extends Error {
  override name = 'TaskLockedByThreadError';
  readonly taskId: string;
  readonly ownerThreadId: number;
  constructor(dir: string, taskId: string, ownerThreadId: number) {
    super(
      `State directory ${dir} is locked by thread ${ownerThreadId} of this process: task ${taskId} is open in another stream thread`,
    );
    this.taskId = taskId;
    this.ownerThreadId = ownerThreadId;
  }
}

/**
 * The state directory cannot be created or written. The message names the stateDir, the path
 * that failed, the OS reason and the fix; `code` is the OS error code (ENOTDIR, EACCES, ...).
 */
export class StateDirectoryError extends Error {
  override name = 'StateDirectoryError';
  readonly stateDir: string;
  readonly path: string;
  readonly code: string | undefined;
  constructor(stateDir: string, path: string, error: unknown) {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const reason = (code && OS_REASONS[code]) ?? (error instanceof Error ? error.message : String(error));
    super(
      `stateDir "${stateDir}" cannot be used: ${path} cannot be created or written (${code ? `${code}, ` : ''}${reason}): ${(code && FIXES[code]) ?? 'set stateDir to a directory this process can create and write to'}`,
      { cause: error },
    );
    this.stateDir = stateDir;
    this.path = path;
    this.code = code;
  }
}

const OS_REASONS: Readonly<Record<string, string>> = {
  ENOTDIR: 'a part of the path is a file, not a directory',
  EEXIST: 'it exists and is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENAMETOOLONG: 'the path is too long for the file system',
  ELOOP: 'too many symbolic links in the path',
};

const FIXES: Readonly<Record<string, string>> = {
  EACCES:
    'give the user running this process write access there, or set stateDir to a directory it can write to',
  EPERM:
    'give the user running this process write access there, or set stateDir to a directory it can write to',
  EROFS: 'set stateDir to a directory on a writable file system',
  ENOSPC: 'free space on that file system, or set stateDir to a directory on another one',
  EDQUOT: 'free space within the quota, or set stateDir to a directory on another file system',
  ENAMETOOLONG: 'use a shorter stateDir or applicationId',
};

export class StateDirectory {
  readonly stateDir: string;
  readonly applicationId: string;
  /** `<stateDir>/<applicationId>` */
  readonly appDir: string;
  readonly #locked = new Set<string>();

  /**
   * Creates `<stateDir>/<applicationId>` if missing and checks that this process can write in
   * it; throws a StateDirectoryError naming the path, the OS reason and the fix when it cannot.
   */
  constructor(stateDir: string, applicationId: string) {
    checkName('applicationId', applicationId);
    this.stateDir = stateDir;
    this.applicationId = applicationId;
    this.appDir = join(stateDir, applicationId);
    this.#ensureDirectory(this.appDir);
  }

  /** The task's directory, created if missing. */
  taskDir(taskId: string): string {
    checkName('taskId', taskId);
    const dir = join(this.appDir, taskId);
    this.#ensureDirectory(dir);
    return dir;
  }

  #ensureDirectory(dir: string): void {
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK | constants.X_OK);
    } catch (error) {
      throw new StateDirectoryError(this.stateDir, dir, error);
    }
  }

  /**
   * Takes the task's exclusive lock: a lock file created with O_EXCL that holds our pid.
   * A lock left by a process that no longer exists is taken over. Locking a task this
   * instance already holds is a no-op.
   */
  lock(taskId: string): void {
    if (this.#locked.has(taskId)) return;
    const dir = this.taskDir(taskId);
    const lockPath = join(dir, LOCK_FILE);
    for (let attempt = 0; attempt < 3; attempt++) {
      let fd: number;
      try {
        fd = openSync(lockPath, 'wx');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const owner = readOwner(lockPath);
        if (owner !== undefined && owner.pid === process.pid && owner.thread !== threadId) {
          throw new TaskLockedByThreadError(dir, taskId, owner.thread);
        }
        if (owner !== undefined && isAlive(owner.pid)) {
          throw new Error(
            `State directory ${dir} is locked by process ${owner.pid}: two instances of "${this.applicationId}" must not share a stateDir`,
          );
        }
        if (owner === undefined && isFresh(lockPath)) {
          // Another process created the file and has not written its pid yet.
          throw new Error(
            `State directory ${dir} is being locked by another process: two instances of "${this.applicationId}" must not share a stateDir`,
          );
        }
        // Stale: its process is gone, or its writer died between creating and writing it.
        rmSync(lockPath, { force: true });
        continue;
      }
      try {
        writeSync(fd, OWNER);
      } finally {
        closeSync(fd);
      }
      this.#locked.add(taskId);
      return;
    }
    throw new Error(
      `Could not lock state directory ${dir}: its lock file keeps reappearing; another process is taking it`,
    );
  }

  /** Releases a lock this instance holds. */
  unlock(taskId: string): void {
    if (!this.#locked.delete(taskId)) return;
    const lockPath = join(this.appDir, taskId, LOCK_FILE);
    if (isOwnLock(readOwner(lockPath))) rmSync(lockPath, { force: true });
  }

  /**
   * Removes the locks a worker thread of this process held when it ended: no other process can
   * tell they are stale, since the process that wrote them is alive.
   */
  releaseThreadLocks(workerThreadId: number): void {
    for (const name of this.listTaskDirs()) {
      const lockPath = join(this.appDir, name, LOCK_FILE);
      const owner = readOwner(lockPath);
      if (owner?.pid === process.pid && owner.thread === workerThreadId) rmSync(lockPath, { force: true });
    }
  }

  isLocked(taskId: string): boolean {
    return this.#locked.has(taskId);
  }

  /**
   * Deletes the task's local state. A lock held by this instance survives, so wiping does not
   * open a window for another process to take the task.
   */
  wipe(taskId: string): void {
    checkName('taskId', taskId);
    const dir = join(this.appDir, taskId);
    if (!this.#locked.has(taskId)) {
      const owner = readOwner(join(dir, LOCK_FILE));
      if (owner !== undefined && !isOwnLock(owner) && isAlive(owner.pid)) {
        throw new Error(
          `Cannot wipe ${dir}: it is locked by process ${owner.pid}${owner.thread === 0 ? '' : ` (thread ${owner.thread})`}`,
        );
      }
      rmSync(dir, { recursive: true, force: true });
      return;
    }
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names)
      if (name !== LOCK_FILE) rmSync(join(dir, name), { recursive: true, force: true });
  }

  /** Task ids that have a directory, sorted. */
  listTaskDirs(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.appDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names.filter((name) => NAME.test(name) && statSync(join(this.appDir, name)).isDirectory()).sort();
  }

  /** Releases every lock this instance holds. */
  close(): void {
    for (const taskId of [...this.#locked]) this.unlock(taskId);
  }
}

function checkName(what: string, value: string): void {
  if (!NAME.test(value) || value === '.' || value === '..') {
    throw new Error(
      `Invalid ${what} "${value}": use letters, digits, '.', '_' and '-' only (it becomes a directory name)`,
    );
  }
}

/** This thread's lock owner: the main thread writes the bare pid, as locks always held. */
const OWNER = threadId === 0 ? String(process.pid) : `${process.pid}:${threadId}`;

interface LockOwner {
  readonly pid: number;
  /** 0 for the main thread. */
  readonly thread: number;
}

function readOwner(lockPath: string): LockOwner | undefined {
  try {
    const m = /^(\d+)(?::(\d+))?$/.exec(readFileSync(lockPath, 'utf8').trim());
    if (!m) return undefined;
    const pid = Number(m[1]);
    const thread = m[2] === undefined ? 0 : Number(m[2]);
    return Number.isSafeInteger(pid) && pid > 0 && Number.isSafeInteger(thread) ? { pid, thread } : undefined;
  } catch {
    return undefined;
  }
}

function isOwnLock(owner: LockOwner | undefined): boolean {
  return owner !== undefined && owner.pid === process.pid && owner.thread === threadId;
}

function isFresh(lockPath: string): boolean {
  try {
    return Date.now() - statSync(lockPath).mtimeMs < FRESH_LOCK_MS;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
