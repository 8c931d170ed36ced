/**
 * A rebalance while a batch is in flight (its outputs written, not yet acknowledged): under
 * exactly_once_v2 none of that batch's output becomes visible and every count ends exact; under
 * at_least_once nothing is lost.
 */
import { Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { describe, expect, it } from 'vitest';
import { counting, eventually, Gate, longs, rec, strings, useHarness } from '../support/harness.ts';

const S = Serdes.String();
const harness = useHarness();

function upperCase() {
  const builder = new StreamsBuilder();
  builder
    .stream('in', { key: S, value: S })
    .mapValues((v) => v.toUpperCase())
    .to('out', { key: S, value: S });
  return builder.build();
}

/** Counts emitted per key, in output order. */
function countsByKey(pairs: Array<[string | null, number | null]>): Record<string, Array<number | null>> {
  const out: Record<string, Array<number | null>> = {};
  for (const [k, v] of pairs) {
    out[k!] ??= [];
    out[k!]!.push(v);
  }
  return out;
}

const onBoth = (round: number) => [
  rec('in', 'k0', `p0-${round}`, { partition: 0 }),
  rec('in', 'k1', `p1-${round}`, { partition: 1 }),
];

describe('revocation mid-batch', () => {
  it('exactly_once_v2: a member joining while a batch is in flight leaves none of it visible; counts exact', async () => {
    const h = harness();
    const { kafka } = h;
    kafka.createTopic('in', 2);
    kafka.createTopic('out', 1);
    const config = {
      applicationId: 'revoke-eos',
      processingGuarantee: 'exactly_once_v2' as const,
      cacheMaxBytes: 0,
      commitIntervalMs: 0,
    };
    const a = h.app(counting(), { ...config, clientId: 'a' });
    await a.start();
    kafka.produce(onBoth(1));
    await eventually(
      () =>
        kafka.committedOffset('revoke-eos', 'in', 0) === 1n &&
        kafka.committedOffset('revoke-eos', 'in', 1) === 1n,
      'the first round committed',
    );

    const gate = new Gate();
    kafka.intercept('ack', async (send) => {
      if (send.clientId.startsWith('a-') && send.records.some((r) => r.topic === 'out')) await gate.wait();
    });
    kafka.produce([...onBoth(2), ...onBoth(3)]);
    await eventually(() => gate.waiting > 0, "a's batch in flight");
    const b = h.app(counting(), { ...config, clientId: 'b' });
    await b.start();
    await eventually(() => kafka.members('revoke-eos').length === 2, 'b joined the group');
    gate.open();

    await eventually(
      () =>
        kafka.committedOffset('revoke-eos', 'in', 0) === 3n &&
        kafka.committedOffset('revoke-eos', 'in', 1) === 3n,
      'every record committed',
      5_000,
      () => kafka.committed('revoke-eos'),
    );
    await eventually(() => a.activeTaskIds().length === 1 && b.activeTaskIds().length === 1, 'one task each');
    // a's in-flight batch was aborted, not committed: its outputs are in the log, invisible.
    const aborted = kafka
      .transactions()
      .filter((t) => t.state === 'aborted' && t.records.some((r) => r.topic === 'out'));
    expect(aborted.length).toBeGreaterThan(0);
    expect(countsByKey(longs(kafka.records('out')))).toEqual({ k0: [1, 2, 3], k1: [1, 2, 3] });
    expect(
      longs(kafka.records('out', { isolation: 'read_uncommitted' })).length,
      'the aborted outputs are in the log',
    ).toBeGreaterThan(6);
  });

  /**
   * After a fenced commit nothing of the generation that ended is restarted: were the partitions
   * that moved to the other member read again (require-stable committed offsets, stable changelog
   * ends), this member would wait for that member's open transaction before processing anything
   * of its own partitions.
   */
  it('exactly_once_v2: after a fenced commit, a member goes on with its own partitions while the new owner of the others has a transaction open', async () => {
    const h = harness();
    const { kafka } = h;
    kafka.createTopic('in', 2);
    kafka.createTopic('out', 1);
    const config = {
      applicationId: 'stall',
      processingGuarantee: 'exactly_once_v2' as const,
      cacheMaxBytes: 0,
      commitIntervalMs: 0,
    };
    const a = h.app(counting(), { ...config, clientId: 'a' });
    await a.start();
    const aGate = new Gate();
    kafka.intercept('ack', async (send) => {
      if (send.clientId.startsWith('a-') && send.records.some((r) => r.topic === 'out')) await aGate.wait();
    });
    kafka.produce(onBoth(1));
    await eventually(() => aGate.waiting > 0, "a's batch in flight");
    // b takes partition 1 and keeps its first transaction (offsets sent, not committed) open.
    const bGate = new Gate();
    kafka.intercept('commitTransaction', async (c) => {
      const b = kafka.clients.find((x) => x.kind === 'producer' && x.clientId.startsWith('b-'));
      if (c.transactionalId === b?.transactionalId && c.transaction?.records.length) await bGate.wait();
    });
    // Whatever a reads after its abort (committed offsets, the next poll, in which it takes up the
    // new generation) it reads once b's transaction is open: the order a busy b makes likely.
    const aAbort = new Gate();
    const aborted = () => kafka.transactions().some((t) => t.state === 'aborted');
    kafka.intercept('committed', async (c) => {
      if (c.clientId.startsWith('a-') && aborted()) await aAbort.wait();
    });
    kafka.intercept('poll', async (c) => {
      if (c.clientId.startsWith('a-') && aborted()) await aAbort.wait();
    });
    const b = h.app(counting(), { ...config, clientId: 'b' });
    await b.start();
    await eventually(() => kafka.members('stall').length === 2, 'b joined the group');
    aGate.open();
    await eventually(() => aAbort.waiting > 0, "a's fenced commit aborted");
    await eventually(() => bGate.waiting > 0, "b's transaction open on partition 1");
    aAbort.open();
    try {
      kafka.produce([rec('in', 'k0', 'p0-2', { partition: 0 })]);
      await eventually(
        () => kafka.committedOffset('stall', 'in', 0) === 2n,
        "a's own partition 0 processed while b's transaction is open",
        2_000,
      );
    } finally {
      bGate.open();
    }
  });

  it('exactly_once_v2: revoke everything and assign a new set while a batch is in flight', async () => {
    const h = harness();
    const { kafka } = h;
    kafka.createTopic('in', 2);
    kafka.createTopic('out', 1);
    const app = h.app(counting(), {
      applicationId: 'revoke-set',
      processingGuarantee: 'exactly_once_v2',
      cacheMaxBytes: 0,
      commitIntervalMs: 0,
    });
    await app.start();
    await app.waitForRunning();
    expect(app.activeTaskIds()).toEqual(['0_0', '0_1']);
    const [member] = kafka.members('revoke-set');
    const gate = new Gate();
    const release = kafka.intercept('ack', async (send) => {
      if (send.records.some((r) => r.topic === 'out')) await gate.wait();
    });
    kafka.produce([...onBoth(1), ...onBoth(2)]);
    await eventually(() => gate.waiting > 0, 'a batch in flight');
    kafka.rebalance('revoke-set', { [member!.clientId]: [{ topic: 'in', partition: 1 }] });
    gate.open();
    release();
    await eventually(() => kafka.committedOffset('revoke-set', 'in', 1) === 2n, 'partition 1 committed');
    expect(app.activeTaskIds()).toEqual(['0_1']);
    // Partition 0 went nowhere: none of its in-flight output is visible, its offset did not move.
    expect(kafka.committedOffset('revoke-set', 'in', 0)).toBeUndefined();
    expect(countsByKey(longs(kafka.records('out')))).toEqual({ k1: [1, 2] });

    kafka.rebalance('revoke-set');
    await eventually(() => kafka.committedOffset('revoke-set', 'in', 0) === 2n, 'partition 0 committed');
    expect(app.activeTaskIds()).toEqual(['0_0', '0_1']);
    expect(countsByKey(longs(kafka.records('out')))).toEqual({ k1: [1, 2], k0: [1, 2] });
  });

  it('at_least_once: a member joining while a batch is in flight loses nothing', async () => {
    const h = harness();
    const { kafka } = h;
    kafka.createTopic('in', 2);
    kafka.createTopic('out', 1);
    const config = { applicationId: 'revoke-alos', commitIntervalMs: 0 };
    const a = h.app(upperCase(), { ...config, clientId: 'a' });
    await a.start();
    const gate = new Gate();
    kafka.intercept('ack', async (send) => {
      if (send.clientId.startsWith('a-') && send.records.some((r) => r.topic === 'out')) await gate.wait();
    });
    const inputs = [...onBoth(1), ...onBoth(2)];
    kafka.produce(inputs);
    await eventually(() => gate.waiting > 0, "a's batch in flight");
    const b = h.app(upperCase(), { ...config, clientId: 'b' });
    await b.start();
    await eventually(() => kafka.members('revoke-alos').length === 2, 'b joined the group');
    gate.open();
    await eventually(
      () =>
        kafka.committedOffset('revoke-alos', 'in', 0) === 2n &&
        kafka.committedOffset('revoke-alos', 'in', 1) === 2n,
      'every record committed',
      5_000,
      () => kafka.committed('revoke-alos'),
    );
    const out = strings(kafka.records('out'));
    const expected = inputs.map((r) => r.value!.toString().toUpperCase());
    // Every input is in the output; a's refused commit means its batch was processed again.
    expect(new Set(out.map(([, v]) => v))).toEqual(new Set(expected));
    expect(out.length).toBeGreaterThan(expected.length);
  });
});
