/**
 * Differential tests: every topology of topologies.ts runs in our TopologyTestDriver and, in one
 * JVM for the whole file, in Kafka Streams' (the version java/pom.xml names), on the same
 * generated inputs; outputs (key, value, timestamp, order per topic) and store contents must
 * agree byte for byte, up to the deviations documented in README.md. DIFF_SEED=<n> replays a
 * run; DIFF_RUNS=<n> sets the number of cases per topology; DIFF_ROCKSDB=1 gives Kafka Streams
 * its default RocksDB stores instead of in-memory ones (slow).
 */

import { Serdes } from '@kafka-pattern/streams-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type GeneratedCase,
  generateCases,
  maskKnownBugs,
  normalizeJava,
  runOurs,
  withoutAbsentTableTombstones,
} from './cases.ts';
import {
  type CaseResult,
  type JavaCase,
  kafkaStreamsVersion,
  type OutputRecord,
  runJava,
} from './java-runner.ts';
import { type DiffTopology, topologies } from './topologies.ts';

const seed = process.env.DIFF_SEED ? Number(process.env.DIFF_SEED) : Math.floor(Math.random() * 2 ** 31);
const runs = process.env.DIFF_RUNS ? Number(process.env.DIFF_RUNS) : 100;
const rocksDb = process.env.DIFF_ROCKSDB === '1';
/** One JVM runs every case; a RocksDB database per store per case makes it far slower. */
const javaTimeoutMs = rocksDb ? 1_800_000 : 170_000;

interface Planned {
  readonly topology: DiffTopology;
  readonly generated: GeneratedCase;
  readonly javaCase: JavaCase;
}

const S = Serdes.String();

/** A fixed case over String keys and values; Kafka Streams gets this raw input, unnormalized. */
function fixedCase(
  id: string,
  topology: string,
  outputs: string[],
  steps: [string, string | null, string | null, number][],
  params: Record<string, number> = {},
): JavaCase {
  return {
    id,
    topology,
    params,
    steps: steps.map(([topic, key, value, timestamp]) => ({
      topic,
      key: hex(S.serialize(topic, key)),
      value: hex(S.serialize(topic, value)),
      timestamp,
    })),
    outputs,
    stores: [],
  };
}

/** Fixed cases that pin down the deviations and the known bugs of README.md. */
const fixedCases = {
  tableTombstones: fixedCase(
    'fixed:table-tombstones',
    'table-ops',
    ['out-raw', 'out'],
    [
      ['tin', 'a', null, 1],
      ['tin', 'a', 'bb', 2],
      ['tin', 'b', 'abc', 3],
      ['tin', 'b', 'a', 4],
    ],
  ),
  emptyForeignValue: fixedCase(
    'fixed:empty-foreign-value',
    'foreign-key-join',
    ['out-inner', 'out-left'],
    [
      ['customers', 'bb', '', 1],
      ['orders', 'o', 'bb', 2],
    ],
  ),
  foreignKeyDeleteTimestamp: fixedCase(
    'fixed:foreign-key-delete-timestamp',
    'foreign-key-join',
    ['out-inner', 'out-left'],
    [
      ['orders', 'b', 'a', 0],
      ['customers', 'a', 'ab', 16],
      ['orders', 'b', null, 15],
    ],
  ),
};

/** Generated cases that once differed, kept as they were found. */
const regressions = [
  // Sliding windows of 1 ms with 2 ms of grace, records out of order within grace.
  fixedCase(
    'regression:sliding-out-of-order',
    'sliding-count',
    ['out', 'out-agg'],
    [
      ['in', 'a', 'w', 15],
      ['in', 'a', 'x', 18],
      ['in', 'a', 'y', 17],
      ['in', 'a', 'z', 16],
    ],
    { diff: 1, grace: 2 },
  ),
  // Two values of one key at one timestamp waiting in an outer join's store of unmatched records.
  fixedCase(
    'regression:outer-join-duplicate-key',
    'stream-stream-join',
    ['out-inner', 'out-left', 'out-outer'],
    [
      ['right', 'a', '', 4],
      ['right', 'a', 'bb ab a', 4],
      ['right', 'a', '', 0],
      ['right', 'ccc', 'c bb dd', 14],
      ['left', 'bb', 'dd a abc', 2],
      ['left', 'b', 'c', 17],
      ['right', 'bb', 'abc c', 0],
      ['left', 'bb', 'abc abc c', 19],
      ['right', 'a', 'bb', 21],
      ['left', 'bb', 'a a a', 29],
      ['right', 'ccc', 'c a', 30],
    ],
    { diff: 13, grace: 1, after: 15 },
  ),
  // A session reduced to null moves the store's stream time: the older session expires unmerged.
  fixedCase(
    'regression:session-delete-advances-stream-time',
    'session-windows',
    ['out-count', 'out-reduce'],
    [
      ['in', 'bb', 'ab a', 0],
      ['in', 'bb', 'abc c a', 14],
      ['in', 'b', null, 38],
      ['in', 'bb', 'abc a', 23],
    ],
    { gap: 16, grace: 6 },
  ),
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
  const results = runJava([...planned.map((p) => p.javaCase), ...Object.values(fixedCases), ...regressions]);
  for (const r of results) java.set(r.id, r);
}, javaTimeoutMs);

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

describe(`Kafka Streams ${kafkaStreamsVersion()}${rocksDb ? ' (RocksDB stores)' : ''} and ours agree on generated inputs (seed ${seed}, ${runs} cases per topology)`, () => {
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
        const diff = difference(
          p,
          maskKnownBugs(topology, ours),
          maskKnownBugs(topology, normalizeJava(topology, theirs!)),
        );
        if (diff) failures.push(diff);
      }
      if (failures.length > 0) {
        throw new Error(
          `${failures.length} of ${runs} cases differ (replay with DIFF_SEED=${seed})\n\n${failures.slice(0, Number(process.env.DIFF_SHOW ?? 2)).join('\n\n')}`,
        );
      }
      // Guards against a harness that compares two empty outputs.
      expect(records).toBeGreaterThan(0);
    });
  }
});

function decoded(rs: readonly OutputRecord[] | undefined): [string | null, string | null, number][] {
  return (rs ?? []).map((r) => [
    r.key === null ? null : S.deserialize('', Buffer.from(r.key, 'hex')),
    r.value === null ? null : S.deserialize('', Buffer.from(r.value, 'hex')),
    r.timestamp,
  ]);
}

function runFixed(c: JavaCase): { ours: CaseResult; theirs: CaseResult } {
  const theirs = java.get(c.id)!;
  expect(theirs.error).toBeUndefined();
  return { ours: runOurs(topologies.find((t) => t.name === c.topology)!, c), theirs };
}

describe('regressions: cases that once differed', () => {
  for (const c of regressions) {
    it(c.id, () => {
      const { ours, theirs } = runFixed(c);
      expect(ours.outputs).toEqual(theirs.outputs);
    });
  }
});

describe('deviations from Kafka Streams, asserted', () => {
  it('a tombstone for a key the table does not hold, and a filtered-out row never in the result, are not forwarded', () => {
    const { ours, theirs } = runFixed(fixedCases.tableTombstones);
    expect(decoded(theirs.outputs['out-raw'])).toEqual([
      ['a', null, 1],
      ['a', 'bb', 2],
      ['b', 'abc', 3],
      ['b', 'a', 4],
    ]);
    expect(decoded(ours.outputs['out-raw'])).toEqual([
      ['a', 'bb', 2],
      ['b', 'abc', 3],
      ['b', 'a', 4],
    ]);
    expect(decoded(theirs.outputs.out)).toEqual([
      ['a', null, 1],
      ['a', 'a=bb!', 2],
      ['b', null, 3],
      ['b', null, 4],
    ]);
    expect(decoded(ours.outputs.out)).toEqual([['a', 'a=bb!', 2]]);
  });

  it('a foreign-key join joins with a foreign row whose value serializes to no bytes; Kafka Streams reads it back as missing', () => {
    const { ours, theirs } = runFixed(fixedCases.emptyForeignValue);
    // Missing, so no result: a delete of a result that never was (see the first deviation).
    expect(decoded(theirs.outputs['out-inner'])).toEqual([['o', null, 2]]);
    expect(decoded(theirs.outputs['out-left'])).toEqual([['o', 'bb@null', 2]]);
    expect(decoded(ours.outputs['out-inner'])).toEqual([['o', 'bb@', 2]]);
    expect(decoded(ours.outputs['out-left'])).toEqual([['o', 'bb@', 2]]);
  });
});

describe('foreign-key join retraction timestamps (a bug found by this suite, now fixed)', () => {
  // Kafka Streams sends an inner join's retraction (order deleted, or without a foreign key) through
  // the old foreign key's partition, so it carries the later of the order's and the foreign row's
  // timestamps; a left join's is resolved on the order's side with the order's timestamp.
  it("Kafka Streams: a foreign-key join result deleted by its order carries the foreign row's timestamp when that is later", () => {
    const { theirs } = runFixed(fixedCases.foreignKeyDeleteTimestamp);
    expect(decoded(theirs.outputs['out-inner'])).toEqual([
      ['b', 'a@ab', 16],
      ['b', null, 16],
    ]);
  });
  it('ours: the same', () => {
    const { ours, theirs } = runFixed(fixedCases.foreignKeyDeleteTimestamp);
    expect(decoded(ours.outputs['out-inner'])).toEqual(decoded(theirs.outputs['out-inner']));
    expect(decoded(ours.outputs['out-left'])).toEqual(decoded(theirs.outputs['out-left']));
  });
});
