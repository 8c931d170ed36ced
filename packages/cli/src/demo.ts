/** `kafka-pattern demo [pattern]`: the patterns with a runnable demo, as `pnpm demo` knows them. */
import { existsSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of @kafka-pattern/topologies. */
export function topologiesRoot(): string {
  // A pattern entry point sits one folder below the package root.
  return dirname(dirname(fileURLToPath(import.meta.resolve('@kafka-pattern/topologies/windowing'))));
}

/** Pattern folders holding a demo.ts, sorted. */
export function demoPatterns(root = topologiesRoot()): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'src' && existsSync(`${root}/${d.name}/demo.ts`))
    .map((d) => d.name)
    .sort();
}
