/**
 * Generated cases and how both engines' results are compared: small key spaces so that keys
 * collide, timestamps that go back in time within and beyond the grace period, null keys, null
 * values and tombstones. Each case is written as bytes, so both engines read the same input.
 */

import { Serdes } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import fc from 'fast-check';
import type { CaseResult, JavaCase, JavaStep, OutputRecord } from './java-runner.ts';
import type { DiffTopology, InputSpec, Params } from './topologies.ts';

export type GeneratedCase = JavaCase;

const KEYS = ['a', 'b', 'bb', 'ccc'] as const;
const WORDS = ['a', 'bb', 'ab', 'c', 'dd', 'abc'] as const;

const keyArb = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...KEYS) },
  { weight: 1, arbitrary: fc.constant(null) },
);

function valueArb(spec: InputSpec): fc.Arbitrary<string | number | null> {
  const nulls = spec.table ? 3 : 1;
  const present: fc.Arbitrary<string | number> =
    spec.values === 'long'
      ? fc.integer({ min: 0, max: 20 })
      : fc
          .array(fc.constantFrom(...WORDS), {
            minLength: spec.values === 'nonEmptyWords' ? 1 : 0,
            maxLength: 3,
          })
          .map((ws) => ws.join(' '));
  return fc.oneof({ weight: 12, arbitrary: present }, { weight: nulls, arbitrary: fc.constant(null) });
}

/**
 * Time moves on in small steps, and now and then goes back: a little (within most grace
 * periods) or a lot (beyond them).
 */
const deltaArb = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 0, max: 12 }) },
  { weight: 3, arbitrary: fc.integer({ min: -15, max: -1 }) },
  { weight: 1, arbitrary: fc.integer({ min: -80, max: -16 }) },
);

/** Window sizes, grace periods and join windows, per topology. */
const paramsArb: Record<string, fc.Arbitrary<Params>> = {
  'tumbling-windows': fc.record({
    size: fc.integer({ min: 3, max: 30 }),
    grace: fc.integer({ min: 0, max: 20 }),
  }),
  'hopping-count': fc
    .record({
      size: fc.integer({ min: 2, max: 30 }),
      grace: fc.integer({ min: 0, max: 20 }),
      advanceFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    .map(({ size, grace, advanceFraction }) => ({
      size,
      grace,
      advance: Math.max(1, Math.ceil(size * advanceFraction)),
    })),
  'sliding-count': fc.record({
    diff: fc.integer({ min: 1, max: 25 }),
    grace: fc.integer({ min: 0, max: 20 }),
  }),
  'session-windows': fc.record({
    gap: fc.integer({ min: 1, max: 20 }),
    grace: fc.integer({ min: 0, max: 20 }),
  }),
  'suppressed-windows': fc.record({
    size: fc.integer({ min: 3, max: 30 }),
    gap: fc.integer({ min: 1, max: 20 }),
    grace: fc.integer({ min: 0, max: 20 }),
  }),
  'stream-stream-join': fc
    .record({
      diff: fc.integer({ min: 0, max: 20 }),
      grace: fc.integer({ min: 0, max: 20 }),
      afterShift: fc.integer({ min: -10, max: 10 }),
    })
    // before + after must not be negative: after >= -diff.
    .map(({ diff, grace, afterShift }) => ({ diff, grace, after: Math.max(-diff, diff + afterShift) })),
  'suppress-time-limit': fc.record({
    limit: fc.integer({ min: 0, max: 25 }),
    maxRecords: fc.integer({ min: 1, max: 4 }),
    size: fc.integer({ min: 3, max: 30 }),
    grace: fc.integer({ min: 0, max: 20 }),
  }),
};

function caseArb(topology: DiffTopology): fc.Arbitrary<{ params: Params; steps: JavaStep[] }> {
  const topics = Object.keys(topology.inputs);
  const recordArb = fc.constantFrom(...topics).chain((topic) =>
    fc.record({
      topic: fc.constant(topic),
      key: keyArb,
      value: valueArb(topology.inputs[topic]!),
      delta: deltaArb,
    }),
  );
  return fc
    .record({
      params: paramsArb[topology.name] ?? fc.constant({}),
      records: fc.array(recordArb, { minLength: 1, maxLength: 40 }),
    })
    .map(({ params, records }) => {
      let streamTime = 0;
      const steps = records.map((r) => {
        const spec = topology.inputs[r.topic]!;
        const timestamp = Math.max(0, streamTime + r.delta);
        streamTime = Math.max(streamTime, timestamp);
        return {
          topic: r.topic,
          key: hex(spec.key.serialize(r.topic, r.key)),
          value: hex(spec.value.serialize(r.topic, r.value)),
          timestamp,
        };
      });
      return { params, steps };
    });
}

function hex(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : Buffer.from(bytes).toString('hex');
}

export function generateCases(topology: DiffTopology, seed: number, numRuns: number): GeneratedCase[] {
  return fc.sample(caseArb(topology), { seed, numRuns }).map(({ params, steps }, i) => ({
    id: `${topology.name}#${i}`,
    topology: topology.name,
    params,
    ...(topology.javaConfig ? { config: topology.javaConfig } : {}),
    steps,
    outputs: Object.keys(topology.outputs),
    stores: (topology.stores ?? []).map((s) => ({ ...s })),
  }));
}

/**
 * The input Kafka Streams is given: without tombstones for keys a table does not hold. Kafka
 * Streams forwards those as deletes of nothing; we drop them at the source (README, deviations).
 */
export function withoutAbsentTableTombstones(topology: DiffTopology, c: GeneratedCase): GeneratedCase {
  const present = new Map<string, Set<string>>();
  const steps = c.steps.filter((s) => {
    if (s.topic === undefined || !topology.inputs[s.topic]?.table || s.key === null || s.key === undefined)
      return true;
    const keys = present.get(s.topic) ?? new Set<string>();
    present.set(s.topic, keys);
    if (s.value !== null && s.value !== undefined) {
      keys.add(s.key);
      return true;
    }
    return keys.delete(s.key);
  });
  return { ...c, steps };
}

/**
 * Kafka Streams' output with its deletes of keys that were never in a filtered table's result
 * taken out: what is left must equal ours record for record (README, deviations).
 */
export function normalizeJava(topology: DiffTopology, result: CaseResult): CaseResult {
  const outputs: Record<string, OutputRecord[]> = {};
  for (const [topic, records] of Object.entries(result.outputs)) {
    if (!topology.outputs[topic]?.filteredTable) {
      outputs[topic] = records;
      continue;
    }
    const present = new Set<string | null>();
    outputs[topic] = records.filter((r) => {
      if (r.value !== null) {
        present.add(r.key);
        return true;
      }
      return present.delete(r.key);
    });
  }
  return { ...result, outputs };
}

/** Runs one case through our TopologyTestDriver, in the shape the Java runner reports. */
export function runOurs(topology: DiffTopology, c: JavaCase): CaseResult {
  const driver = new TopologyTestDriver(topology.build(c.params), { initialWallClockTime: 0 });
  const bytes = Serdes.ByteArray();
  const result: { id: string; outputs: CaseResult['outputs']; stores: CaseResult['stores']; error?: string } =
    { id: c.id, outputs: {}, stores: {} };
  try {
    const outputs = c.outputs.map((t) => [t, driver.createOutputTopic(t, bytes, bytes)] as const);
    const inputs = new Map<string, ReturnType<TopologyTestDriver['createInputTopic']>>();
    try {
      for (const s of c.steps) {
        if (s.advanceWallClockMs !== undefined) {
          driver.advanceWallClockTime(s.advanceWallClockMs);
          continue;
        }
        const input = inputs.get(s.topic!) ?? driver.createInputTopic(s.topic!, bytes, bytes);
        inputs.set(s.topic!, input);
        input.pipeInput(fromHex(s.key), fromHex(s.value), s.timestamp);
      }
    } catch (e) {
      result.error = String((e as Error).stack ?? e);
    }
    for (const [topic, out] of outputs) {
      result.outputs[topic] = out
        .readRecordsToList()
        .map((r) => ({ key: hex(r.key), value: hex(r.value), timestamp: r.timestamp }));
    }
    for (const s of c.stores) {
      result.stores[s.name] = driver
        .getKeyValueStore<string, string | number>(s.name)
        .all()
        .map((kv) => [kv.key, kv.value]);
    }
  } finally {
    driver.close();
  }
  return result;
}

function fromHex(s: string | null | undefined): Buffer | null {
  return s === null || s === undefined ? null : Buffer.from(s, 'hex');
}

/** Both sides' output with the timestamps a known, reported bug gets wrong taken out (README). */
export function maskKnownBugs(topology: DiffTopology, result: CaseResult): CaseResult {
  const outputs: Record<string, OutputRecord[]> = {};
  for (const [topic, records] of Object.entries(result.outputs)) {
    const mask = topology.outputs[topic]?.knownBugTimestamps;
    outputs[topic] =
      mask === undefined
        ? records
        : records.map((r) => (mask === 'all' || r.value === null ? { ...r, timestamp: -1 } : r));
  }
  return { ...result, outputs };
}
