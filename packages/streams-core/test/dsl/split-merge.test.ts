import { Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { afterEach, describe, expect, it } from 'vitest';

const S = Serdes.String();
const I = Serdes.Integer();

let driver: TopologyTestDriver | undefined;
afterEach(() => {
  driver?.close();
  driver = undefined;
});

describe('KStream.split', () => {
  function splitTopology() {
    const builder = new StreamsBuilder();
    const { big, even, rest } = builder.stream('in', { key: S, value: I }).split({
      big: (_k, v) => v > 100,
      even: (_k, v) => v % 2 === 0,
      rest: (_k, v) => v >= 0,
    });
    big.to('big');
    even.to('even');
    rest.to('rest');
    return builder.build();
  }

  it('sends each record to the first branch that matches, and drops records no branch matches', () => {
    driver = new TopologyTestDriver(splitTopology());
    const input = driver.createInputTopic('in', S, I);
    input.pipeRecordList([
      { key: 'a', value: 102, timestamp: 1 }, // big and even: big wins
      { key: 'b', value: 4, timestamp: 2 },
      { key: 'c', value: 7, timestamp: 3 },
      { key: 'd', value: -3, timestamp: 4 }, // no branch
      { key: 'e', value: -2, timestamp: 5 }, // even
    ]);
    const read = (t: string) =>
      driver!
        .createOutputTopic(t, S, I)
        .readRecordsToList()
        .map((r) => [r.key, r.value, r.timestamp]);
    expect(read('big')).toEqual([['a', 102, 1]]);
    expect(read('even')).toEqual([
      ['b', 4, 2],
      ['e', -2, 5],
    ]);
    expect(read('rest')).toEqual([['c', 7, 3]]);
  });

  it('evaluates later predicates only for records earlier ones rejected', () => {
    const calls: string[] = [];
    const builder = new StreamsBuilder();
    const { first, second } = builder.stream('in', { key: S, value: I }).split({
      first: (k) => {
        calls.push(`first:${k}`);
        return k === 'x';
      },
      second: (k) => {
        calls.push(`second:${k}`);
        return true;
      },
    });
    first.to('first');
    second.to('second');
    driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('in', S, I);
    input.pipeInput('x', 1);
    input.pipeInput('y', 2);
    expect(calls).toEqual(['first:x', 'first:y', 'second:y']);
  });

  it('names branch nodes `<prefix>-<branch>` after a given name', () => {
    const builder = new StreamsBuilder();
    const { ok, failed } = builder
      .stream('in', { key: S, value: I })
      .split({ ok: (_k, v) => v >= 0, failed: () => true }, { name: 'route' });
    ok.to('ok');
    failed.to('failed');
    const text = builder.build().describe().toString();
    expect(text).toContain('    Processor: route (stores: [])\n      --> route-ok, route-failed\n');
    expect(text).toContain('    Processor: route-ok (stores: [])');
    expect(text).toContain('    Processor: route-failed (stores: [])');
  });

  it('narrows a branch by its type guard', () => {
    type Shape = { type: 'circle'; r: number } | { type: 'square'; side: number };
    const builder = new StreamsBuilder();
    const { circles, squares } = builder.stream('in', { key: S, value: Serdes.JSON<Shape>() }).split({
      circles: (_k, s): s is Extract<Shape, { type: 'circle' }> => s.type === 'circle',
      squares: (_k, s): s is Extract<Shape, { type: 'square' }> => s.type === 'square',
    });
    circles.mapValues((c) => Math.round(Math.PI * c.r * c.r)).to('area', { value: I });
    squares.mapValues((s) => s.side * s.side).to('area-sq', { value: I });
    driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('in', S, Serdes.JSON<Shape>());
    input.pipeInput('c', { type: 'circle', r: 2 });
    input.pipeInput('s', { type: 'square', side: 3 });
    expect(driver.createOutputTopic('area', S, I).readKeyValuesToList()).toEqual([{ key: 'c', value: 13 }]);
    expect(driver.createOutputTopic('area-sq', S, I).readKeyValuesToList()).toEqual([{ key: 's', value: 9 }]);
  });
});

describe('KStream.merge', () => {
  it('interleaves both streams in processing order, keeping keys, values and timestamps', () => {
    const builder = new StreamsBuilder();
    const a = builder.stream('a', { key: S, value: S });
    const b = builder.stream('b', { key: S, value: S }).mapValues((v) => v.toUpperCase());
    a.merge(b).to('out');
    driver = new TopologyTestDriver(builder.build());
    const inA = driver.createInputTopic('a', S, S);
    const inB = driver.createInputTopic('b', S, S);
    inA.pipeInput('1', 'x', 10);
    inB.pipeInput('2', 'y', 5);
    inA.pipeInput('3', 'z', 20);
    expect(
      driver
        .createOutputTopic('out', S, S)
        .readRecordsToList()
        .map((r) => [r.key, r.value, r.timestamp]),
    ).toEqual([
      ['1', 'x', 10],
      ['2', 'Y', 5],
      ['3', 'z', 20],
    ]);
  });

  it('merges split branches back together', () => {
    const builder = new StreamsBuilder();
    const { neg, pos } = builder
      .stream('in', { key: S, value: I })
      .split({ neg: (_k, v) => v < 0, pos: () => true });
    neg
      .mapValues((v) => -v)
      .merge(pos)
      .to('abs');
    driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('in', S, I);
    input.pipeKeyValueList([
      { key: 'a', value: -4 },
      { key: 'b', value: 3 },
    ]);
    expect(driver.createOutputTopic('abs', S, I).readKeyValuesToList()).toEqual([
      { key: 'a', value: 4 },
      { key: 'b', value: 3 },
    ]);
  });

  it('rejects a stream from another builder', () => {
    const a = new StreamsBuilder().stream('a', { key: S, value: S });
    const b = new StreamsBuilder().stream('b', { key: S, value: S });
    expect(() => a.merge(b)).toThrow(/different StreamsBuilders/);
  });
});
