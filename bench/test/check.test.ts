import { describe, expect, it } from 'vitest';
import { canonicalJson, compareOutputs, longValue } from '../src/harness/check.ts';
import { peerTables, type Report, type Row } from '../src/harness/report.ts';
import { countOutput } from '../src/stateful/workload.ts';
import { statelessOutput } from '../src/stateless/workload.ts';

describe('compareOutputs', () => {
  it('takes the same lines in any order, as often as expected', () => {
    expect(compareOutputs(['b', 'a', 'a'], ['a', 'b', 'a'])).toBeUndefined();
  });

  it('names what is missing and what was not expected', () => {
    const difference = compareOutputs(['a', 'c', 'c'], ['a', 'b', 'c']);
    expect(difference).toContain('3 records written, 3 expected; 1 missing, 1 not expected');
    expect(difference).toMatch(/missing, e\.g\.:\n {4}b/);
    expect(difference).toMatch(/not expected, e\.g\.:\n {4}c/);
  });
});

describe('canonical outputs', () => {
  it('compares JSON whatever its field order and number formatting', () => {
    expect(canonicalJson('{"b":200.0,"a":{"y":1,"x":[2.50]}}')).toBe('{"a":{"x":[2.5],"y":1},"b":200}');
  });

  it('reads a count as an 8-byte long', () => {
    const value = Buffer.alloc(8);
    value.writeBigInt64BE(42n);
    expect(longValue(value)).toBe('42');
    expect(countOutput.canonical(Buffer.from('key-0001'), value)).toBe('key-0001\t42');
  });

  it('expects the count of every update and the priced orders that pass', () => {
    const counts = countOutput.expected(30_000);
    expect(counts).toHaveLength(30_000);
    // 9,999 keys: every key is counted three times in 30,000 records, the last count is 3.
    expect(counts.filter((l) => l.endsWith('\t3'))).toHaveLength(9_999);
    const orders = statelessOutput.expected(1_000);
    expect(orders.length).toBeGreaterThan(700);
    const [key, json] = orders[0]!.split('\t');
    expect(key).toMatch(/^user-/);
    expect(Object.keys(JSON.parse(json!) as object)).toEqual(
      [...Object.keys(JSON.parse(json!) as object)].sort(),
    );
  });
});

describe('peerTables', () => {
  const row = (subject: string, guarantee: Row['guarantee'], perSec: number, perCpuSec?: number): Row => ({
    scenario: 'stateless',
    subject,
    guarantee,
    recordsPerSec: perSec,
    runs: [perSec],
    ...(perCpuSec === undefined ? {} : { recordsPerCpuSec: perCpuSec }),
    baselines: [],
    peakRssMiB: 100,
  });
  const report = (rows: Row[]) =>
    ({
      scenarios: [{ name: 'stateless', summary: '', records: 1, baselines: [] }],
      rows,
    }) as unknown as Report;

  it('puts every implementation in one table, each divided by the baseline of its guarantee', () => {
    const text = peerTables(
      report([
        row('kafka-pattern', 'at_least_once', 150, 300),
        row('Kafka Streams (Java)', 'at_least_once', 100, 200),
        row('KafkaJS', 'at_least_once', 50),
        row('Kafka Streams (Java)', 'exactly_once_v2', 80, 160),
        row('kafka-pattern', 'exactly_once_v2', 40, 80),
      ]),
      'Kafka Streams (Java)',
    );
    const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('Every') && !l.startsWith('-'));
    expect(lines[0]).toMatch(/^stateless\s+measure\s+Kafka Streams \(Java\)\s+kafka-pattern\s+KafkaJS$/);
    expect(lines[1]).toMatch(/^at_least_once\s+records\/s\s+100\s+150 \(1\.50×\)\s+50 \(0\.50×\)$/);
    expect(lines[2]).toMatch(/^at_least_once\s+per CPU-s\s+200\s+300 \(1\.50×\)\s+—$/);
    expect(lines[3]).toMatch(/^exactly_once_v2\s+records\/s\s+80\s+40 \(0\.50×\)\s+—$/);
  });

  it('leaves out a scenario whose baseline did not run', () => {
    expect(peerTables(report([row('kafka-pattern', 'at_least_once', 1)]), 'Kafka Streams (Java)')).toBe('');
  });
});

describe('peerTables as markdown', () => {
  it('writes one markdown table per scenario', () => {
    const row = (subject: string, perSec: number): Row => ({
      scenario: 'stateless',
      subject,
      guarantee: 'at_least_once',
      recordsPerSec: perSec,
      runs: [perSec],
      baselines: [],
      peakRssMiB: 100,
    });
    const report = {
      scenarios: [{ name: 'stateless', summary: '', records: 1, baselines: [] }],
      rows: [row('Kafka Streams (Java)', 100), row('kafka-pattern', 150)],
    } as unknown as Report;
    const text = peerTables(report, 'Kafka Streams (Java)', 'markdown');
    expect(text).toContain('| stateless | measure | Kafka Streams (Java) | kafka-pattern |');
    expect(text).toContain('| --- | --- | --: | --: |');
    expect(text).toContain('| at_least_once | records/s | 100 | 150 (1.50×) |');
  });
});

describe('peerTables with peers', () => {
  it('gives a peer that ran elsewhere a column of — where it has no implementation', () => {
    const row = (scenario: string, subject: string, perSec: number): Row => ({
      scenario,
      subject,
      guarantee: 'at_least_once',
      recordsPerSec: perSec,
      runs: [perSec],
      baselines: [],
      peakRssMiB: 100,
    });
    const report = {
      scenarios: ['stateless', 'stateful count', 'join'].map((name) => ({
        name,
        summary: '',
        records: 1,
        baselines: [],
      })),
      rows: [
        row('stateless', 'Kafka Streams (Java)', 100),
        row('stateless', 'KafkaJS', 50),
        row('stateful count', 'Kafka Streams (Java)', 100),
        row('stateful count', 'KafkaJS + Map', 50),
        row('join', 'Kafka Streams (Java)', 100),
      ],
    } as unknown as Report;
    const text = peerTables(report, 'Kafka Streams (Java)', 'markdown', ['KafkaJS', '@kafkats/flow']);
    expect(text).toContain('| stateful count | measure | Kafka Streams (Java) | KafkaJS + Map |\n');
    expect(text).toContain('| join | measure | Kafka Streams (Java) | KafkaJS |\n');
    expect(text).toContain('| at_least_once | records/s | 100 | — |');
  });
});
