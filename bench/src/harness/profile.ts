/**
 * Reads a V8 `.cpuprofile` (written by `node --cpu-prof`) and lists the functions with the most
 * self time, and the same time grouped by package or source folder: enough to see where a
 * pipe's time goes without opening a profiler UI.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function summarizeProfile(path: string, title: string, top = 25): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfById = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    // A sample's time is the delta to the next one.
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i]!;
    selfById.set(id, (selfById.get(id) ?? 0) + dt);
    total += dt;
  }
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, us] of selfById) {
    const f = byId.get(id)!.callFrame;
    const where = shortUrl(f.url);
    const name = `${f.functionName || '(anonymous)'}${where ? `  ${where}:${f.lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const area = areaOf(f.url, f.functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
  }
  const idle = byFunction.get('(idle)') ?? 0;
  const busy = total - idle;
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  const lines = [
    `${title}: ${(busy / 1e6).toFixed(1)} s on CPU of ${(total / 1e6).toFixed(1)} s profiled (percentages of CPU time)`,
    'by area:',
    ...sorted(byArea)
      .filter(([k]) => k !== '(idle)')
      .slice(0, 12)
      .map(([k, us]) => `  ${pct(us)}  ${k}`),
    `top ${top} functions by self time:`,
    ...sorted(byFunction)
      .filter(([k]) => k !== '(idle)')
      .slice(0, top)
      .map(([k, us]) => `  ${pct(us)}  ${k}`),
  ];
  return `${lines.join('\n')}\n`;
}

function sorted(m: Map<string, number>): [string, number][] {
  return [...m].sort((a, b) => b[1] - a[1]);
}

function shortUrl(url: string): string {
  if (!url) return '';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const pk = url.indexOf('/packages/');
  if (pk >= 0) return url.slice(pk + 1);
  const b = url.indexOf('/bench/');
  if (b >= 0) return url.slice(b + 1);
  return url.replace(/^file:\/\//, '');
}

function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native / V8 builtins)';
  if (url.startsWith('node:')) return 'node core';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    const pkg = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
    const folder = rest[0]!.startsWith('@') ? rest.slice(2, -1) : rest.slice(1, -1);
    return `${pkg}/${folder.slice(0, 3).join('/')}`;
  }
  const parts = shortUrl(url).split('/');
  return parts.slice(0, -1).join('/');
}
