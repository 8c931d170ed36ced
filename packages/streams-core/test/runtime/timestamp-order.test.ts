/**
 * A task reading several co-partitioned topics takes one poll's records in timestamp order across
 * its partitions, although the consumer hands them over partition by partition.
 */
import { Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import type { ConsumedRecord } from '@kafka-pattern/streams-core/client';
import { describe, expect, it } from 'vitest';
import { eventually, rec, strings, useHarness } from '../support/harness.ts';

const S = Serdes.String();
const harness = useHarness();

/** Records every poll returns, to check the scenario: both topics in one poll, partition by partition. */
function recordPolls(kafka: ReturnType<typeof harness>['kafka']): ConsumedRecord[][] {
  const polls: ConsumedRecord[][] = [];
  kafka.pollFilter = ({ records }) => {
    if (records.length > 0) polls.push(records);
    return records;
  };
  return polls;
}

describe('timestamp order across co-partitioned inputs', () => {
  it('merge: records of two topics are processed in timestamp order within one poll', async () => {
    const h = harness();
    const { kafka } = h;
    kafka.createTopic('left', 1);
    kafka.createTopic('right', 1);
    kafka.createTopic('out', 1);
    const builder = new StreamsBuilder();
    builder
      .stream('left', { key: S, value: S })
      .merge(builder.stream('right', { key: S, value: S }))
      .to('out', { key: S, value: S });
    kafka.produce([
      rec('left', 'k', 'l1', { timestamp: 1_000 }),
      rec('left', 'k', 'l3', { timestamp: 3_000 }),
      rec('left', 'k', 'l6', { timestamp: 6_000 }),
      rec('right', 'k', 'r2', { timestamp: 2_000 }),
      rec('right', 'k', 'r4', { timestamp: 4_000 }),
      rec('right', 'k', 'r5', { timestamp: 5_000 }),
    ]);
    const polls = recordPolls(kafka);
    const app = h.app(builder.build(), { applicationId: 'merge', commitIntervalMs: 0 });
    await app.start();
    await eventually(() => kafka.records('out').length === 6, 'six outputs');
    expect(polls).toHaveLength(1);
    expect(polls[0]!.map((r) => r.value!.toString())).toEqual(['l1', 'l3', 'l6', 'r2', 'r4', 'r5']);
    expect(strings(kafka.records('out')).map(([, v]) => v)).toEqual(['l1', 'r2', 'l3', 'r4', 'r5', 'l6']);
    expect(kafka.records('out').map((r) => r.timestamp)).toEqual([1_000, 2_000, 3_000, 4_000, 5_000, 6_000]);
  });

  it('stream-table join: a table update joins the stream records after it in time, not those before', async () => {
    const h = harness();
    const { kafka } = h;
    // The stream topic sorts first, so the consumer hands its records over before the table's.
    kafka.createTopic('a-orders', 2);
    kafka.createTopic('b-customers', 2);
    kafka.createTopic('enriched', 2);
    const builder = new StreamsBuilder();
    const customers = builder.table('b-customers', { key: S, value: S });
    builder
      .stream('a-orders', { key: S, value: S })
      .leftJoin(customers, (order: string, customer: string | null) => `${order} for ${customer}`)
      .to('enriched', { key: S, value: S });
    // Both sides of key c1 on partition 1: the join's task 0_1 reads them together.
    kafka.produce([
      rec('a-orders', 'c1', 'early', { partition: 1, timestamp: 10 }),
      rec('a-orders', 'c1', 'on-time', { partition: 1, timestamp: 30 }),
      rec('b-customers', 'c1', 'Ann', { partition: 1, timestamp: 20 }),
      rec('b-customers', 'c1', 'Ann B.', { partition: 1, timestamp: 40 }),
      rec('a-orders', 'c1', 'late', { partition: 1, timestamp: 50 }),
    ]);
    const polls = recordPolls(kafka);
    const app = h.app(builder.build(), { applicationId: 'join', commitIntervalMs: 0, cacheMaxBytes: 0 });
    await app.start();
    await eventually(() => kafka.records('enriched').length === 3, 'three enriched orders');
    expect(polls).toHaveLength(1);
    expect(polls[0]!.map((r) => r.topic)).toEqual([
      'a-orders',
      'a-orders',
      'a-orders',
      'b-customers',
      'b-customers',
    ]);
    expect(strings(kafka.records('enriched')).map(([, v]) => v)).toEqual([
      'early for null',
      'on-time for Ann',
      'late for Ann B.',
    ]);
  });
});
