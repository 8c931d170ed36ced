import { type KStream, type Serde, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { afterEach, describe, expect, it } from 'vitest';

const S = Serdes.String();

let driver: TopologyTestDriver | undefined;
afterEach(() => {
  driver?.close();
  driver = undefined;
});

/** A string stream from `in`, shaped by `shape`, written to `out` with the given serdes. */
function run<K = string, V = string>(
  shape: (s: KStream<string, string>) => KStream<K, V>,
  keySerde: Serde<K> = S as Serde<never>,
  valueSerde: Serde<V> = S as Serde<never>,
) {
  const builder = new StreamsBuilder();
  shape(builder.stream('in', { key: S, value: S })).to('out', { key: keySerde, value: valueSerde });
  driver = new TopologyTestDriver(builder.build());
  return {
    input: driver.createInputTopic('in', S, S),
    output: driver.createOutputTopic('out', keySerde, valueSerde),
  };
}

describe('KStream stateless operators', () => {
  it('map replaces key and value from the returned tuple, keeping the timestamp', () => {
    const { input, output } = run((s) => s.map((k, v) => [v, `${k}:${v.length}`] as const));
    input.pipeInput('a', 'xyz', 10);
    input.pipeInput('b', 'hello', 20);
    expect(output.readRecordsToList().map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['xyz', 'a:3', 10],
      ['hello', 'b:5', 20],
    ]);
  });

  it('mapValues passes (value, key) in that order and keeps the key', () => {
    const seen: Array<[string, string]> = [];
    const { input, output } = run(
      (s) =>
        s.mapValues((value, key) => {
          seen.push([value, key]);
          return value.length;
        }),
      S,
      Serdes.Integer(),
    );
    input.pipeInput('the-key', 'the-value', 5);
    expect(seen).toEqual([['the-value', 'the-key']]);
    expect(output.readRecordsToList().map((r) => [r.key, r.value, r.timestamp])).toEqual([['the-key', 9, 5]]);
  });

  it('flatMap emits every pair in order, each with the input timestamp', () => {
    const { input, output } = run((s) =>
      s.flatMap((k, v) => v.split(',').map((part, i) => [`${k}${i}`, part] as const)),
    );
    input.pipeInput('k', 'a,b,c', 7);
    input.pipeInput('z', '', 8);
    expect(output.readRecordsToList().map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['k0', 'a', 7],
      ['k1', 'b', 7],
      ['k2', 'c', 7],
      ['z0', '', 8],
    ]);
  });

  it('flatMapValues emits each value under the same key; an empty result emits nothing', () => {
    const { input, output } = run((s) =>
      s.flatMapValues((v, k) => (v === '' ? [] : v.split(' ').map((w) => `${k}/${w}`))),
    );
    input.pipeInput('k', 'one two', 3);
    input.pipeInput('k', '', 4);
    input.pipeInput('j', 'three', 5);
    expect(output.readRecordsToList().map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['k', 'k/one', 3],
      ['k', 'k/two', 3],
      ['j', 'j/three', 5],
    ]);
  });

  it('filter keeps matching records, filterNot the others', () => {
    const builder = new StreamsBuilder();
    const s = builder.stream('in', { key: S, value: Serdes.Integer() });
    s.filter((_k, v) => v > 10).to('big');
    s.filterNot((_k, v) => v > 10).to('small');
    driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('in', S, Serdes.Integer());
    const big = driver.createOutputTopic('big', S, Serdes.Integer());
    const small = driver.createOutputTopic('small', S, Serdes.Integer());
    input.pipeRecordList([
      { key: 'a', value: 5 },
      { key: 'b', value: 50 },
      { key: 'c', value: 11 },
      { key: 'd', value: 10 },
    ]);
    expect(big.readKeyValuesToList()).toEqual([
      { key: 'b', value: 50 },
      { key: 'c', value: 11 },
    ]);
    expect(small.readKeyValuesToList()).toEqual([
      { key: 'a', value: 5 },
      { key: 'd', value: 10 },
    ]);
  });

  it('filter with a type guard narrows the value type and drops the rest', () => {
    type Event = { kind: 'click'; x: number } | { kind: 'view'; page: string };
    const builder = new StreamsBuilder();
    builder
      .stream('in', { key: S, value: Serdes.JSON<Event>() })
      .filter((_k, e): e is Extract<Event, { kind: 'click' }> => e.kind === 'click')
      .mapValues((click) => click.x * 2)
      .to('out', { value: Serdes.Integer() });
    driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('in', S, Serdes.JSON<Event>());
    const output = driver.createOutputTopic('out', S, Serdes.Integer());
    input.pipeInput('u', { kind: 'view', page: '/' });
    input.pipeInput('u', { kind: 'click', x: 21 });
    expect(output.readKeyValuesToList()).toEqual([{ key: 'u', value: 42 }]);
  });

  it('selectKey replaces the key and keeps value and timestamp', () => {
    const { input, output } = run((s) => s.selectKey((_k, v) => v.slice(0, 1)));
    input.pipeInput('old', 'xylophone', 99);
    expect(output.readRecordsToList().map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['x', 'xylophone', 99],
    ]);
  });

  it('peek sees every record and forwards it unchanged', () => {
    const seen: string[] = [];
    const { input, output } = run((s) => s.peek((k, v) => seen.push(`${k}=${v}`)));
    input.pipeInput('a', '1', 1);
    input.pipeInput('b', '2', 2);
    expect(seen).toEqual(['a=1', 'b=2']);
    expect(output.readKeyValuesToList()).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ]);
  });

  it('foreach is terminal: it sees every record and writes nothing', () => {
    const builder = new StreamsBuilder();
    const seen: Array<[string, string]> = [];
    builder.stream('in', { key: S, value: S }).foreach((k, v) => seen.push([k, v]));
    driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('in', S, S);
    input.pipeInput('a', 'x');
    input.pipeInput('b', 'y');
    expect(seen).toEqual([
      ['a', 'x'],
      ['b', 'y'],
    ]);
    expect(driver.producedTopicNames().size).toBe(0);
  });

  it('to writes with the serdes given, or those of the stream when none are given', () => {
    const builder = new StreamsBuilder();
    const s = builder.stream('in', { key: S, value: Serdes.Long() });
    s.to('same');
    s.mapValues((v) => `${v}`).to('text', { value: S });
    driver = new TopologyTestDriver(builder.build());
    driver.createInputTopic('in', S, Serdes.Long()).pipeInput('k', 12_345_678_901, 1);
    expect(driver.createOutputTopic('same', S, Serdes.Long()).readKeyValue()).toEqual({
      key: 'k',
      value: 12_345_678_901,
    });
    expect(driver.createOutputTopic('text', S, S).readKeyValue()).toEqual({ key: 'k', value: '12345678901' });
  });

  it('to with a topic extractor routes each record to the topic it names', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', { key: S, value: S })
      .to((key, value, record) => `${key}-${value}-${record.timestamp}`);
    driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('in', S, S);
    input.pipeInput('eu', 'orders', 1);
    input.pipeInput('us', 'orders', 2);
    input.pipeInput('eu', 'orders', 1);
    expect([...driver.producedTopicNames()].sort()).toEqual(['eu-orders-1', 'us-orders-2']);
    expect(driver.createOutputTopic('eu-orders-1', S, S).readValuesToList()).toEqual(['orders', 'orders']);
    expect(driver.createOutputTopic('us-orders-2', S, S).readKeyValuesToList()).toEqual([
      { key: 'us', value: 'orders' },
    ]);
  });

  it('to with a custom partitioner asks it for every record, with the record and partition count', () => {
    const calls: unknown[][] = [];
    const builder = new StreamsBuilder();
    builder.stream('in', { key: S, value: S }).to('out', {
      partitioner: (topic, key, value, numPartitions) => {
        calls.push([topic, key, value, numPartitions]);
        return 0;
      },
    });
    driver = new TopologyTestDriver(builder.build());
    driver.createInputTopic('in', S, S).pipeInput('k', 'v');
    expect(calls).toEqual([['out', 'k', 'v', 1]]);
    expect(driver.createOutputTopic('out', S, S).readKeyValuesToList()).toEqual([{ key: 'k', value: 'v' }]);
  });

  it('operators chain: a record passes through each in turn', () => {
    const { input, output } = run((s) =>
      s
        .filter((_k, v) => v.length > 0)
        .mapValues((v) => v.toUpperCase())
        .selectKey((_k, v) => v[0]!)
        .flatMapValues((v) => [v, v + v]),
    );
    input.pipeInput('k', '', 1);
    input.pipeInput('k', 'ab', 2);
    expect(output.readRecordsToList().map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['A', 'AB', 2],
      ['A', 'ABAB', 2],
    ]);
  });
});
