/**
 * The life of a KafkaStreams instance on the in-memory cluster: states and their listeners,
 * start and close in every state, errors that stop it or replace its thread, internal topics,
 * metrics, commit requests from processors, record caches and idle stream time.
 */
import {
  KafkaStreams,
  type ProcessorSupplier,
  Serdes,
  StreamsBuilder,
  type StreamsState,
  Suppressed,
  TimeWindows,
} from '@kafka-pattern/streams-core';
import { KafkaClientError } from '@kafka-pattern/streams-core/client';
import { describe, expect, it } from 'vitest';
import {
  changelogLongs,
  counting,
  eventually,
  Gate,
  longs,
  rec,
  strings,
  useHarness,
} from '../support/harness.ts';

const S = Serdes.String();
const harness = useHarness();

function passThrough() {
  const builder = new StreamsBuilder();
  builder.stream('in', { key: S, value: S }).to('out', { key: S, value: S });
  return builder.build();
}

function withTopics(partitions = 1) {
  const h = harness();
  h.kafka.createTopic('in', partitions);
  h.kafka.createTopic('out', partitions);
  return h;
}

describe('KafkaStreams lifecycle', () => {
  it('refuses an empty topology at construction', () => {
    expect(
      () => new KafkaStreams(new StreamsBuilder().build(), { applicationId: 'x', bootstrapServers: 'h:1' }),
    ).toThrow(/topology is empty/);
  });

  it('goes CREATED → REBALANCING → RUNNING → PENDING_SHUTDOWN → NOT_RUNNING, and starts only once', async () => {
    const h = withTopics();
    const app = h.app(passThrough(), { applicationId: 'life' });
    const states: Array<[StreamsState, StreamsState]> = [];
    app.setStateListener((next, prev) => states.push([next, prev]));
    expect(app.state).toBe('CREATED');
    await app.start();
    await expect(app.start()).rejects.toThrow(/start\(\) was called in state/);
    await app.waitForRunning(5_000);
    await app.waitForRunning(); // already running: resolves at once
    await app.close();
    await app.close(); // closing again is a no-op
    expect(states).toEqual([
      ['REBALANCING', 'CREATED'],
      ['RUNNING', 'REBALANCING'],
      ['PENDING_SHUTDOWN', 'RUNNING'],
      ['NOT_RUNNING', 'PENDING_SHUTDOWN'],
    ]);
    expect(h.kafka.members('life')).toEqual([]);
    expect(h.kafka.clients.every((c) => c.closed)).toBe(true);
  });

  it('close() before start() goes straight to NOT_RUNNING', async () => {
    const h = withTopics();
    const app = h.app(passThrough(), { applicationId: 'never' });
    const states: StreamsState[] = [];
    app.onStateChange((s) => states.push(s));
    await app.close();
    expect(states).toEqual(['PENDING_SHUTDOWN', 'NOT_RUNNING']);
    await expect(app.start()).rejects.toThrow(/state NOT_RUNNING/);
  });

  it('close() while start() is still checking topics: the instance never processes, and lets go of its clients', async () => {
    const h = withTopics();
    const gate = new Gate();
    h.kafka.intercept('createTopics', () => gate.wait());
    const app = h.app(counting(), { applicationId: 'racing', commitIntervalMs: 0 });
    const starting = app.start();
    await eventually(() => gate.waiting > 0, 'start() creating its internal topics');
    const closing = app.close();
    expect(app.state).toBe('NOT_RUNNING');
    gate.open();
    await closing;
    await expect(starting).rejects.toThrow(/closed while it was starting/);
    h.kafka.produce([rec('in', 'k', 'v')]);
    expect(app.state).toBe('NOT_RUNNING');
    expect(h.kafka.clients.filter((c) => c.kind === 'consumer' || c.kind === 'producer')).toEqual([]);
    expect(h.kafka.clients.every((c) => c.closed)).toBe(true);
    expect(h.kafka.members('racing')).toEqual([]);
  });

  it('close() while start() is still loading a global table: the instance never processes', async () => {
    const h = withTopics();
    h.kafka.createTopic('products', 1);
    h.kafka.produce([rec('products', 'p1', 'coffee')]);
    const builder = new StreamsBuilder();
    const products = builder.globalTable('products', { key: S, value: S });
    builder
      .stream('in', { key: S, value: S })
      .join(
        products,
        (_k, v) => v,
        (v, name) => `${v}: ${name}`,
      )
      .to('out', { key: S, value: S });
    const gate = new Gate();
    h.kafka.intercept('readerPoll', () => gate.wait());
    const app = h.app(builder.build(), { applicationId: 'racing-global' });
    const starting = app.start();
    await eventually(() => gate.waiting > 0, 'start() reading the global table');
    const closing = app.close();
    gate.open();
    await closing;
    await expect(starting).rejects.toThrow(/closed while it was starting/);
    expect(app.state).toBe('NOT_RUNNING');
    expect(h.kafka.clients.filter((c) => c.kind === 'consumer')).toEqual([]);
    expect(h.kafka.clients.every((c) => c.closed)).toBe(true);
  });

  it('waitForRunning() rejects after its timeout, and when the instance stops in ERROR', async () => {
    const h = withTopics();
    const gate = new Gate();
    // The first poll is held, then fails.
    h.kafka.intercept('poll', async () => {
      if (gate.held > 0) return;
      await gate.wait();
      throw new Error('the consumer broke');
    });
    const app = h.app(passThrough(), { applicationId: 'slow' });
    await app.start();
    await expect(app.waitForRunning(20)).rejects.toThrow(
      /did not reach RUNNING within 20 ms \(state REBALANCING\)/,
    );
    const failing = app.waitForRunning(5_000);
    gate.open();
    await expect(failing).rejects.toThrow('the consumer broke');
    expect(app.state).toBe('ERROR');
    // Asked again once stopped, it says why at once instead of waiting out its timeout.
    await expect(app.waitForRunning(2_000)).rejects.toThrow('the consumer broke');
  });

  it('a listener that throws does not keep the others from hearing about a change', async () => {
    const h = withTopics();
    const app = h.app(passThrough(), { applicationId: 'listeners' });
    const heard: StreamsState[] = [];
    app.onStateChange(() => {
      throw new Error('broken listener');
    });
    app.onStateChange((s) => heard.push(s));
    await app.start();
    await app.waitForRunning();
    expect(heard).toEqual(['REBALANCING', 'RUNNING']);
  });

  it('an error escaping processing stops the instance; a throwing uncaught-exception handler counts as SHUTDOWN_CLIENT', async () => {
    const h = withTopics();
    const builder = new StreamsBuilder();
    builder
      .stream('in', { key: S, value: S })
      .mapValues((v) => {
        if (v === 'boom') throw new Error('bad record');
        return v;
      })
      .to('out', { key: S, value: S });
    const app = h.app(builder.build(), {
      applicationId: 'boom',
      processingExceptionHandler: 'log-and-fail',
      commitIntervalMs: 0,
    });
    app.setUncaughtExceptionHandler(() => {
      throw new Error('handler broke too');
    });
    await app.start();
    h.kafka.produce([rec('in', 'k', 'fine')]);
    await eventually(() => h.kafka.committedOffset('boom', 'in', 0) === 1n, 'the first record committed');
    h.kafka.produce([rec('in', 'k', 'boom')]);
    await eventually(() => app.state === 'ERROR', 'state ERROR');
    expect(String(app.error)).toMatch(/bad record/);
    expect(h.kafka.committedOffset('boom', 'in', 0)).toBe(1n);
    expect(strings(h.kafka.records('out'))).toEqual([['k', 'fine']]);
  });

  it('a failure while closing ends in NOT_RUNNING, not ERROR, and commits nothing of the failed batch', async () => {
    const h = withTopics();
    const app = h.app(passThrough(), { applicationId: 'closing', commitIntervalMs: 0 });
    const gate = new Gate();
    h.kafka.intercept('ack', async () => {
      await gate.wait();
      throw new KafkaClientError('connection lost');
    });
    await app.start();
    h.kafka.produce([rec('in', 'k', 'v')]);
    await eventually(() => gate.waiting > 0, 'a batch in flight');
    const closed = app.close();
    gate.open();
    await closed;
    expect(app.state).toBe('NOT_RUNNING');
    expect(app.error).toBeUndefined();
    expect(h.kafka.committed('closing')).toEqual(new Map());
  });

  it('creates its internal topics, and refuses to start when one exists with another partition count', async () => {
    const h = withTopics(2);
    const app = h.app(counting(), { applicationId: 'internal' });
    await app.start();
    expect(app.internalTopicNames().sort()).toEqual(['in-dlt', 'internal-counts-changelog']);
    expect(h.kafka.partitions('internal-counts-changelog')).toBe(2);
    expect(h.kafka.topicConfigs('internal-counts-changelog')).toMatchObject({ 'cleanup.policy': 'compact' });
    await app.close();

    h.kafka.createTopic('other-counts-changelog', 3);
    const mismatched = h.app(counting(), { applicationId: 'other' });
    await expect(mismatched.start()).rejects.toThrow(
      /Internal topic "other-counts-changelog" has 3 partitions but the application needs 2/,
    );
    expect(mismatched.state).toBe('ERROR');
  });

  it('dead-letters a record it cannot read and goes on', async () => {
    const h = withTopics();
    const builder = new StreamsBuilder();
    builder.stream('in', { key: S, value: Serdes.Integer() }).to('out', { key: S, value: Serdes.Integer() });
    const app = h.app(builder.build(), { applicationId: 'dlt', commitIntervalMs: 0 });
    await app.start();
    const four = Buffer.alloc(4);
    four.writeInt32BE(7);
    h.kafka.produce([rec('in', 'bad', 'xy'), { topic: 'in', key: Buffer.from('good'), value: four }]);
    await eventually(() => h.kafka.committedOffset('dlt', 'in', 0) === 2n, 'both records committed');
    expect(h.kafka.records('in-dlt').map((r) => r.key?.toString())).toEqual(['bad']);
    expect(h.kafka.records('out').map((r) => r.value?.readInt32BE(0))).toEqual([7]);
    expect(app.metrics().totals.deadLetteredRecords).toBe(1);
  });

  it('reports metrics per task and in total, also as Prometheus text', async () => {
    const h = withTopics(2);
    const app = h.app(passThrough(), { applicationId: 'metrics', commitIntervalMs: 0 });
    await app.start();
    h.kafka.produce([
      rec('in', 'a', '1', { partition: 0 }),
      rec('in', 'b', '2', { partition: 1 }),
      rec('in', 'c', '3', { partition: 1 }),
    ]);
    await eventually(
      () =>
        h.kafka.committedOffset('metrics', 'in', 1) === 2n &&
        h.kafka.committedOffset('metrics', 'in', 0) === 1n,
      'all committed',
    );
    const m = app.metrics();
    expect(m.state).toBe('RUNNING');
    expect(m.tasks['0_0']!.processedRecords).toBe(1);
    expect(m.tasks['0_1']!.processedRecords).toBe(2);
    expect(m.totals.processedRecords).toBe(3);
    expect(m.producedRecords).toBe(3);
    expect(m.commits).toBeGreaterThan(0);
    const text = app.metricsText();
    expect(text).toContain('kafka_pattern_records_processed_total{application_id="metrics",task_id="0_1"} 2');
    expect(text).toContain('kafka_pattern_records_produced_total{application_id="metrics"} 3');
    await app.close();
    // Closed tasks keep counting in the totals.
    expect(app.metrics().totals.processedRecords).toBe(3);
  });

  it("a processor's commit request commits at once, long before the commit interval", async () => {
    const h = withTopics();
    const committer: ProcessorSupplier<string, string, string, string> = () => {
      let ctx: Parameters<
        NonNullable<ReturnType<ProcessorSupplier<string, string, string, string>>['init']>
      >[0];
      return {
        init: (c) => {
          ctx = c;
        },
        process: (r) => {
          ctx.forward(r);
          if (r.value === 'commit') ctx.commit();
        },
      };
    };
    const builder = new StreamsBuilder();
    builder.stream('in', { key: S, value: S }).process(committer).to('out', { key: S, value: S });
    const app = h.app(builder.build(), { applicationId: 'requested', commitIntervalMs: 3_600_000 });
    let polls = 0;
    h.kafka.intercept('poll', () => {
      polls++;
    });
    await app.start();
    await app.waitForRunning();
    h.kafka.produce([rec('in', 'k', 'plain')]);
    await eventually(() => h.kafka.records('out').length === 1, 'the first record processed');
    const seen = polls;
    await eventually(() => polls > seen + 1, 'two more polls');
    expect(h.kafka.committed('requested')).toEqual(new Map());
    h.kafka.produce([rec('in', 'k', 'commit')]);
    await eventually(() => h.kafka.committedOffset('requested', 'in', 0) === 2n, 'committed on request');
  });

  it('with record caching, the updates of a key within one commit leave as one output and one changelog record', async () => {
    const h = withTopics();
    h.kafka.produce([rec('in', 'a', '1'), rec('in', 'a', '2'), rec('in', 'b', '3'), rec('in', 'a', '4')]);
    const app = h.app(counting(), {
      applicationId: 'cached',
      processingGuarantee: 'exactly_once_v2',
      commitIntervalMs: 0,
    });
    await app.start();
    await eventually(() => h.kafka.committedOffset('cached', 'in', 0) === 4n, 'all committed');
    const byKey = (pairs: Array<[string | null, number | null]>) =>
      [...pairs].sort(([x], [y]) => (x! < y! ? -1 : 1));
    expect(byKey(longs(h.kafka.records('out')))).toEqual([
      ['a', 3],
      ['b', 1],
    ]);
    expect(byKey(changelogLongs(h.kafka.records('cached-counts-changelog')))).toEqual([
      ['a', 3],
      ['b', 1],
    ]);
  });

  it('advanceIdleStreamTimeAfterMs closes a suppressed window on a quiet partition by the wall clock', async () => {
    const h = withTopics();
    const builder = new StreamsBuilder();
    builder
      .stream('in', { key: S, value: S })
      .groupByKey()
      .windowedBy(TimeWindows.ofSizeAndGrace(60_000, 1_000))
      .count({ name: 'windows' })
      .suppress(Suppressed.untilWindowCloses())
      .toStream()
      .to('out', { key: Serdes.TimeWindowed(S, 60_000), value: Serdes.Long() });
    const start = Math.floor((Date.now() - 10 * 60_000) / 60_000) * 60_000;
    h.kafka.produce([
      rec('in', 'a', 'x', { timestamp: start + 1 }),
      rec('in', 'a', 'x', { timestamp: start + 2 }),
    ]);
    const app = h.app(builder.build(), {
      applicationId: 'idle',
      advanceIdleStreamTimeAfterMs: 50,
      commitIntervalMs: 0,
    });
    await app.start();
    await eventually(() => h.kafka.records('out').length === 1, 'the final window result');
    const [result] = h.kafka.records('out');
    expect(Number(result!.value!.readBigInt64BE(0))).toBe(2);
  });
});

describe('an instance stopped in ERROR', () => {
  function enrichment() {
    const builder = new StreamsBuilder();
    const products = builder.globalTable('products', { key: S, value: S }, { name: 'products-store' });
    builder
      .stream('in', { key: S, value: S })
      .join(
        products,
        (_k, v) => v,
        (v, name) => `${v}: ${name}`,
      )
      .to('out', { key: S, value: S });
    return builder.build();
  }

  it('releases its clients and state directory, so a replacement can start on the same directory', async () => {
    const h = withTopics();
    h.kafka.createTopic('products', 1);
    h.kafka.produce([rec('products', 'p1', 'coffee')]);
    const stateDir = h.stateDir();
    const app = h.app(enrichment(), { applicationId: 'fatal', stateDir, commitIntervalMs: 0 });
    await app.start();
    h.kafka.failNext('send', new KafkaClientError('refused'));
    h.kafka.produce([rec('in', 'o1', 'p1')]);
    await eventually(() => app.state === 'ERROR', 'state ERROR');
    await app.close();
    expect(h.kafka.clients.filter((c) => !c.closed).map((c) => `${c.kind} ${c.clientId}`)).toEqual([]);

    const replacement = h.app(enrichment(), { applicationId: 'fatal', stateDir, commitIntervalMs: 0 });
    await replacement.start();
    await eventually(() => h.kafka.records('out').length === 1, 'the replacement processes the order');
    expect(strings(h.kafka.records('out'))).toEqual([['o1', 'p1: coffee']]);
  });
});
