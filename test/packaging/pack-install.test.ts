/**
 * The packages as npm users get them. Builds and packs the four packages, installs the tarballs
 * with npm into a new project outside the workspace, then:
 * - checks what the tarballs hold (the build, no tests, no TypeScript sources; every export and
 *   the binary present),
 * - runs a plain JavaScript application (fixtures/app.mjs) against the broker on the Node that
 *   runs the tests (24) and on Node 22, the oldest the packages claim (installed into
 *   .tools/node22 by scripts/env.sh when missing),
 * - runs `npx kafka-pattern --help` from the installed command line,
 * - type-checks a TypeScript consumer (fixtures/consumer.ts) under `module: NodeNext` and under
 *   `module: ESNext, moduleResolution: Bundler`, declaration files included (no skipLibCheck).
 *
 * Third-party dependencies come from the npm registry (npm's cache makes reruns quick). Anything
 * missing (npm, pnpm, Node 22, the registry, the broker) fails the test with the reason.
 */
import { type ExecFileOptions, execFile } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapServers, uniqueName } from '../support/kafka.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const PACKAGES = ['state-store', 'streams-core', 'topologies', 'cli'] as const;

const progress = (line: string) => console.log(`[pack-install] ${line}`);

interface Run {
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; a failure names the command and carries its output. */
function run(
  file: string,
  args: string[],
  options: ExecFileOptions & { timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { maxBuffer: 64 << 20, timeout: options.timeoutMs ?? 180_000, encoding: 'utf8', ...options },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(
              `${[file, ...args].join(' ')} failed (${error.code ?? error.signal ?? error.message})\n` +
                `--- stdout\n${stdout}\n--- stderr\n${stderr}`,
            ),
          );
        } else resolve({ stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** The environment for npm and the installed project: no npm_* or pnpm settings of the workspace's run. */
function cleanEnv(extra: Record<string, string> = {}, nodeBin?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_)/i.test(k)) continue;
    env[k] = v;
  }
  // Binaries run through `#!/usr/bin/env node` pick the Node the case is about.
  if (nodeBin) env.PATH = `${dirname(nodeBin)}${delimiter}${env.PATH ?? ''}`;
  env.npm_config_update_notifier = 'false';
  return { ...env, ...extra };
}

/** npm's CLI scripts, run on the Node that runs the tests. */
async function findNpm(): Promise<{ npm: string; npx: string }> {
  let path: string;
  try {
    path = (await run('sh', ['-c', 'command -v npm'])).stdout.trim();
  } catch {
    throw new Error(
      'npm is not on PATH: install Node.js with npm (the test installs the packed packages with it)',
    );
  }
  const bin = dirname(realpathSync(path));
  return { npm: join(bin, 'npm-cli.js'), npx: join(bin, 'npx-cli.js') };
}

async function node22(): Promise<string> {
  const { stdout } = await run('bash', ['-c', 'source scripts/env.sh && kp_node22'], {
    cwd: ROOT,
    timeoutMs: 300_000,
  }).catch((error: Error) => {
    throw new Error(`Node 22 is needed to run the packages on it and could not be had: ${error.message}`);
  });
  return stdout.trim().split('\n').at(-1)!;
}

/** The version of a package installed in the workspace, to give the project the same one. */
function workspaceVersion(name: string): string {
  const require = createRequire(join(ROOT, 'package.json'));
  return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string })
    .version;
}

let project: string;
let tarballs: string;
let npm: { npm: string; npx: string };
let node22Bin: string;

beforeAll(async () => {
  const started = Date.now();
  npm = await findNpm();
  node22Bin = await node22();
  const work = mkdtempSync(join(tmpdir(), 'kp-pack-install-'));
  tarballs = join(work, 'tarballs');
  project = join(work, 'project');
  mkdirSync(project);
  progress(`building the packages (pnpm build) in ${ROOT}`);
  await run('pnpm', ['build'], { cwd: ROOT });
  await run('pnpm', ['-r', '--filter', './packages/*', 'pack', '--pack-destination', tarballs], {
    cwd: ROOT,
  });
  const packed = readdirSync(tarballs).sort();
  progress(`packed ${packed.join(', ')}`);
  expect(packed).toEqual(PACKAGES.map((p) => `kafka-pattern-${p}-0.1.0.tgz`).sort());
  writeFileSync(
    join(project, 'package.json'),
    `${JSON.stringify({ name: 'kp-pack-install', private: true, type: 'module' }, null, 2)}\n`,
  );
  const deps = [
    ...packed.map((t) => join(tarballs, t)),
    `typescript@${workspaceVersion('typescript')}`,
    `@types/node@${workspaceVersion('@types/node')}`,
  ];
  progress(`npm install in ${project}`);
  await run(
    process.execPath,
    [npm.npm, 'install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...deps],
    { cwd: project, env: cleanEnv(), timeoutMs: 300_000 },
  );
  copyFileSync(join(FIXTURES, 'app.mjs'), join(project, 'app.mjs'));
  copyFileSync(join(FIXTURES, 'consumer.ts'), join(project, 'consumer.ts'));
  progress(`set up in ${Math.round((Date.now() - started) / 1000)} s`);
}, 600_000);

afterAll(() => {
  if (project) rmSync(dirname(project), { recursive: true, force: true });
});

describe('the packed packages installed with npm', () => {
  it('hold the build: every export and the binary, no tests and no TypeScript sources', async () => {
    for (const name of PACKAGES) {
      const tarball = join(tarballs, `kafka-pattern-${name}-0.1.0.tgz`);
      const files = (await run('tar', ['tzf', tarball])).stdout
        .split('\n')
        .filter(Boolean)
        .map((f) => f.replace(/^package\//, ''));
      const installed = JSON.parse(
        readFileSync(join(project, 'node_modules', '@kafka-pattern', name, 'package.json'), 'utf8'),
      ) as {
        exports: Record<string, { types: string; default: string }>;
        bin?: Record<string, string>;
        dependencies?: Record<string, string>;
      };
      const targets = Object.values(installed.exports).flatMap((e) => [e.types, e.default]);
      targets.push(...Object.values(installed.bin ?? {}));
      for (const target of targets) {
        expect(target, `${name}: ${target}`).toMatch(/^\.\/dist\/.*\.js$|^\.\/dist\/.*\.d\.ts$/);
        expect(files, `${name} holds ${target}`).toContain(target.slice(2));
      }
      expect(files.filter((f) => /\.test\.|(^|\/)test\/|\.tsbuildinfo$/.test(f))).toEqual([]);
      expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
      for (const [dep, range] of Object.entries(installed.dependencies ?? {}))
        expect(range, `${name} depends on ${dep}`).not.toMatch(/^workspace:/);
      progress(`${name}: ${files.length} files, ${Object.keys(installed.exports).length} exports`);
    }
    const bin = readFileSync(
      join(project, 'node_modules', '@kafka-pattern', 'cli', 'dist', 'src', 'main.js'),
      'utf8',
    );
    expect(bin.startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  const lines = ['the quick brown fox', 'jumps over the lazy dog', 'the dog sleeps'];
  const expectedCounts: Array<[string, number]> = [];
  const seen = new Map<string, number>();
  for (const word of lines.join(' ').split(' ')) {
    seen.set(word, (seen.get(word) ?? 0) + 1);
    expectedCounts.push([word, seen.get(word)!]);
  }

  it.each([
    ['24', () => process.execPath],
    ['22', () => node22Bin],
  ])('run an application on Node %s against the broker', async (major, nodeBin) => {
    const node = nodeBin();
    const version = (await run(node, ['--version'])).stdout.trim();
    expect(version.startsWith(`v${major}.`), `${node} is Node ${major}`).toBe(true);
    const stateDir = mkdtempSync(join(tmpdir(), 'kp-pack-install-state-'));
    try {
      progress(`running app.mjs on Node ${version} (${node})`);
      const { stdout, stderr } = await run(node, ['app.mjs'], {
        cwd: project,
        env: cleanEnv(
          {
            KAFKA_BOOTSTRAP_SERVERS: bootstrapServers().join(','),
            KP_TOPIC_PREFIX: uniqueName(`pack-install-node${major}`),
            KP_STATE_DIR: stateDir,
          },
          node,
        ),
        timeoutMs: 120_000,
      });
      for (const line of stderr.trim().split('\n')) progress(line);
      const printed = stdout.trim().split('\n').at(-1)!;
      progress(`Node ${version}: app printed ${printed}`);
      expect(JSON.parse(printed)).toEqual({
        node: version,
        upper: lines.map((line, i) => [`line-${i}`, line.toUpperCase()]),
        counts: expectedCounts,
        sqliteFiles: 1,
      });
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it.each([
    ['24', () => process.execPath],
    ['22', () => node22Bin],
  ])('run `npx kafka-pattern --help` on Node %s', async (major, nodeBin) => {
    const node = nodeBin();
    // npx itself runs on that Node: it puts the directory of its own Node first on the binaries'
    // PATH. --no: never fetch a package of that name from the registry; only the installed one runs.
    const { stdout } = await run(node, [npm.npx, '--no', '--', 'kafka-pattern', '--help'], {
      cwd: project,
      env: cleanEnv({}, node),
    });
    // The binary's `#!/usr/bin/env node` finds the same Node as this does.
    const onPath = await run(node, [npm.npx, '--no', '--', 'node', '--version'], {
      cwd: project,
      env: cleanEnv({}, node),
    });
    const version = onPath.stdout.trim();
    expect(version.startsWith(`v${major}.`), `npx runs binaries on ${version}`).toBe(true);
    progress(`Node ${version}: npx kafka-pattern --help printed ${JSON.stringify(stdout.split('\n')[0])}`);
    expect(stdout).toMatch(/^Usage: kafka-pattern \[options\] \[command\]/);
    for (const command of ['describe', 'reset', 'query', 'dlt', 'demo'])
      expect(stdout).toContain(`  ${command} `);
  });

  it.each([
    ['NodeNext', { module: 'NodeNext', moduleResolution: 'NodeNext' }],
    ['Bundler', { module: 'ESNext', moduleResolution: 'Bundler' }],
  ])('type-check a TypeScript consumer under module resolution %s', async (name, options) => {
    const tsconfig = `tsconfig.${name.toLowerCase()}.json`;
    writeFileSync(
      join(project, tsconfig),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2023',
          lib: ['ES2023'],
          types: ['node'],
          strict: true,
          noEmit: true,
          ...options,
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
    // A type error fails the run (tsc exits non-zero) with tsc's output in the message.
    const { stdout } = await run(process.execPath, [tsc, '-p', tsconfig, '--listFiles'], {
      cwd: project,
      env: cleanEnv(),
    });
    const files = stdout.split('\n').filter(Boolean);
    expect(files.filter((f) => /error TS\d+/.test(f))).toEqual([]);
    // The consumer's types come from the packages' declarations in dist/.
    const declarations = (name: string) =>
      files.filter((f) => f.includes(`/node_modules/@kafka-pattern/${name}/dist/`) && f.endsWith('.d.ts'));
    for (const name of PACKAGES) expect(declarations(name).length, name).toBeGreaterThan(0);
    expect(declarations('topologies').map((f) => f.replace(/.*\/dist\//, ''))).toEqual(
      expect.arrayContaining([
        'windowing/topology.d.ts',
        'saga/topology.d.ts',
        'cdc/index.d.ts',
        'src/index.d.ts',
      ]),
    );
    progress(
      `tsc -p ${tsconfig} (${name}): no errors, ${files.length} files, ` +
        PACKAGES.map((p) => `${declarations(p).length} declarations of ${p}`).join(', '),
    );
  });
});
