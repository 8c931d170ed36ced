/**
 * Global tables on the in-memory cluster: every partition of the topic is read into the global
 * store before any task runs, later updates are followed, and a restart reads on from the
 * checkpoint instead of the beginning.
 */
import { Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import type { PartitionRange } from '@kafka-pattern/streams-core/client';
import { describe, expect, it } from 'vitest';
import { eventually, type Harness, rec, strings, useHarness } from '../support/harness.ts';

const S = Serdes.String();
const harness = useHarness();

function enrichment() {
  const builder = new StreamsBuilder();
  const products = builder.globalTable('products', { key: S, value: S }, { name: 'products-store' });
  builder
    .stream('orders', { key: S, value: S })
    .join(
      products,
      (_id, product) => product,
      (product, name) => `${product}: ${name}`,
    )
    .to('lines', { key: S, value: S });
  return builder.build();
}

function topics(h: Harness) {
  h.kafka.createTopic('products', 2);
  h.kafka.createTopic('orders', 1);
  h.kafka.createTopic('lines', 1);
}

/** The ranges the global reader was given, in order. */
function globalRanges(h: Harness): PartitionRange[][] {
  return h.kafka.events.flatMap((e) =>
    e.type === 'readerAssign' && e.clientId.endsWith('-global') ? [e.ranges] : [],
  );
}

describe('global tables', () => {
  it('are read in full before tasks run, follow later updates, and restart from their checkpoint', async () => {
    const h = harness();
    topics(h);
    h.kafka.produce([
      rec('products', 'p1', 'coffee', { partition: 0 }),
      rec('products', 'p2', 'tea', { partition: 1 }),
      rec('orders', 'o1', 'p1'),
      rec('orders', 'o2', 'p2'),
    ]);
    const stateDir = h.stateDir();
    const app = h.app(enrichment(), { applicationId: 'global', stateDir, commitIntervalMs: 0 });
    await app.start();
    // start() resolves once the global store has caught up: both partitions, before any order.
    expect(app.store<string, string>('products-store').get('p2')).toBe('tea');
    await eventually(() => h.kafka.records('lines').length === 2, 'both orders joined');
    expect(strings(h.kafka.records('lines'))).toEqual([
      ['o1', 'p1: coffee'],
      ['o2', 'p2: tea'],
    ]);
    h.kafka.produce([rec('products', 'p1', 'espresso', { partition: 0 })]);
    await eventually(
      () => app.store<string, string>('products-store').get('p1') === 'espresso',
      'the update followed',
    );
    h.kafka.produce([rec('orders', 'o3', 'p1')]);
    await eventually(() => h.kafka.records('lines').length === 3, 'the third order joined');
    expect(strings(h.kafka.records('lines'))[2]).toEqual(['o3', 'p1: espresso']);
    await app.close();

    h.kafka.produce([rec('products', 'p3', 'mate', { partition: 1 })]);
    const restarted = h.app(enrichment(), { applicationId: 'global', stateDir, commitIntervalMs: 0 });
    await restarted.start();
    // The restart's catch-up starts where the first run's checkpoint left off, not at 0.
    const catchUp = globalRanges(h).at(-2)!;
    expect(catchUp.map((r) => [r.partition, r.from, r.until])).toEqual([
      [0, 2n, 2n],
      [1, 1n, 2n],
    ]);
    const store = restarted.store<string, string>('products-store');
    expect([store.get('p1'), store.get('p2'), store.get('p3')]).toEqual(['espresso', 'tea', 'mate']);
  });

  it('a missing global topic fails start() and leaves the instance in ERROR', async () => {
    const h = harness();
    h.kafka.createTopic('orders', 1);
    h.kafka.createTopic('lines', 1);
    const app = h.app(enrichment(), { applicationId: 'global-missing' });
    await expect(app.start()).rejects.toThrow(/Global table topic "products" does not exist/);
    expect(app.state).toBe('ERROR');
  });
});
