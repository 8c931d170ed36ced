/**
 * Opening a task's SQLite database in its state directory. A file that is not a database, or a
 * corrupt one, is removed and replaced by an empty one: the task then restores everything from
 * its changelogs, which is slow but never wrong.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SQLITE_STATE_FILE, SqliteDatabase } from '@kafka-pattern/state-store';
import type { Logger } from '../observability/logger.ts';

export function openTaskDatabase(taskDir: string, taskId: string, logger: Logger): SqliteDatabase {
  try {
    return SqliteDatabase.openInTaskDirectory(taskDir);
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (!/^SQLITE_(NOTADB|CORRUPT)/.test(code)) throw error;
    logger.warn(
      { taskId, taskDir, code },
      `state of task ${taskId} in ${taskDir} is unreadable (${code}): starting it empty and restoring it from the changelogs`,
    );
    for (const suffix of ['', '-wal', '-shm'])
      rmSync(join(taskDir, `${SQLITE_STATE_FILE}${suffix}`), { force: true });
    return SqliteDatabase.openInTaskDirectory(taskDir);
  }
}
