/**
 * `--compare <ref>`: the framework as of another commit, measured in the same run as this one.
 *
 * The commit is checked out once into a git worktree, `.bench/ref-<short sha>/` at the root of
 * the repository (gitignored), and its dependencies are installed there with its own lockfile.
 * Every framework subject of the selected scenarios then gets a twin whose module is the same
 * file inside that worktree: the twin's process imports that commit's framework through that
 * worktree's node_modules, while this commit's harness fills the inputs, drives, checks and
 * times both alike, interleaved in the same rounds.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Scenario, Subject } from '../scenarios.ts';
import type { Row } from './report.ts';

/** A commit checked out and installed for comparison. */
export interface RefCheckout {
  /** As given to `--compare`. */
  readonly ref: string;
  readonly commit: string;
  readonly short: string;
  /** The worktree's root. */
  readonly dir: string;
}

function git(cwd: string, args: readonly string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** The root of the checkout this bench runs from. */
export function repositoryRoot(): string {
  return git(fileURLToPath(new URL('.', import.meta.url)), ['rev-parse', '--show-toplevel']);
}

function worktreeAt(dir: string): { root: string; head: string } | undefined {
  try {
    return { root: git(dir, ['rev-parse', '--show-toplevel']), head: git(dir, ['rev-parse', 'HEAD']) };
  } catch {
    return undefined;
  }
}

/**
 * Resolves `ref` in the repository at `root`, checks it out under `root/.bench/` unless a checkout
 * of that commit is there already, and installs its dependencies unless an earlier install of it
 * finished. Throws a message naming the ref when it is not a commit or the install fails.
 */
export function checkoutRef(ref: string, root: string, log: (message: string) => void): RefCheckout {
  if (ref.startsWith('-')) throw new Error(`--compare ${ref}: not a git ref`);
  let commit: string;
  try {
    commit = git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  } catch {
    throw new Error(`--compare ${ref}: no such commit in ${root}`);
  }
  const short = git(root, ['rev-parse', '--short', commit]);
  const dir = join(root, '.bench', `ref-${short}`);
  // Written once the install succeeded: a folder without it is checked out but not installed.
  const installed = `${dir}.installed`;
  if (existsSync(dir)) {
    const at = worktreeAt(dir);
    // A folder that is no worktree of its own answers with the enclosing repository's root.
    if (!at || at.root !== realpathSync(dir) || at.head !== commit) {
      throw new Error(
        `--compare ${ref}: ${dir} exists but is not a checkout of ${commit}; remove it (git worktree remove --force ${dir}) and run again`,
      );
    }
  } else {
    log(`compare: checking out ${ref} (${short}) into ${dir}`);
    mkdirSync(dirname(dir), { recursive: true });
    // --force: the path may still be registered from a worktree whose folder was deleted.
    const added = spawnSync('git', ['worktree', 'add', '--detach', '--force', dir, commit], {
      cwd: root,
      stdio: ['ignore', 2, 2],
    });
    if (added.status !== 0) {
      throw new Error(
        `--compare ${ref}: git worktree add ${dir} failed (${added.error?.message ?? `exit ${added.status}`})`,
      );
    }
  }
  if (existsSync(installed) && readFileSync(installed, 'utf8').trim() === commit) {
    log(`compare: reusing ${dir}`);
  } else {
    install(ref, dir, log);
    writeFileSync(installed, `${commit}\n`);
  }
  return { ref, commit, short, dir };
}

function install(ref: string, dir: string, log: (message: string) => void): void {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { packageManager?: string };
  let version: string;
  try {
    version = execFileSync('pnpm', ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch {
    throw new Error(`--compare ${ref}: no pnpm on the PATH to install ${dir} with`);
  }
  // pnpm itself follows (or insists on) the `packageManager` the commit pins.
  log(
    `compare: pnpm install --frozen-lockfile in ${dir} (pnpm ${version} on the PATH${manifest.packageManager ? `, the commit pins ${manifest.packageManager}` : ''}, Node ${process.version})`,
  );
  // Its output goes to stderr with the rest of the log: stdout is the table's.
  const result = spawnSync('pnpm', ['install', '--frozen-lockfile', '--config.confirm-modules-purge=false'], {
    cwd: dir,
    stdio: ['ignore', 2, 2],
  });
  if (result.status !== 0) {
    throw new Error(
      `--compare ${ref}: pnpm install --frozen-lockfile failed in ${dir} (${result.error?.message ?? `exit ${result.status}`}); its output is above`,
    );
  }
}

/** The twin's row label: the checkout's short commit after the first word, `kafka-pattern@1a2b3c4 SQLite`. */
export function twinName(name: string, short: string): string {
  return name.replace(/^\S+/, (first) => `${first}@${short}`);
}

/**
 * `scenario` with a twin of each framework subject right after it, so the two run next to each
 * other in every round. A subject whose module is not in the checkout (a scenario added after
 * that commit) gets none; `note` says so once per module.
 */
export function withTwins(
  scenario: Scenario,
  checkout: RefCheckout,
  root: string,
  note: (message: string) => void,
): Scenario {
  const missing = new Set<string>();
  const subjects = scenario.subjects.flatMap((s): Subject[] => {
    if (!s.framework) return [s];
    const path = relative(root, fileURLToPath(s.module));
    const theirs = join(checkout.dir, path);
    if (!existsSync(theirs)) {
      if (!missing.has(path))
        note(`compare: ${scenario.name}: no twin at ${checkout.short}, ${path} does not exist there`);
      missing.add(path);
      return [s];
    }
    return [
      s,
      { ...s, name: twinName(s.name, checkout.short), module: pathToFileURL(theirs), twinOf: s.name },
    ];
  });
  return { ...scenario, subjects };
}

/** One side of a comparison: median records/s, how far its timed runs spread, p99 latency. */
export interface ComparisonSide {
  recordsPerSec: number;
  /** Half the range of the timed runs over their median: ±0.2 is runs within 20% of it. */
  spread: number;
  p99Ms?: number;
}

/** One framework subject of this commit against its twin. */
export interface ComparisonRow {
  scenario: string;
  subject: string;
  guarantee: Row['guarantee'];
  current: ComparisonSide;
  ref: ComparisonSide;
  /** current records/s ÷ the ref's. */
  ratio: number;
}

export function comparisonRows(rows: readonly Row[]): ComparisonRow[] {
  return rows.flatMap((twin): ComparisonRow[] => {
    if (twin.twinOf === undefined) return [];
    const current = rows.find(
      (r) => r.scenario === twin.scenario && r.subject === twin.twinOf && r.guarantee === twin.guarantee,
    );
    if (!current) return [];
    const side = (r: Row): ComparisonSide => ({
      recordsPerSec: r.recordsPerSec,
      spread: (Math.max(...r.runs) - Math.min(...r.runs)) / 2 / r.recordsPerSec,
      ...(r.latency ? { p99Ms: r.latency.p99Ms } : {}),
    });
    return [
      {
        scenario: current.scenario,
        subject: current.subject,
        guarantee: current.guarantee,
        current: side(current),
        ref: side(twin),
        ratio: current.recordsPerSec / twin.recordsPerSec,
      },
    ];
  });
}
