/**
 * `pnpm demo [<pattern>]`: with no argument the main demo (src/demo.ts), else the demo of the
 * pattern folder of that name (`pnpm demo windowing`, `pnpm demo dead-letter`, ...).
 */
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// demo.ts next to the sources, demo.js in the package's build.
const demo = import.meta.url.endsWith('.ts') ? 'demo.ts' : 'demo.js';
const name = process.argv[2];
const patterns = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'src' && existsSync(`${root}${d.name}/${demo}`))
  .map((d) => d.name)
  .sort();

if (name === undefined) {
  await import('./demo.ts');
} else if (patterns.includes(name)) {
  process.argv.splice(2, 1);
  await import(`../${name}/demo.ts`);
} else {
  console.error(`error: no pattern demo named "${name}": choose one of ${patterns.join(', ')}`);
  process.exit(2);
}
