/**
 * Transient broker errors on the in-memory cluster: the stream thread backs off, reopens its
 * clients and resumes from what was committed, for as long as `taskTimeoutMs` allows; the
 * metrics show the outage while it lasts. Under exactly_once_v2 the output stays exact.
 */

import type { StreamsState } from '@kafka-pattern/streams-core';
import {
  BrokerUnreachableError,
  CoordinatorUnavailableError,
  TransientBrokerError,
} from '@kafka-pattern/streams-core/client';
import { describe, expect, it } from 'vitest';
import { counting, eventually, rec, useHarness } from '../support/harness.ts';

const harness = useHarness();

const unreachable = () => new BrokerUnreachableError(['127.0.0.1:9092'], 'ECONNREFUSED');

function finalCounts(
  records: ReadonlyArray<{ key: Buffer | null; value: Buffer | null }>,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of records) out.set(r.key!.toString(), Number(r.value!.readBigInt64BE(0)));
  return out;
}

describe('broker outages', () => {
  it.each(['at_least_once', 'exactly_once_v2'] as const)(
    '%s: failed sends and commits are retried from the committed state; nothing is lost (exactly-once: nothing counted twice)',
    async (guarantee) => {
      const h = harness();
      h.kafka.createTopic('in', 1);
      h.kafka.createTopic('out', 1);
      const app = h.app(counting(), {
        applicationId: `outage-${guarantee}`,
        processingGuarantee: guarantee,
        commitIntervalMs: 0,
        cacheMaxBytes: 0,
      });
      const states: StreamsState[] = [];
      app.onStateChange((s) => states.push(s));
      await app.start();
      h.kafka.produce([rec('in', 'a', '1'), rec('in', 'b', '1')]);
      await eventually(() => h.kafka.committedOffset(`outage-${guarantee}`, 'in', 0) === 2n, 'first commit');
      // The broker goes away for three sends and a commit, then answers again.
      h.kafka.failNext('send', unreachable, { times: 3 });
      h.kafka.failNext(
        guarantee === 'exactly_once_v2' ? 'commitTransaction' : 'commit',
        () => new CoordinatorUnavailableError('coordinator moving'),
      );
      h.kafka.produce([rec('in', 'a', '2'), rec('in', 'c', '1')]);
      await eventually(() => app.metrics().transientFailures >= 1, 'the outage seen');
      await eventually(
        () => h.kafka.committedOffset(`outage-${guarantee}`, 'in', 0) === 4n,
        'everything committed after the outage',
        15_000,
      );
      expect(app.state).toBe('RUNNING');
      expect(app.metrics().outage).toBeUndefined();
      expect(app.metrics().transientFailures).toBeGreaterThanOrEqual(2);
      expect(states).toContain('REBALANCING');
      expect(states.at(-1)).toBe('RUNNING');
      const counts = finalCounts(h.kafka.records('out'));
      const expected = new Map([
        ['a', 2],
        ['b', 1],
        ['c', 1],
      ]);
      if (guarantee === 'at_least_once') {
        // A commit that failed after the stores checkpointed means its records are counted again.
        expect([...counts.keys()].sort()).toEqual(['a', 'b', 'c']);
        for (const [k, n] of expected) expect(counts.get(k)).toBeGreaterThanOrEqual(n);
      } else {
        expect(counts).toEqual(expected);
        // Nothing was counted twice in what a read_committed consumer sees.
        const seen = h.kafka.records('out').map((r) => `${r.key}=${r.value!.readBigInt64BE(0)}`);
        expect(new Set(seen).size).toBe(seen.length);
      }
    },
  );

  it('a leader election answered by the broker is ridden out the same way', async () => {
    const h = harness();
    h.kafka.createTopic('in', 1);
    h.kafka.createTopic('out', 1);
    const app = h.app(counting(), { applicationId: 'leader', commitIntervalMs: 0, cacheMaxBytes: 0 });
    await app.start();
    h.kafka.failNext('send', () => new TransientBrokerError('NOT_LEADER_OR_FOLLOWER'), { times: 2 });
    h.kafka.produce([rec('in', 'a', '1')]);
    await eventually(() => h.kafka.committedOffset('leader', 'in', 0) === 1n, 'committed after the election');
    expect(app.state).toBe('RUNNING');
    expect(app.metrics().transientFailures).toBe(2);
  });

  it('an outage longer than taskTimeoutMs ends in ERROR with the last error', async () => {
    const h = harness();
    h.kafka.createTopic('in', 1);
    h.kafka.createTopic('out', 1);
    const app = h.app(counting(), { applicationId: 'gives-up', commitIntervalMs: 0, taskTimeoutMs: 300 });
    await app.start();
    h.kafka.failNext('send', unreachable, { times: 1_000 });
    h.kafka.produce([rec('in', 'a', '1')]);
    await eventually(() => app.state === 'ERROR', 'ERROR after the budget', 10_000);
    expect(app.error).toBeInstanceOf(BrokerUnreachableError);
    expect(app.metrics().transientFailures).toBeGreaterThanOrEqual(1);
    expect(h.kafka.committedOffset('gives-up', 'in', 0)).toBeUndefined();
  });
});
