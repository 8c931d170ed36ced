/**
 * Fault tests: the word count process is killed with SIGKILL mid-stream several times and
 * restarted on the same state directory. Under exactly_once_v2 the committed output must be
 * exact (no loss, no duplicate update); under at_least_once nothing may be lost.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KafkaStreams, type ProcessingGuarantee } from '@kafka-pattern/streams-core';
import { describe, expect, it } from 'vitest';
import { bootstrapServers, collect, createTopic, produce, record, uniqueName } from '../support/kafka.ts';
import { wordCountTopology } from './fixtures/word-count-topology.ts';

const APP = fileURLToPath(new URL('./fixtures/word-count-app.ts', import.meta.url));
const VOCABULARY = Array.from({ length: 40 }, (_, i) => `w${i}`);

function startApp(args: string[], log: string[]): ChildProcess {
  const child = spawn(process.execPath, [APP, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => log.push(d.toString().trim()));
  child.stderr!.on('data', (d: Buffer) => log.push(`stderr: ${d.toString().trim()}`));
  return child;
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Deterministic pseudo-random lines, so a failure can be replayed. */
function lines(count: number, seed: number): string[] {
  let s = seed;
  const next = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s;
  };
  return Array.from({ length: count }, () =>
    Array.from({ length: 1 + (next() % 5) }, () => VOCABULARY[next() % VOCABULARY.length]).join(' '),
  );
}

async function crashAndRecover(guarantee: ProcessingGuarantee) {
  const input = await createTopic(uniqueName('crash-in'), 3);
  const output = await createTopic(uniqueName('crash-out'), 3);
  const applicationId = uniqueName(`crash-${guarantee === 'exactly_once_v2' ? 'eos' : 'alos'}`);
  const stateDir = mkdtempSync(join(tmpdir(), 'kp-crash-'));
  const args = [input, output, applicationId, stateDir, guarantee];
  const log: string[] = [];
  const all = lines(2_400, 7);
  const expected = new Map<string, number>();
  for (const l of all) for (const w of l.split(' ')) expected.set(w, (expected.get(w) ?? 0) + 1);

  let child = startApp(args, log);
  let kills = 0;
  const outputAtKill: number[] = [];
  try {
    // Produce in 24 slices; kill and restart the application after slices 6, 12 and 18.
    for (let slice = 0; slice < 24; slice++) {
      await produce(
        all.slice(slice * 100, (slice + 1) * 100).map((l, i) => record(input, `k${slice}-${i}`, l)),
      );
      await sleep(250);
      if (slice % 6 === 5 && slice < 23) {
        // Kill while the incarnation is processing: once it has committed output beyond the last kill.
        const before = outputAtKill.at(-1) ?? 0;
        const deadline = Date.now() + 30_000;
        let now = before;
        while (Date.now() < deadline && now <= before) {
          now = (await collect(output, { isolationLevel: 'read_committed', timeoutMs: 5_000 })).length;
          if (now <= before) await sleep(200);
        }
        outputAtKill.push(now);
        await kill(child);
        kills++;
        child = startApp(args, log);
      }
    }
    // Let the last incarnation finish: the final update of every word must arrive.
    const deadline = Date.now() + 90_000;
    let latest = new Map<string, number>();
    let out: Awaited<ReturnType<typeof collect>> = [];
    while (Date.now() < deadline) {
      out = await collect(output, { isolationLevel: 'read_committed', timeoutMs: 20_000 });
      latest = new Map();
      for (const r of out) latest.set(r.key!.toString(), Number(r.value!.readBigInt64BE(0)));
      const done = [...expected].every(([w, n]) => (latest.get(w) ?? 0) >= n);
      if (done) break;
      await sleep(1_000);
    }
    // The last incarnation dies too; a new one restores the counts from its state directory and
    // changelog. Its store must agree with the output: no update applied twice, none lost.
    await kill(child);
    const app = new KafkaStreams(wordCountTopology(input, output), {
      applicationId,
      bootstrapServers: bootstrapServers(),
      processingGuarantee: guarantee,
      stateDir,
      client: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 },
    });
    await app.start();
    let stored = new Map<string, number | undefined>();
    try {
      await app.waitForRunning(60_000);
      const counts = app.store<string, number>('counts');
      stored = new Map([...expected.keys()].map((w) => [w, counts.get(w)]));
    } finally {
      await app.close();
    }
    return { kills, expected, latest, out, log, outputAtKill, stored };
  } finally {
    child.kill('SIGTERM');
    await sleep(200);
    await kill(child);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

describe('SIGKILL mid-stream', () => {
  it("exactly_once_v2: final counts exact, and each word's emitted counts strictly increase", async () => {
    const { kills, expected, latest, out, log, outputAtKill, stored } =
      await crashAndRecover('exactly_once_v2');
    // The restored state is the committed output: each word's count in the store is its last emitted count.
    expect(stored).toEqual(expected);
    expect(kills).toBeGreaterThanOrEqual(3);
    // Each kill landed mid-stream: some output was committed before it, more after it.
    expect(outputAtKill[0]).toBeGreaterThan(0);
    expect(outputAtKill.at(-1)!).toBeLessThan(out.length);
    expect(latest, log.slice(-20).join('\n')).toEqual(expected);
    const lastSeen = new Map<string, number>();
    const duplicates: string[] = [];
    for (const r of out) {
      const w = r.key!.toString();
      const n = Number(r.value!.readBigInt64BE(0));
      if (n <= (lastSeen.get(w) ?? 0)) duplicates.push(`${w}: ${n} after ${lastSeen.get(w)}`);
      lastSeen.set(w, n);
    }
    expect(duplicates).toEqual([]);
  }, 240_000);

  it('at_least_once: nothing is lost (counts may exceed, never fall short)', async () => {
    const { kills, expected, latest, log, outputAtKill } = await crashAndRecover('at_least_once');
    expect(outputAtKill[0]).toBeGreaterThan(0);
    expect(kills).toBeGreaterThanOrEqual(3);
    const short = [...expected].filter(([w, n]) => (latest.get(w) ?? 0) < n);
    expect(short, log.slice(-20).join('\n')).toEqual([]);
  }, 240_000);
});
