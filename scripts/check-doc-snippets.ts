/**
 * Type-checks every ```ts / ```typescript block of the documentation against the workspace
 * packages, imported as a user imports them (`@kafka-pattern/streams-core`, `.../testing`,
 * `@kafka-pattern/state-store`, `@kafka-pattern/topologies/...`).
 *
 *   node scripts/check-doc-snippets.ts
 *
 * Each block becomes one ES module in test/doc-snippets/ (generated, ignored by git; it sits in
 * test/ so the package names resolve through test/node_modules), compiled with `tsc --noEmit`
 * under tsconfig.base.json's strict settings. Top-level await is allowed. Errors are reported
 * at the markdown file and line of the block.
 *
 * A block that is an excerpt may use names it does not define: an HTML comment right before
 * its fence, `<!-- snippet: declare const app: KafkaStreams; -->` (one or more such lines),
 * is put in front of the block as it is. Prefer complete blocks; code that is not TypeScript
 * goes in a block of another language (```text, ```sh).
 */
import { spawnSync } from 'node:child_process';
import { globSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'test', 'doc-snippets');

const DOCS = [
  'README.md',
  'packages/*/README.md',
  'packages/*/docs/*.md',
  'packages/topologies/*/README.md',
  'packages/streams-core/src/client/README.md',
  'packages/streams-core/src/rx/README.md',
  'bench/README.md',
  'test/differential/README.md',
];

const PREAMBLE = /^\s*<!--\s*snippet:(.*)-->\s*$/;
const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)(.*)$/;
const TYPESCRIPT = new Set(['ts', 'typescript']);

interface Snippet {
  /** Markdown file, relative to the repository root. */
  readonly doc: string;
  /** 1-based line of the first code line in the markdown file. */
  readonly line: number;
  /** Indentation of the fence, removed from every code line. */
  readonly indent: number;
  /** Preamble lines, each with the markdown line it came from. */
  readonly preamble: ReadonlyArray<{ readonly text: string; readonly line: number }>;
  readonly code: readonly string[];
  readonly file: string;
}

interface Problem {
  readonly doc: string;
  readonly line: number;
  readonly message: string;
}

function extract(doc: string, problems: Problem[]): Snippet[] {
  const lines = readFileSync(join(ROOT, doc), 'utf8').split('\n');
  const snippets: Snippet[] = [];
  let pending: Array<{ text: string; line: number }> = [];
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    const preamble = PREAMBLE.exec(text);
    if (preamble) {
      pending.push({ text: preamble[1]!.trim(), line: i + 1 });
      continue;
    }
    const fence = FENCE.exec(text);
    if (!fence) {
      for (const p of pending)
        problems.push({ doc, ...p, message: 'snippet preamble not followed by a ts block' });
      pending = [];
      continue;
    }
    const [, indent, marker, lang] = fence as unknown as [string, string, string, string];
    const start = i + 1;
    const code: string[] = [];
    for (i = start; i < lines.length; i++) {
      const l = lines[i]!;
      const trimmed = l.trim();
      if (trimmed.startsWith(marker) && /^(`+|~+)$/.test(trimmed)) break;
      code.push(l.startsWith(indent) ? l.slice(indent.length) : l.trimStart());
    }
    if (TYPESCRIPT.has(lang.toLowerCase())) {
      const name = `${doc.replace(/[/\\]/g, '--')}-L${start + 1}.ts`;
      snippets.push({ doc, line: start + 1, indent: indent.length, preamble: pending, code, file: name });
    } else {
      for (const p of pending)
        problems.push({ doc, ...p, message: `snippet preamble before a ${lang || 'plain'} block` });
    }
    pending = [];
  }
  for (const p of pending) problems.push({ doc, ...p, message: 'snippet preamble at the end of the file' });
  return snippets;
}

/** The generated module: a comment naming its source, the preamble, the block, and `export {}`. */
function render(s: Snippet): string {
  return [`// ${s.doc}:${s.line}`, ...s.preamble.map((p) => p.text), ...s.code, 'export {};', ''].join('\n');
}

/** Markdown line and column of a position (1-based) in a generated module. */
function locate(s: Snippet, line: number, column: number): { line: number; column: number } {
  const p = line - 2; // after the source comment
  if (p < s.preamble.length) return { line: s.preamble[Math.max(0, p)]!.line, column: 1 };
  const c = p - s.preamble.length;
  if (c < s.code.length) return { line: s.line + c, column: column + s.indent };
  return { line: s.line + s.code.length, column: 1 };
}

const problems: Problem[] = [];
const docs = [...new Set(globSync(DOCS, { cwd: ROOT }))].sort();
const snippets = docs.flatMap((doc) => extract(doc, problems));

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
for (const s of snippets) writeFileSync(join(OUT, s.file), render(s));
writeFileSync(
  join(OUT, 'tsconfig.json'),
  `${JSON.stringify(
    {
      extends: '../../tsconfig.base.json',
      compilerOptions: { composite: false, declaration: false, sourceMap: false, noEmit: true },
      include: ['*.ts'],
    },
    null,
    2,
  )}\n`,
);

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const run = spawnSync(process.execPath, [tsc, '--noEmit', '--pretty', 'false', '-p', relative(ROOT, OUT)], {
  cwd: ROOT,
  encoding: 'utf8',
});
if (run.error) throw run.error;

const byFile = new Map(snippets.map((s) => [s.file, s]));
const DIAGNOSTIC = /^(.*?)\((\d+),(\d+)\): (.*)$/;
const output = `${run.stdout}${run.stderr}`
  .split('\n')
  .filter((l) => l.length > 0)
  .map((l) => {
    const d = DIAGNOSTIC.exec(l);
    const s = d && byFile.get(relative(OUT, join(ROOT, d[1]!)));
    if (!d || !s) return l;
    const at = locate(s, Number(d[2]), Number(d[3]));
    return `${s.doc}:${at.line}:${at.column}: ${d[4]}`;
  });

for (const p of problems) output.push(`${p.doc}:${p.line}:1: ${p.message}`);
const failed = run.status !== 0 || problems.length > 0;
output.push(
  `${snippets.length} ts blocks in ${docs.length} markdown files: ${failed ? 'FAILED' : 'type-check'}`,
);
(failed ? console.error : console.log)(output.join('\n'));
process.exitCode = failed ? 1 : 0;
