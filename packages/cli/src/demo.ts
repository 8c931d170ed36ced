/** `kafka-pattern demo [pattern]`: the patterns with a runnable demo, as `pnpm demo` knows them. */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of @kafka-pattern/topologies. */
export function topologiesRoot(): string {
  // A pattern entry point sits one folder below the package root.
  return dirname(dirname(fileURLToPath(import.meta.resolve('@kafka-pattern/topologies/windowing'))));
}

/**
 * The demo of a pattern folder: demo.ts in the repository, demo.js where the package is
 * installed (its build); undefined if the folder has none.
 */
export function demoFile(pattern: string, root = topologiesRoot()): string | undefined {
  for (const name of ['demo.ts', 'demo.js']) {
    const file = join(root, pattern, name);
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** Pattern folders holding a demo, sorted. */
export function demoPatterns(root = topologiesRoot()): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'src' && demoFile(d.name, root) !== undefined)
    .map((d) => d.name)
    .sort();
}

/**
 * The repository's stack script when the patterns are run from a checkout of the repository
 * (`packages/topologies` next to `scripts/stack.sh`); undefined where the packages are installed.
 */
export function stackScript(root = topologiesRoot()): string | undefined {
  const script = join(root, '..', '..', 'scripts', 'stack.sh');
  return existsSync(script) ? script : undefined;
}
