import { JoinWindows, type KStream, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { describe, expect, it } from 'vitest';
import { topologyGraph } from '../../src/topology/topology-graph.ts';
import { S } from './support.ts';

type Kind = 'join' | 'leftJoin' | 'outerJoin';

function joinTopology(kind: Kind, windows: JoinWindows) {
  const builder = new StreamsBuilder();
  const left = builder.stream<string, string>('left', { key: S, value: S });
  const right = builder.stream<string, string>('right', { key: S, value: S });
  const joiner = (l: string | null, r: string | null) => `${l}+${r}`;
  const joined: KStream<string, string> =
    kind === 'join'
      ? left.join(right, joiner, windows, { key: S, value: S, otherValue: S })
      : kind === 'leftJoin'
        ? left.leftJoin(right, joiner, windows)
        : left.outerJoin(right, joiner, windows);
  joined.to('out', { key: S, value: S });
  const driver = new TopologyTestDriver(builder.build());
  return {
    driver,
    L: driver.createInputTopic('left', S, S),
    R: driver.createInputTopic('right', S, S),
    read: () =>
      driver
        .createOutputTopic('out', S, S)
        .readRecordsToList()
        .map((r) => [r.key, r.value, r.timestamp]),
  };
}

describe('JoinWindows', () => {
  it('validates its durations', () => {
    expect(() => JoinWindows.ofTimeDifferenceWithNoGrace(-1)).toThrow(/time difference must not be negative/);
    expect(() => JoinWindows.ofTimeDifferenceAndGrace(10, -5)).toThrow(/Grace period must not be negative/);
    expect(() => JoinWindows.ofTimeDifferenceWithNoGrace(5).before(-6)).toThrow(
      /before \+ after\) must not be negative/,
    );
    const w = JoinWindows.ofTimeDifferenceAndGrace(10, 3).before(2).after(7);
    expect([w.beforeMs, w.afterMs, w.graceMs, w.size()]).toEqual([2, 7, 3, 9]);
  });
});

describe('stream-stream joins', () => {
  it('inner: emits on each match within the window, with the later timestamp', () => {
    const { driver, L, R, read } = joinTopology('join', JoinWindows.ofTimeDifferenceAndGrace(10, 5));
    L.pipeInput('a', 'A1', 0);
    R.pipeInput('a', 'a1', 5);
    R.pipeInput('a', 'a2', 8);
    L.pipeInput('a', 'A2', 11); // joins a1 (5) and a2 (8), not a later one
    R.pipeInput('a', 'a3', 21); // only A2 (11) is within 10 ms
    R.pipeInput('b', 'b1', 21);
    expect(read()).toEqual([
      ['a', 'A1+a1', 5],
      ['a', 'A1+a2', 8],
      ['a', 'A2+a1', 11],
      ['a', 'A2+a2', 11],
      ['a', 'A2+a3', 21],
    ]);
    driver.close();
  });

  it('left: a record without a match is emitted only after its window and grace have passed', () => {
    const { driver, L, R, read } = joinTopology('leftJoin', JoinWindows.ofTimeDifferenceAndGrace(10, 5));
    L.pipeInput('a', 'A1', 0);
    R.pipeInput('a', 'a1', 5);
    L.pipeInput('b', 'B1', 3);
    expect(read()).toEqual([['a', 'A1+a1', 5]]); // B1 might still find a match: nothing yet
    L.pipeInput('a', 'A2', 20); // stream time 20 > 3 + 10 + 5: B1's window has closed
    expect(read()).toEqual([['b', 'B1+null', 3]]);
    R.pipeInput('a', 'a2', 12); // out of order: matches A2, which is then never emitted alone
    L.pipeInput('c', 'C1', 40);
    R.pipeInput('d', 'd1', 41);
    L.pipeInput('a', 'A3', 60);
    expect(read()).toEqual([
      ['a', 'A2+a2', 20],
      ['c', 'C1+null', 40],
    ]);
    driver.close();
  });

  it('outer: unmatched records of both sides, after their windows close', () => {
    const { driver, L, R, read } = joinTopology('outerJoin', JoinWindows.ofTimeDifferenceWithNoGrace(10));
    L.pipeInput('a', 'A1', 0);
    R.pipeInput('b', 'b1', 5);
    expect(read()).toEqual([]);
    L.pipeInput('a', 'A2', 30);
    R.pipeInput('a', 'a2', 25);
    expect(read()).toEqual([
      ['a', 'A1+null', 0],
      ['b', 'null+b1', 5],
      ['a', 'A2+a2', 30],
    ]);
    driver.close();
  });

  it('asymmetric windows: before and after bound the other side separately', () => {
    const { driver, L, R, read } = joinTopology(
      'join',
      JoinWindows.ofTimeDifferenceWithNoGrace(0).before(0).after(5),
    );
    L.pipeInput('k', 'L1', 10);
    R.pipeInput('k', 'r-early', 9); // before the left record: outside [10, 15]
    R.pipeInput('k', 'r-late', 15);
    expect(read()).toEqual([['k', 'L1+r-late', 15]]);
    driver.close();
  });

  it('repartitions a side whose key changed, and keeps stream-table joins working', () => {
    const builder = new StreamsBuilder();
    const orders = builder
      .stream<string, string>('orders', { key: S, value: S })
      .selectKey((_k, v) => v.split(':')[0]!);
    const payments = builder.stream<string, string>('payments', { key: S, value: S });
    orders
      .join(payments, (o, p) => `${o}/${p}`, JoinWindows.ofTimeDifferenceWithNoGrace(100), {
        key: S,
        value: S,
        otherValue: S,
      })
      .to('paid', { key: S, value: S });
    const customers = builder.table<string, string>('customers', { key: S, value: S });
    payments.join(customers, (p, c) => `${p}@${c}`).to('enriched', { key: S, value: S });
    const topology = builder.build();
    expect(topology.describe().toString()).toMatch(/Sink: .*-repartition-sink/);
    const driver = new TopologyTestDriver(topology);
    driver.createInputTopic('customers', S, S).pipeInput('o1', 'alice', 0);
    driver.createInputTopic('orders', S, S).pipeInput('x', 'o1:book', 10);
    driver.createInputTopic('payments', S, S).pipeInput('o1', 'paid', 20);
    expect(driver.createOutputTopic('paid', S, S).readKeyValuesToList()).toEqual([
      { key: 'o1', value: 'o1:book/paid' },
    ]);
    expect(driver.createOutputTopic('enriched', S, S).readKeyValuesToList()).toEqual([
      { key: 'o1', value: 'paid@alice' },
    ]);
    driver.close();
  });

  it('needs JoinWindows for a stream-stream join', () => {
    const builder = new StreamsBuilder();
    const a = builder.stream<string, string>('a', { key: S, value: S });
    const b = builder.stream<string, string>('b', { key: S, value: S });
    expect(() => (a.join as (...args: unknown[]) => unknown)(b, () => 'x')).toThrow(/needs JoinWindows/);
  });

  it('names its stores after the join and writes results with any serde', () => {
    const builder = new StreamsBuilder();
    const a = builder.stream<string, number>('a', { key: S, value: Serdes.Long() });
    const b = builder.stream<string, number>('b', { key: S, value: Serdes.Long() });
    a.outerJoin(b, (x, y) => (x ?? 0) + (y ?? 0), JoinWindows.ofTimeDifferenceWithNoGrace(5), {
      name: 'sum',
      storeName: 'sum',
    }).to('out', { key: S, value: Serdes.Long() });
    const stores = topologyGraph(builder.build()).storeNames().sort();
    expect(stores).toEqual([
      'sum-outer-other-join-store',
      'sum-outer-shared-join-store',
      'sum-outer-this-join-store',
    ]);
  });
});
