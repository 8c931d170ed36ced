/**
 * The instance's state directory and its process id: a stable id per application instance and
 * state directory, kept on disk so that a restarted instance uses the same transactional id (the
 * broker then aborts the transaction its previous incarnation left open at once, instead of
 * making readers wait for the transaction timeout).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateDirectory, StateDirectoryError } from '@kafka-pattern/state-store';
import { errorMessage, StreamsException } from '../errors/exception-handlers.ts';

/** Opens `<stateDir>/<applicationId>` and reads its process id; a StreamsException naming the fix when it cannot. */
export function openStateDirectory(
  stateDir: string | undefined,
  applicationId: string,
): { directory: StateDirectory; pid: string } {
  const dir = stateDir ?? join(tmpdir(), 'kafka-pattern');
  try {
    const directory = new StateDirectory(dir, applicationId);
    return { directory, pid: processId(directory.appDir) };
  } catch (error) {
    throw new StreamsException(
      error instanceof StateDirectoryError
        ? error.message
        : `stateDir "${dir}" cannot be used: ${errorMessage(error)}: set stateDir to a directory this process can create and write to`,
      { cause: error },
    );
  }
}

export function processId(appDir: string): string {
  const file = join(appDir, 'kafka-pattern-process-id');
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f-]{36}$/.test(id)) return id;
  } catch {
    // first start in this state directory
  }
  mkdirSync(appDir, { recursive: true });
  const id = randomUUID();
  writeFileSync(file, `${id}\n`);
  return id;
}
