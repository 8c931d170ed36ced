/**
 * Differential tests: every topology of topologies.ts runs in our TopologyTestDriver and, in one
 * JVM for the whole file, in Kafka Streams 4.1.1's, on the same generated inputs; outputs (key,
 * value, timestamp, order per topic) and store contents must agree byte for byte, up to the
 * deviations documented in README.md. DIFF_SEED=<n> replays a run; DIFF_RUNS=<n> sets the
 * number of cases per topology.
 */

import { Serdes } from '@kafka-pattern/streams-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type GeneratedCase,
  generateCases,
  normalizeJava,
  runOurs,
  withoutAbsentTableTombstones,
} from './cases.ts';
import { type CaseResult, type JavaCase, type OutputRecord, runJava } from './java-runner.ts';
import { type DiffTopology, topologies } from './topologies.ts';

const seed = process.env.DIFF_SEED ? Number(process.env.DIFF_SEED) : Math.floor(Math.random() * 2 ** 31);
const runs = process.env.DIFF_RUNS ? Number(process.env.DIFF_RUNS) : 60;

interface Planned {
  readonly topology: DiffTopology;
  readonly generated: GeneratedCase;
  readonly javaCase: JavaCase;
}

const S = Serdes.String();

/** Fixed cases that pin down the deviations: Kafka Streams gets the raw input here. */
const deviationCases: JavaCase[] = [
  {
    id: 'deviation:table-tombstones',
    topology: 'table-ops',
    params: {},
    steps: [
      { topic: 'tin', key: 'a', value: null, timestamp: 1 },
      { topic: 'tin', key: 'a', value: 'bb', timestamp: 2 },
      { topic: 'tin', key: 'b', value: 'abc', timestamp: 3 },
      { topic: 'tin', key: 'b', value: 'a', timestamp: 4 },
    ].map((s) => ({ ...s, key: hex(S.serialize('', s.key)), value: hex(S.serialize('', s.value)) })),
    outputs: ['out-raw', 'out'],
    stores: [],
  },
];

function hex(b: Uint8Array | null): string | null {
  return b === null ? null : Buffer.from(b).toString('hex');
}

const planned: Planned[] = topologies.flatMap((topology) =>
  generateCases(topology, seed, runs).map((generated) => ({
    topology,
    generated,
    javaCase: withoutAbsentTableTombstones(topology, generated),
  })),
);
const java = new Map<string, CaseResult>();

beforeAll(() => {
  const results = runJava([...planned.map((p) => p.javaCase), ...deviationCases]);
  for (const r of results) java.set(r.id, r);
}, 170_000);

function show(topology: DiffTopology, topic: string, records: readonly OutputRecord[] | undefined): string {
  const spec = topology.outputs[topic]!;
  return (records ?? [])
    .map((r) => {
      const key = r.key === null ? null : spec.key.deserialize(topic, Buffer.from(r.key, 'hex'));
      const value = r.value === null ? null : spec.value.deserialize(topic, Buffer.from(r.value, 'hex'));
      return `    ${JSON.stringify(key)} -> ${JSON.stringify(value)} @${r.timestamp}`;
    })
    .join('\n');
}

function showInput(topology: DiffTopology, c: GeneratedCase): string {
  return c.steps
    .map((s) => {
      if (s.advanceWallClockMs !== undefined) return `    (wall clock +${s.advanceWallClockMs})`;
      const spec = topology.inputs[s.topic!]!;
      const key = s.key == null ? null : spec.key.deserialize(s.topic!, Buffer.from(s.key, 'hex'));
      const value = s.value == null ? null : spec.value.deserialize(s.topic!, Buffer.from(s.value, 'hex'));
      return `    ${s.topic}: ${JSON.stringify(key)} -> ${JSON.stringify(value)} @${s.timestamp}`;
    })
    .join('\n');
}

/** The first difference of a case, described for a human, or undefined when both agree. */
function difference(p: Planned, ours: CaseResult, theirs: CaseResult): string | undefined {
  const head = `case ${p.generated.id} (seed ${seed}, params ${JSON.stringify(p.generated.params)})\n  input:\n${showInput(p.topology, p.generated)}`;
  if ((ours.error === undefined) !== (theirs.error === undefined)) {
    return `${head}\n  ours failed: ${ours.error ?? 'no'}\n  Kafka Streams failed: ${theirs.error ?? 'no'}`;
  }
  for (const topic of p.generated.outputs) {
    const a = ours.outputs[topic] ?? [];
    const b = theirs.outputs[topic] ?? [];
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      const at = a.findIndex((r, i) => JSON.stringify(r) !== JSON.stringify(b[i]));
      return `${head}\n  topic ${topic} differs at record ${at === -1 ? a.length : at}\n  ours:\n${show(p.topology, topic, a)}\n  Kafka Streams:\n${show(p.topology, topic, b)}`;
    }
  }
  for (const store of p.generated.stores) {
    const a = JSON.stringify(ours.stores[store.name]);
    const b = JSON.stringify(theirs.stores[store.name]);
    if (a !== b)
      return `${head}\n  store ${store.name} differs\n  ours:          ${a}\n  Kafka Streams: ${b}`;
  }
  return undefined;
}

describe(`Kafka Streams 4.1.1 and ours agree on generated inputs (seed ${seed}, ${runs} cases per topology)`, () => {
  for (const topology of topologies) {
    it(topology.name, () => {
      const failures: string[] = [];
      let records = 0;
      for (const p of planned) {
        if (p.topology !== topology) continue;
        const theirs = java.get(p.generated.id);
        expect(theirs, `no Kafka Streams result for ${p.generated.id}`).toBeDefined();
        const ours = runOurs(topology, p.generated);
        records += Object.values(ours.outputs).reduce((n, rs) => n + rs.length, 0);
        const diff = difference(p, ours, normalizeJava(topology, theirs!));
        if (diff) failures.push(diff);
      }
      if (failures.length > 0) {
        throw new Error(
          `${failures.length} of ${runs} cases differ (replay with DIFF_SEED=${seed})\n\n${failures.slice(0, 2).join('\n\n')}`,
        );
      }
      // Guards against a harness that compares two empty outputs.
      expect(records).toBeGreaterThan(0);
    });
  }
});

describe('deviations from Kafka Streams, asserted', () => {
  it('a tombstone for a key the table does not hold, and a filtered-out row never in the result, are not forwarded', () => {
    const c = deviationCases[0]!;
    const theirs = java.get(c.id)!;
    const table = topologies.find((t) => t.name === 'table-ops')!;
    const ours = runOurs(table, c);
    const decode = (rs: readonly OutputRecord[] | undefined) =>
      (rs ?? []).map((r) => [
        r.key && S.deserialize('', Buffer.from(r.key, 'hex')),
        r.value && S.deserialize('', Buffer.from(r.value, 'hex')),
        r.timestamp,
      ]);
    expect(theirs.error).toBeUndefined();
    expect(decode(theirs.outputs['out-raw'])).toEqual([
      ['a', null, 1],
      ['a', 'bb', 2],
      ['b', 'abc', 3],
      ['b', 'a', 4],
    ]);
    expect(decode(ours.outputs['out-raw'])).toEqual([
      ['a', 'bb', 2],
      ['b', 'abc', 3],
      ['b', 'a', 4],
    ]);
    expect(decode(theirs.outputs.out)).toEqual([
      ['a', null, 1],
      ['a', 'a=bb!', 2],
      ['b', null, 3],
      ['b', null, 4],
    ]);
    expect(decode(ours.outputs.out)).toEqual([['a', 'a=bb!', 2]]);
  });
});
