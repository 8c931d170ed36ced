/**
 * A stable id per application instance and state directory. Kept on disk so that a restarted
 * instance uses the same transactional id: the broker then aborts the transaction its previous
 * incarnation left open at once, instead of making readers wait for the transaction timeout.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
