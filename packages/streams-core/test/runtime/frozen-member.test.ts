/**
 * A member frozen past its session timeout under exactly_once_v2 (SIGSTOP, then SIGCONT): the
 * coordinator removes it and the other member takes its partition over. Resumed, the zombie
 * still believes it owns that partition: it writes the batch it had built before the freeze and
 * commits. The coordinator refuses the offsets, which carry the generation and member id it no
 * longer has, so the transaction aborts; and the zombie restarts nothing of that generation: it
 * reads, processes and commits nothing until it has rejoined. Every count ends exact, no update
 * appears twice.
 */
import { describe, expect, it } from 'vitest';
import { counting, eventually, Gate, longs, rec, useHarness } from '../support/harness.ts';

const harness = useHarness();

const onBoth = (round: number) => [
  rec('in', 'k0', `p0-${round}`, { partition: 0 }),
  rec('in', 'k1', `p1-${round}`, { partition: 1 }),
];

/** Counts emitted per key, in output order. */
function countsByKey(pairs: Array<[string | null, number | null]>): Record<string, Array<number | null>> {
  const out: Record<string, Array<number | null>> = {};
  for (const [k, v] of pairs) {
    out[k!] ??= [];
    out[k!]!.push(v);
  }
  return out;
}

describe('a member frozen past its session timeout, then resumed', () => {
  it('exactly_once_v2: its commit is refused and it runs nothing until it has rejoined; counts exact', async () => {
    const h = harness();
    const { kafka } = h;
    kafka.createTopic('in', 2);
    kafka.createTopic('out', 2);
    const config = {
      applicationId: 'frozen',
      processingGuarantee: 'exactly_once_v2' as const,
      cacheMaxBytes: 0,
      commitIntervalMs: 0,
      client: { heartbeatIntervalMs: 20 },
    };
    const committedAll = (n: bigint) =>
      kafka.committedOffset('frozen', 'in', 0) === n && kafka.committedOffset('frozen', 'in', 1) === n;
    const a = h.app(counting(), { ...config, clientId: 'a' });
    await a.start();
    const b = h.app(counting(), { ...config, clientId: 'b' });
    await b.start();
    await eventually(() => a.activeTaskIds().length === 1 && b.activeTaskIds().length === 1, 'one task each');
    kafka.produce(onBoth(1));
    await eventually(() => committedAll(1n), 'round 1 committed');

    const aConsumer = kafka.clients.find((c) => c.kind === 'consumer' && c.clientId.startsWith('a-'))!;
    const aProducer = kafka.clients.find((c) => c.kind === 'producer' && c.clientId.startsWith('a-'))!;
    const aPartition = Number(a.activeTaskIds()[0]!.split('_')[1]);
    // a freezes with its next output batch built, not yet written; its heartbeats stop with it.
    const frozen = new Gate();
    kafka.intercept('send', async (send) => {
      if (send.clientId === aProducer.clientId && frozen.held === 0) await frozen.wait();
    });
    const heartbeat = new Gate();
    kafka.intercept('heartbeat', async (c) => {
      if (c.clientId === aConsumer.clientId) await heartbeat.wait();
    });
    const aOffsetCommits: string[] = [];
    kafka.intercept('sendOffsets', (c) => {
      if (c.transactionalId === aProducer.transactionalId) aOffsetCommits.push(c.groupId);
    });
    const aCommittedReads: string[] = [];
    kafka.intercept('committed', (c) => {
      if (c.clientId === aConsumer.clientId) aCommittedReads.push(c.groupId);
    });
    let aPolls = 0;
    kafka.intercept('poll', (c) => {
      if (c.clientId === aConsumer.clientId) aPolls++;
    });
    kafka.produce(onBoth(2));
    await eventually(() => frozen.waiting > 0, 'a frozen with a batch built');

    // The session times out: b takes a's partition over and goes on with both.
    kafka.expire(aConsumer.clientId);
    await eventually(() => b.activeTaskIds().length === 2 && committedAll(2n), "b committing a's partition");
    kafka.produce(onBoth(3));
    await eventually(() => committedAll(3n), 'round 3 committed by b');

    // a resumes: its batch of round 2 is written, its offsets are refused, the transaction aborts.
    const commitsBefore = aOffsetCommits.length;
    frozen.open();
    await eventually(
      () => kafka.transactions(aProducer.transactionalId).at(-1)?.state === 'aborted',
      "the zombie's transaction aborted",
    );
    const aborted = kafka.transactions(aProducer.transactionalId).at(-1)!;
    expect(
      aborted.records.some((r) => r.topic === 'out'),
      'the batch built before the freeze',
    ).toBe(true);
    expect(aOffsetCommits.length - commitsBefore).toBe(1);
    const pollsAtAbort = aPolls;
    const readsAtAbort = aCommittedReads.length;
    kafka.produce(onBoth(4));
    // Restarting its tasks would have read the committed offsets before the next poll, and by
    // the second poll processed and tried to commit round 4 of its partition.
    await eventually(() => aPolls >= pollsAtAbort + 2 && committedAll(4n), 'a polling, b committing round 4');
    expect(a.activeTaskIds()).toEqual([]);
    expect(aCommittedReads.length).toBe(readsAtAbort);
    expect(aOffsetCommits.length - commitsBefore).toBe(1);
    expect(kafka.committedOffset('frozen', 'in', aPartition)).toBe(4n);

    // Its next heartbeat makes it rejoin: one task each again.
    heartbeat.open();
    await eventually(
      () => a.activeTaskIds().length === 1 && b.activeTaskIds().length === 1 && a.state === 'RUNNING',
      'a back with one task',
    );
    kafka.produce(onBoth(5));
    await eventually(() => committedAll(5n), 'round 5 committed');
    expect(countsByKey(longs(kafka.records('out')))).toEqual({ k0: [1, 2, 3, 4, 5], k1: [1, 2, 3, 4, 5] });
    // Back in the group, a commits its own work again.
    const afterRejoin = kafka.transactions(aProducer.transactionalId).filter((t) => t.id > aborted.id);
    expect(afterRejoin.some((t) => t.state === 'committed')).toBe(true);
  });
});
