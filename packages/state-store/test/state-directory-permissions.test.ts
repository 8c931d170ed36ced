// Permission errors cannot be produced for real when the tests run as root (root may write
// anywhere), so the file system answers EACCES / EROFS here for the paths a test names.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StateDirectory, StateDirectoryError } from '../src/state-directory.ts';
import { tempDir } from './support/backends.ts';

const refused = vi.hoisted(() => ({ mkdir: new Map<string, string>(), access: new Map<string, string>() }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const fail = (code: string, syscall: string, path: string): never => {
    throw Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });
  };
  return {
    ...fs,
    mkdirSync: (path: string, options?: unknown) => {
      const code = refused.mkdir.get(String(path));
      return code ? fail(code, 'mkdir', String(path)) : fs.mkdirSync(path, options as never);
    },
    accessSync: (path: string, mode?: number) => {
      const code = refused.access.get(String(path));
      return code ? fail(code, 'access', String(path)) : fs.accessSync(path, mode);
    },
  };
});

describe('StateDirectory where the process may not write', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => {
    refused.mkdir.clear();
    refused.access.clear();
    tmp.remove();
  });

  it('no permission to create it: names the path, EACCES and how to fix it', () => {
    const stateDir = join(tmp.dir, 'locked');
    refused.mkdir.set(join(stateDir, 'app'), 'EACCES');
    expect(() => new StateDirectory(stateDir, 'app')).toThrow(
      `stateDir "${stateDir}" cannot be used: ${join(stateDir, 'app')} cannot be created or written (EACCES, permission denied): give the user running this process write access there, or set stateDir to a directory it can write to`,
    );
  });

  it('an existing directory it may not write in fails when made, not at the first task', () => {
    const appDir = join(tmp.dir, 'app');
    refused.access.set(appDir, 'EACCES');
    let error: unknown;
    try {
      new StateDirectory(tmp.dir, 'app');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StateDirectoryError);
    expect(error).toMatchObject({ code: 'EACCES', path: appDir, stateDir: tmp.dir });
  });

  it('a read-only file system', () => {
    refused.access.set(join(tmp.dir, 'app'), 'EROFS');
    expect(() => new StateDirectory(tmp.dir, 'app')).toThrow(
      '(EROFS, read-only file system): set stateDir to a directory on a writable file system',
    );
  });
});
