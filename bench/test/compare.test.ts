import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { comparisonRows, twinName, withTwins } from '../src/harness/compare.ts';
import type { Row } from '../src/harness/report.ts';
import { SCENARIOS } from '../src/scenarios.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const stateless = SCENARIOS.find((s) => s.name === 'stateless')!;
const dirs: string[] = [];

function checkoutWith(...files: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'kp-bench-compare-'));
  dirs.push(dir);
  for (const f of files) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), '');
  }
  return { ref: 'HEAD~1', commit: 'a'.repeat(40), short: 'aaaaaaa', dir };
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('twins', () => {
  it('names a twin after the first word of its subject', () => {
    expect(twinName('kafka-pattern', '1a2b3c4')).toBe('kafka-pattern@1a2b3c4');
    expect(twinName('kafka-pattern SQLite', '1a2b3c4')).toBe('kafka-pattern@1a2b3c4 SQLite');
  });

  it('puts a twin of each framework subject right after it, with the module inside the checkout', () => {
    const checkout = checkoutWith('bench/src/stateless/kafka-streams.ts');
    const twinned = withTwins(stateless, checkout, root, () => {});
    expect(twinned.subjects.map((s) => `${s.name} ${s.guarantee}`)).toEqual([
      'Kafka Streams (Java) at_least_once',
      'Kafka Streams (Java) exactly_once_v2',
      'kafka-pattern at_least_once',
      'kafka-pattern@aaaaaaa at_least_once',
      'kafka-pattern exactly_once_v2',
      'kafka-pattern@aaaaaaa exactly_once_v2',
      'kafka-pattern 2 threads at_least_once',
      'kafka-pattern@aaaaaaa 2 threads at_least_once',
      'kafka-pattern 2 threads exactly_once_v2',
      'kafka-pattern@aaaaaaa 2 threads exactly_once_v2',
      'raw pipe at_least_once',
      'raw pipe exactly_once_v2',
      'RxJS receiver → sender at_least_once',
      'RxJS receiver → sender exactly_once_v2',
      'KafkaJS at_least_once',
      'KafkaJS exactly_once_v2',
      '@kafkats/flow at_least_once',
      '@kafkats/flow exactly_once_v2',
    ]);
    const twin = twinned.subjects[3]!;
    expect(fileURLToPath(twin.module)).toBe(join(checkout.dir, 'bench/src/stateless/kafka-streams.ts'));
    expect(twin.twinOf).toBe('kafka-pattern');
  });

  it('skips a subject whose module the checkout does not have, with one note per module', () => {
    const notes: string[] = [];
    const twinned = withTwins(stateless, checkoutWith(), root, (n) => notes.push(n));
    expect(twinned.subjects).toEqual(stateless.subjects);
    expect(notes).toEqual([
      'compare: stateless: no twin at aaaaaaa, bench/src/stateless/kafka-streams.ts does not exist there',
    ]);
  });
});

describe('comparisonRows', () => {
  const row = (subject: string, recordsPerSec: number, p99Ms?: number, twinOf?: string): Row => ({
    scenario: 'stateless',
    subject,
    guarantee: 'at_least_once',
    recordsPerSec,
    runs: [recordsPerSec * 0.9, recordsPerSec, recordsPerSec * 1.3],
    baselines: [],
    peakRssMiB: 100,
    ...(p99Ms === undefined ? {} : { latency: { p50Ms: 1, p99Ms, samples: 10 } }),
    ...(twinOf === undefined ? {} : { twinOf }),
  });

  it('pairs each twin with its subject: records/s of both, current ÷ ref, p99 of both', () => {
    const rows = [
      row('kafka-pattern', 90, 20),
      row('kafka-pattern@aaaaaaa', 60, 30, 'kafka-pattern'),
      row('raw pipe', 80),
    ];
    expect(comparisonRows(rows)).toEqual([
      {
        scenario: 'stateless',
        subject: 'kafka-pattern',
        guarantee: 'at_least_once',
        current: { recordsPerSec: 90, spread: expect.closeTo(0.2, 9), p99Ms: 20 },
        ref: { recordsPerSec: 60, spread: expect.closeTo(0.2, 9), p99Ms: 30 },
        ratio: 1.5,
      },
    ]);
  });
});
