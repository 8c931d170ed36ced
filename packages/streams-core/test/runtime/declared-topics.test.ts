/**
 * Topics a topology declares (`addTopic`): created at start when absent, with the partition count
 * of the topic they name; an existing one is used as it is; a declared topic can be a source or a
 * sink before it exists.
 */
import { Serdes, StreamsBuilder, StreamsException, Topology } from '@kafka-pattern/streams-core';
import { describe, expect, it } from 'vitest';
import { eventually, rec, strings, useHarness } from '../support/harness.ts';

const harness = useHarness();
const S = Serdes.String();

/** Reads `main` and `main-retry`, writes what it reads to `main-retry` once and then to `out`. */
function retryOnce(): Topology {
  const b = new StreamsBuilder();
  b.addTopic('main-retry', { partitionsOf: 'main', configs: { 'retention.ms': '3600000' } });
  const { first, again } = b
    .stream(['main', 'main-retry'], { key: S, value: S })
    .split({ first: (_k, v) => !v.endsWith('!'), again: () => true });
  first.mapValues((v) => `${v}!`).to('main-retry', { key: S, value: S });
  again.to('out', { key: S, value: S });
  return b.build();
}

describe('declared topics', () => {
  it('are created at start with the partition count of the topic they name, and flow as sources and sinks', async () => {
    const h = harness();
    h.kafka.createTopic('main', 3);
    h.kafka.createTopic('out', 1);
    const app = h.app(retryOnce(), { applicationId: 'declared' });
    await app.start();
    expect(h.kafka.partitions('main-retry')).toBe(3);
    expect(h.kafka.topicConfigs('main-retry')).toMatchObject({ 'retention.ms': '3600000' });
    expect(app.internalTopicNames()).toContain('main-retry');
    h.kafka.produce([rec('main', 'a', 'x'), rec('main', 'b', 'y')]);
    const out = await eventually(() => {
      const r = strings(h.kafka.records('out'));
      return r.length === 2 ? r : undefined;
    }, 'both records through the declared topic');
    expect(out.map(([, v]) => v).sort()).toEqual(['x!', 'y!']);
  });

  it('an existing declared topic is used as it is, whatever its partition count', async () => {
    const h = harness();
    h.kafka.createTopic('main', 3);
    h.kafka.createTopic('main-retry', 1);
    h.kafka.createTopic('out', 1);
    const app = h.app(retryOnce(), { applicationId: 'declared-existing' });
    await app.start();
    await app.waitForRunning();
    expect(h.kafka.partitions('main-retry')).toBe(1);
    expect(app.state).toBe('RUNNING');
  });

  it('a declared topic can take its count from another declared one', async () => {
    const h = harness();
    h.kafka.createTopic('main', 2);
    const t = new Topology()
      .addTopic('main-retry', { partitionsOf: 'main' })
      .addTopic('main-dlt', { partitionsOf: 'main-retry' })
      .addSource('src', ['main', 'main-retry'])
      .addSink('dlt', 'main-dlt', {}, 'src');
    const app = h.app(t, { applicationId: 'declared-chain' });
    await app.start();
    expect(h.kafka.partitions('main-retry')).toBe(2);
    expect(h.kafka.partitions('main-dlt')).toBe(2);
  });

  it('fails at start, saying what to create, when the topic it names does not exist', async () => {
    const h = harness();
    const t = new Topology().addTopic('gone-retry', { partitionsOf: 'gone' }).addSource('src', 'gone-retry');
    const app = h.app(t, { applicationId: 'declared-missing' });
    const error = await app.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StreamsException);
    expect(String(error)).toContain(
      'Topic "gone-retry" is to be created with the partition count of "gone", which does not exist: create "gone" first',
    );
    expect(h.kafka.hasTopic('gone-retry')).toBe(false);
  });

  it('refuses a topic declared twice with different partition sources', () => {
    const b = new StreamsBuilder();
    b.addTopic('t-retry', { partitionsOf: 'a' });
    expect(() => b.addTopic('t-retry', { partitionsOf: 'b' })).toThrow(/declared twice/);
  });
});
