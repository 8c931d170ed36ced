/**
 * Asynchronous steps (mapValuesAsync, foreachAsync) and partition holds on the in-memory cluster:
 * per-key order, the concurrency bound, results in arrival order, offsets committed only behind
 * finished work, exactly-once transactions that hold only finished work, failures to the
 * exception handler, abandoned work redone by the next owner, and a held partition that holds up
 * nothing else.
 */
import { Serdes, StreamsBuilder, type Topology } from '@kafka-pattern/streams-core';
import { describe, expect, it } from 'vitest';
import { eventually, rec, strings, useHarness } from '../support/harness.ts';

const harness = useHarness();
const S = Serdes.String();

/** Calls the test settles by hand, in any order. */
class Calls {
  readonly started: string[] = [];
  readonly #pending = new Map<string, { resolve: (v: string) => void; reject: (e: unknown) => void }>();

  call = (value: string): Promise<string> => {
    this.started.push(value);
    return new Promise((resolve, reject) => this.#pending.set(value, { resolve, reject }));
  };

  resolve(value: string, result = value.toUpperCase()): void {
    const p = this.#pending.get(value);
    if (!p)
      throw new Error(`no call in flight for ${value} (in flight: ${[...this.#pending.keys()].join(', ')})`);
    this.#pending.delete(value);
    p.resolve(result);
  }

  reject(value: string, error: unknown): void {
    const p = this.#pending.get(value)!;
    this.#pending.delete(value);
    p.reject(error);
  }

  get inFlight(): string[] {
    return [...this.#pending.keys()];
  }
}

function asyncUpper(calls: Calls, options: { concurrency?: number; timeoutMs?: number } = {}): Topology {
  const b = new StreamsBuilder();
  b.stream('in', { key: S, value: S })
    .mapValuesAsync((v) => calls.call(v), options)
    .to('out', { key: S, value: S });
  return b.build();
}

function setup(topology: Topology, guarantee: 'at_least_once' | 'exactly_once_v2', partitions = 1) {
  const h = harness();
  h.kafka.createTopic('in', partitions);
  h.kafka.createTopic('out', partitions);
  h.kafka.createTopic('in-dlt', partitions);
  const app = h.app(topology, {
    applicationId: 'async',
    processingGuarantee: guarantee,
    commitIntervalMs: 0,
  });
  return { kafka: h.kafka, app, h };
}

describe('mapValuesAsync', () => {
  it('runs one call per key at a time, up to `concurrency` keys, and sends results on in arrival order', async () => {
    const calls = new Calls();
    const { kafka, app } = setup(asyncUpper(calls, { concurrency: 2 }), 'at_least_once');
    await app.start();
    kafka.produce([rec('in', 'a', 'a1'), rec('in', 'b', 'b1'), rec('in', 'a', 'a2'), rec('in', 'c', 'c1')]);
    await eventually(() => calls.started.length === 2, 'two calls started');
    // a2 waits for a1 (same key), c1 for a free slot.
    expect(calls.started).toEqual(['a1', 'b1']);
    calls.resolve('b1');
    await eventually(() => calls.started.length === 3, 'c1 started in the freed slot');
    expect(calls.started).toEqual(['a1', 'b1', 'c1']);
    // b1 is done but a1, before it, is not: nothing goes on yet.
    await new Promise((r) => setTimeout(r, 50));
    expect(kafka.records('out', { isolation: 'read_uncommitted' })).toEqual([]);
    calls.resolve('a1');
    await eventually(() => calls.started.includes('a2'), 'a2 started once a1 finished');
    await eventually(
      () => kafka.records('out', { isolation: 'read_uncommitted' }).length === 2,
      'a1 and b1 sent on',
    );
    calls.resolve('a2');
    calls.resolve('c1');
    await eventually(() => kafka.records('out').length === 4, 'all four sent on');
    expect(strings(kafka.records('out'))).toEqual([
      ['a', 'A1'],
      ['b', 'B1'],
      ['a', 'A2'],
      ['c', 'C1'],
    ]);
    await eventually(() => kafka.committedOffset('async', 'in', 0) === 4n, 'offset 4 committed');
  });

  it('at_least_once: commits an offset only once every record before it is done', async () => {
    const calls = new Calls();
    const { kafka, app } = setup(asyncUpper(calls), 'at_least_once');
    await app.start();
    kafka.produce([rec('in', 'a', 'a1'), rec('in', 'b', 'b1'), rec('in', 'c', 'c1')]);
    await eventually(() => calls.started.length === 3, 'three calls started');
    calls.resolve('b1');
    calls.resolve('c1');
    // Commits happen on every loop (commitIntervalMs 0): none may pass offset 0 while a1 runs.
    await new Promise((r) => setTimeout(r, 100));
    expect(kafka.committedOffset('async', 'in', 0) ?? 0n).toBe(0n);
    calls.resolve('a1');
    await eventually(() => kafka.committedOffset('async', 'in', 0) === 3n, 'offset 3 committed');
    expect(strings(kafka.records('out')).map(([, v]) => v)).toEqual(['A1', 'B1', 'C1']);
  });

  it('exactly_once_v2: a transaction holds only finished work, each output with its offset', async () => {
    const calls = new Calls();
    const { kafka, app } = setup(asyncUpper(calls), 'exactly_once_v2');
    await app.start();
    kafka.produce([rec('in', 'a', 'a1'), rec('in', 'b', 'b1')]);
    await eventually(() => calls.started.length === 2, 'two calls started');
    calls.resolve('b1');
    await new Promise((r) => setTimeout(r, 100));
    // The commit waits for a1: nothing is committed, no transaction carries B1 alone.
    expect(kafka.records('out')).toEqual([]);
    expect(kafka.committedOffset('async', 'in', 0)).toBeUndefined();
    calls.resolve('a1');
    await eventually(() => kafka.committedOffset('async', 'in', 0) === 2n, 'offset 2 committed');
    kafka.produce([rec('in', 'c', 'c1')]);
    await eventually(() => calls.started.length === 3, 'c1 started');
    calls.resolve('c1');
    await eventually(() => kafka.committedOffset('async', 'in', 0) === 3n, 'offset 3 committed');
    // Every committed transaction's outputs are exactly the records below the offset it commits.
    let outputs = 0;
    let last = 0n;
    for (const t of kafka.transactions().filter((x) => x.state === 'committed')) {
      outputs += t.records.filter((r) => r.topic === 'out').length;
      const offset = t.offsets.get('async')?.get('in:0');
      expect(BigInt(outputs)).toBe(offset ?? last);
      if (offset !== undefined) last = offset;
    }
    expect(last).toBe(3n);
    expect(strings(kafka.records('out')).map(([, v]) => v)).toEqual(['A1', 'B1', 'C1']);
  });

  it('sends a rejected or timed-out call to the dead-letter topic with its source bytes, and goes on', async () => {
    const calls = new Calls();
    const { kafka, app } = setup(asyncUpper(calls, { timeoutMs: 100 }), 'exactly_once_v2');
    await app.start();
    kafka.produce([rec('in', 'a', 'a1'), rec('in', 'b', 'b1'), rec('in', 'c', 'c1')]);
    await eventually(() => calls.started.length === 3, 'three calls started');
    calls.reject('a1', new TypeError('gateway said no'));
    calls.resolve('c1');
    // b1 never settles: it times out after 100 ms.
    await eventually(() => kafka.committedOffset('async', 'in', 0) === 3n, 'offset 3 committed');
    expect(strings(kafka.records('out'))).toEqual([['c', 'C1']]);
    const dlt = kafka.records('in-dlt');
    expect(strings(dlt)).toEqual([
      ['a', 'a1'],
      ['b', 'b1'],
    ]);
    expect(dlt[0]!.headers.getString('kafka_dlt-exception-message')).toBe('gateway said no');
    expect(dlt[1]!.headers.getString('kafka_dlt-exception-fqcn')).toBe('AsyncTimeoutError');
    expect(dlt[1]!.headers.get('kafka_dlt-original-offset')!.readBigInt64BE(0)).toBe(1n);
  });

  it('carries headers and timestamps, and stream time downstream follows the records', async () => {
    const b = new StreamsBuilder();
    b.stream('in', { key: S, value: S })
      .withHeaders((h, key) => h.set('seen-key', key))
      .mapValuesAsync(async (v, _k, headers) => `${v}:${headers.getString('trace')}`)
      .to('out', { key: S, value: S });
    const { kafka, app } = setup(b.build(), 'at_least_once');
    await app.start();
    kafka.produce([
      { ...rec('in', 'a', 'x', { timestamp: 1_000 }), headers: [['trace', Buffer.from('t-1')]] },
    ]);
    await eventually(() => kafka.records('out').length === 1, 'one output');
    const out = kafka.records('out')[0]!;
    expect(out.value!.toString()).toBe('x:t-1');
    expect(out.timestamp).toBe(1_000);
    expect(out.headers.getString('trace')).toBe('t-1');
    expect(out.headers.getString('seen-key')).toBe('a');
  });

  it('on close, abandons work in flight uncommitted: the next instance redoes it', async () => {
    const first = new Calls();
    const { kafka, app, h } = setup(asyncUpper(first, { timeoutMs: 60_000 }), 'at_least_once');
    await app.start();
    kafka.produce([rec('in', 'a', 'a1'), rec('in', 'b', 'b1')]);
    await eventually(() => first.started.length === 2, 'two calls started');
    first.resolve('a1');
    await eventually(() => kafka.committedOffset('async', 'in', 0) === 1n, 'a1 committed');
    const closing = app.close();
    // The close waits for b1 (bounded by its timeout); b1 finishing then is not committed.
    await new Promise((r) => setTimeout(r, 50));
    first.resolve('b1');
    await closing;
    const committed = kafka.committedOffset('async', 'in', 0);
    const second = new Calls();
    const next = h.app(asyncUpper(second), { applicationId: 'async', commitIntervalMs: 0 });
    await next.start();
    if (committed === 1n) {
      await eventually(() => second.started.length === 1, 'b1 redone');
      expect(second.started).toEqual(['b1']);
      second.resolve('b1');
    }
    await eventually(() => kafka.committedOffset('async', 'in', 0) === 2n, 'offset 2 committed');
    expect(strings(kafka.records('out')).filter(([k]) => k === 'b').length).toBeGreaterThan(0);
  });
});

describe('foreachAsync', () => {
  it('runs the side effect once per record and commits behind it', async () => {
    const done: string[] = [];
    const b = new StreamsBuilder();
    b.stream('in', { key: S, value: S }).foreachAsync(async (k, v) => {
      await new Promise((r) => setTimeout(r, k === 'a' ? 30 : 1));
      done.push(v);
    });
    const { kafka, app } = setup(b.build(), 'at_least_once');
    await app.start();
    kafka.produce([rec('in', 'a', 'a1'), rec('in', 'b', 'b1'), rec('in', 'a', 'a2')]);
    await eventually(() => kafka.committedOffset('async', 'in', 0) === 3n, 'offset 3 committed');
    // Per key in order; b overlaps a.
    expect(done.indexOf('a1')).toBeLessThan(done.indexOf('a2'));
    expect(done.indexOf('b1')).toBeLessThan(done.indexOf('a1'));
    expect(done.sort()).toEqual(['a1', 'a2', 'b1']);
  });
});

describe('holdUntil', () => {
  it('holds one partition until its record is due while the other flows', async () => {
    const b = new StreamsBuilder();
    b.stream('in', { key: S, value: S })
      .holdUntil((_k, _v, headers) => Number(headers.getString('due') ?? 0))
      .to('out', { key: S, value: S });
    const { kafka, app } = setup(b.build(), 'at_least_once', 2);
    await app.start();
    const due = Date.now() + 400;
    kafka.produce([
      { ...rec('in', 'late', 'l1', { partition: 0 }), headers: [['due', Buffer.from(String(due))]] },
      rec('in', 'after-late', 'l2', { partition: 0 }),
      rec('in', 'free', 'f1', { partition: 1 }),
    ]);
    await eventually(() => kafka.records('out').length === 1, 'the free partition flows');
    expect(strings(kafka.records('out'))).toEqual([['free', 'f1']]);
    expect(kafka.committedOffset('async', 'in', 0) ?? 0n).toBe(0n);
    await eventually(() => kafka.records('out').length === 3, 'the held partition after its due time', 3_000);
    const arrived = Date.now();
    expect(arrived).toBeGreaterThanOrEqual(due);
    expect(new Set(strings(kafka.records('out')))).toEqual(
      new Set([
        ['free', 'f1'],
        ['late', 'l1'],
        ['after-late', 'l2'],
      ]),
    );
    await eventually(() => kafka.committedOffset('async', 'in', 0) === 2n, 'offset 2 committed');
  });
});

describe('asynchronous steps under exactly_once_v2', () => {
  it('refuse a timeout at or above the transaction timeout, saying which setting to change', async () => {
    const calls = new Calls();
    const { app } = setup(asyncUpper(calls, { timeoutMs: 20_000 }), 'exactly_once_v2');
    await app.start().catch(() => {});
    await eventually(() => app.state === 'ERROR', 'the application in ERROR');
    expect(String(app.error)).toMatch(
      /timeoutMs 20000, not below client\.transactionTimeoutMs \(10000 ms\).*lower the step's timeoutMs or raise client\.transactionTimeoutMs/,
    );
  });
});

describe('the abort signal', () => {
  it('aborts a call that timed out, so it can stop before having its effect', async () => {
    const effects: string[] = [];
    const aborted: string[] = [];
    const b = new StreamsBuilder();
    b.stream('in', { key: S, value: S }).foreachAsync(
      (_k, v, _h, signal) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => {
            effects.push(v);
            resolve();
          }, 300);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            aborted.push(`${v}: ${(signal.reason as Error).name}`);
            reject(signal.reason);
          });
        }),
      { timeoutMs: 50 },
    );
    const { kafka, app } = setup(b.build(), 'at_least_once');
    await app.start();
    kafka.produce([rec('in', 'a', 'slow')]);
    await eventually(() => kafka.records('in-dlt').length === 1, 'the timed-out record dead-lettered');
    await new Promise((r) => setTimeout(r, 400));
    expect(aborted).toEqual(['slow: AsyncTimeoutError']);
    expect(effects).toEqual([]);
  });
});
