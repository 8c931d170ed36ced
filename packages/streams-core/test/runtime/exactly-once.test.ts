/**
 * exactly_once_v2 on the in-memory cluster: outputs, changelog records and input offsets commit
 * in one transaction; a failed transaction is aborted, leaves nothing visible to read_committed
 * readers, rolls the task's local state back and is processed again from the committed offset.
 */

import { KafkaClientError, RebalanceError } from '@kafka-pattern/streams-core/client';
import { describe, expect, it } from 'vitest';
import { changelogLongs, counting, eventually, Gate, longs, rec, useHarness } from '../support/harness.ts';

const harness = useHarness();
const CHANGELOG = 'eos-counts-changelog';

function setup() {
  const h = harness();
  h.kafka.createTopic('in', 1);
  h.kafka.createTopic('out', 1);
  const app = h.app(counting(), {
    applicationId: 'eos',
    processingGuarantee: 'exactly_once_v2',
    cacheMaxBytes: 0,
    commitIntervalMs: 0,
  });
  return { kafka: h.kafka, app };
}

describe('exactly_once_v2', () => {
  it('commits outputs, changelog records and offsets in one transaction, visible only once committed', async () => {
    const { kafka, app } = setup();
    const gate = new Gate();
    const release = kafka.intercept('commitTransaction', async (c) => {
      if (c.transaction?.records.length) await gate.wait();
    });
    await app.start();
    kafka.produce([rec('in', 'a', '1'), rec('in', 'b', '2'), rec('in', 'a', '3')]);
    await eventually(() => gate.waiting > 0, 'a transaction about to commit');
    // Written, not committed: read_uncommitted sees the records, read_committed sees nothing.
    expect(kafka.records('out', { isolation: 'read_uncommitted' }).length).toBeGreaterThan(0);
    expect(kafka.records('out')).toEqual([]);
    expect(kafka.records(CHANGELOG)).toEqual([]);
    expect(kafka.committed('eos')).toEqual(new Map());
    gate.open();
    release();
    await eventually(() => kafka.committedOffset('eos', 'in', 0) === 3n, 'offset 3 committed');
    expect(longs(kafka.records('out'))).toEqual([
      ['a', 1],
      ['b', 1],
      ['a', 2],
    ]);
    expect(changelogLongs(kafka.records(CHANGELOG))).toEqual([
      ['a', 1],
      ['b', 1],
      ['a', 2],
    ]);
    // Each committed transaction carried its outputs, its changelog records and its offsets.
    const committed = kafka.transactions().filter((t) => t.state === 'committed' && t.records.length > 0);
    expect(committed.length).toBeGreaterThan(0);
    for (const t of committed) {
      const topics = new Set(t.records.map((r) => r.topic));
      expect(topics).toEqual(new Set(['out', CHANGELOG]));
      expect(t.offsets.get('eos')?.get('in:0')).toBeDefined();
    }
    expect(committed.at(-1)!.offsets.get('eos')!.get('in:0')).toBe(3n);
    // Offsets are never committed outside a transaction, and the logs carry commit markers.
    expect(kafka.events.some((e) => e.type === 'commit')).toBe(false);
    expect(kafka.log('out').at(-1)).toMatchObject({ kind: 'marker', commit: true });
    expect(kafka.log(CHANGELOG).at(-1)).toMatchObject({ kind: 'marker', commit: true });
    expect(kafka.transactions().filter((t) => t.state === 'aborted')).toEqual([]);
  });

  it.each([['sendOffsets'], ['commitTransaction']] as const)(
    'a RebalanceError on %s aborts the transaction, rolls the state back and reprocesses exactly',
    async (op) => {
      const { kafka, app } = setup();
      await app.start();
      kafka.produce([rec('in', 'a', '1'), rec('in', 'b', '2')]);
      await eventually(() => kafka.committedOffset('eos', 'in', 0) === 2n, 'first two committed');
      await app.waitForRunning();
      expect(app.store<string, number>('counts').get('a')).toBe(1);

      kafka.failNext(op, new RebalanceError('the group moved on'));
      // Hold the first poll after the abort, to look at the task's state before it reprocesses.
      const afterAbort = new Gate();
      kafka.intercept('poll', async () => {
        if (kafka.transactions().some((t) => t.state === 'aborted') && afterAbort.held === 0)
          await afterAbort.wait();
      });
      kafka.produce([rec('in', 'a', '3')]);
      await eventually(() => afterAbort.waiting > 0, 'the poll after the abort');
      const aborted = kafka.transactions().filter((t) => t.state === 'aborted');
      expect(aborted).toHaveLength(1);
      expect(new Set(aborted[0]!.records.map((r) => r.topic))).toEqual(new Set(['out', CHANGELOG]));
      // Nothing of it is visible, its offsets were not committed, and the local count rolled back.
      expect(longs(kafka.records('out'))).toEqual([
        ['a', 1],
        ['b', 1],
      ]);
      expect(kafka.committedOffset('eos', 'in', 0)).toBe(2n);
      expect(app.store<string, number>('counts').get('a')).toBe(1);
      expect(kafka.log('out').at(-1)).toMatchObject({ kind: 'marker', commit: false });

      afterAbort.open();
      await eventually(
        () => kafka.committedOffset('eos', 'in', 0) === 3n,
        'the record reprocessed and committed',
      );
      expect(longs(kafka.records('out'))).toEqual([
        ['a', 1],
        ['b', 1],
        ['a', 2],
      ]);
      expect(changelogLongs(kafka.records(CHANGELOG))).toEqual([
        ['a', 1],
        ['b', 1],
        ['a', 2],
      ]);
      // The aborted attempt is in the log, filtered out by read_committed only.
      expect(longs(kafka.records('out', { isolation: 'read_uncommitted' }))).toEqual([
        ['a', 1],
        ['b', 1],
        ['a', 2],
        ['a', 2],
      ]);
      expect(app.store<string, number>('counts').get('a')).toBe(2);
      expect(app.state).toBe('RUNNING');
    },
  );

  it('a refused send aborts the open transaction; with REPLACE_THREAD the work is retried exactly', async () => {
    const { kafka, app } = setup();
    const decisions: unknown[] = [];
    app.setUncaughtExceptionHandler((error) => {
      decisions.push(error);
      return 'REPLACE_THREAD';
    });
    await app.start();
    kafka.produce([rec('in', 'a', '1')]);
    await eventually(() => kafka.committedOffset('eos', 'in', 0) === 1n, 'first committed');
    const refused = new KafkaClientError('NOT_ENOUGH_REPLICAS');
    kafka.failNext('send', refused);
    kafka.produce([rec('in', 'a', '2'), rec('in', 'b', '3')]);
    await eventually(() => kafka.committedOffset('eos', 'in', 0) === 3n, 'all committed after the retry');
    expect(decisions).toEqual([refused]);
    expect(longs(kafka.records('out'))).toEqual([
      ['a', 1],
      ['a', 2],
      ['b', 1],
    ]);
    await app.waitForRunning();
    expect(app.store<string, number>('counts').get('a')).toBe(2);
  });

  it('a refused send stops the instance by default, leaving nothing of the transaction visible', async () => {
    const { kafka, app } = setup();
    await app.start();
    kafka.produce([rec('in', 'a', '1')]);
    await eventually(() => kafka.committedOffset('eos', 'in', 0) === 1n, 'first committed');
    kafka.failNext('send', new KafkaClientError('NOT_ENOUGH_REPLICAS'), {
      when: (s) => s.records.some((r) => r.topic === 'out'),
    });
    kafka.produce([rec('in', 'a', '2')]);
    await eventually(() => app.state === 'ERROR', 'state ERROR');
    expect(String(app.error)).toMatch(/NOT_ENOUGH_REPLICAS/);
    expect(longs(kafka.records('out'))).toEqual([['a', 1]]);
    expect(kafka.committedOffset('eos', 'in', 0)).toBe(1n);
    expect(kafka.transactions().filter((t) => t.state === 'open')).toEqual([]);
  });
});
