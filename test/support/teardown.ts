/**
 * Teardown for integration tests: steps registered during a test run after it, last first
 * (close the application before deleting its state directory).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

export interface Teardown {
  push(...steps: Array<() => Promise<void> | void>): void;
}

export function teardownAfterEach(): Teardown {
  const steps: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    while (steps.length) await steps.pop()!();
  });
  return { push: (...more) => void steps.push(...more) };
}

/** A fresh state directory, deleted after the test. */
export function tempStateDir(teardown: Teardown, prefix = 'kp-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  teardown.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
