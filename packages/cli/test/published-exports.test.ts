import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const PACKAGES = ['state-store', 'streams-core', 'topologies', 'cli'];

interface Manifest {
  exports: Record<string, string>;
  publishConfig: { exports: Record<string, { types: string; default: string }> };
}

describe('published exports', () => {
  it.each(PACKAGES)('%s publishes every subpath the workspace exports, pointing at its build', (name) => {
    const manifest = JSON.parse(
      readFileSync(new URL(`../../${name}/package.json`, import.meta.url), 'utf8'),
    ) as Manifest;
    const published = manifest.publishConfig.exports;
    expect(Object.keys(published).sort()).toEqual(Object.keys(manifest.exports).sort());
    for (const [subpath, source] of Object.entries(manifest.exports)) {
      const built = `./dist/${source.slice(2).replace(/\.ts$/, '')}`;
      expect(published[subpath], subpath).toEqual({ types: `${built}.d.ts`, default: `${built}.js` });
    }
  });
});
