import {
  type KGroupedStream,
  type KTable,
  type Serde,
  Serdes,
  StreamsBuilder,
} from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { topologyGraph } from '../../src/topology/topology-graph.ts';

const S = Serdes.String();
const L = Serdes.Long();

let driver: TopologyTestDriver | undefined;
afterEach(() => {
  driver?.close();
  driver = undefined;
});

/** Groups `in` (string → long) by key, aggregates with `agg`, and writes the table's changes to `out`. */
function grouped<V>(agg: (g: KGroupedStream<string, number>) => KTable<string, V>, valueSerde: Serde<V>) {
  const builder = new StreamsBuilder();
  agg(builder.stream('in', { key: S, value: L }).groupByKey())
    .toStream()
    .to('out', { value: valueSerde });
  driver = new TopologyTestDriver(builder.build());
  return {
    input: driver.createInputTopic('in', S, L),
    output: driver.createOutputTopic('out', S, valueSerde),
    driver,
  };
}

const triples = (records: Array<{ key: unknown; value: unknown; timestamp: number }>) =>
  records.map((r) => [r.key, r.value, r.timestamp]);

describe('KGroupedStream aggregations', () => {
  it('count emits every update of every key', () => {
    const { input, output } = grouped((g) => g.count({ name: 'counts' }), L);
    input.pipeInput('a', 1, 1);
    input.pipeInput('b', 1, 2);
    input.pipeInput('a', 1, 3);
    expect(triples(output.readRecordsToList())).toEqual([
      ['a', 1, 1],
      ['b', 1, 2],
      ['a', 2, 3],
    ]);
    expect(driver!.getKeyValueStore('counts').get('a')).toBe(2);
  });

  it('reduce starts from the first value and combines (aggregate, value) in arrival order', () => {
    const seen: Array<[number, number]> = [];
    const { input, output } = grouped(
      (g) =>
        g.reduce(
          (agg, v) => {
            seen.push([agg, v]);
            return agg * 10 + v;
          },
          { name: 'digits' },
        ),
      L,
    );
    input.pipeInput('k', 1, 1);
    input.pipeInput('k', 2, 2);
    input.pipeInput('k', 3, 3);
    expect(seen).toEqual([
      [1, 2],
      [12, 3],
    ]);
    expect(output.readValuesToList()).toEqual([1, 12, 123]);
    expect(driver!.getKeyValueStore('digits').get('k')).toBe(123);
  });

  it('aggregate starts from the initializer and passes (key, value, aggregate)', () => {
    const { input, output } = grouped(
      (g) =>
        g.aggregate(
          () => ({ sum: 0, n: 0, keys: [] as string[] }),
          (k, v, a) => ({ sum: a.sum + v, n: a.n + 1, keys: [...a.keys, k] }),
          {
            name: 'stats',
            value: Serdes.JSON<{ sum: number; n: number; keys: string[] }>(),
          },
        ),
      Serdes.JSON<{ sum: number; n: number; keys: string[] }>(),
    );
    input.pipeInput('k', 5, 1);
    input.pipeInput('k', 7, 2);
    expect(output.readValuesToList()).toEqual([
      { sum: 5, n: 1, keys: ['k'] },
      { sum: 12, n: 2, keys: ['k', 'k'] },
    ]);
    expect(driver!.getKeyValueStore('stats').get('k')).toEqual({ sum: 12, n: 2, keys: ['k', 'k'] });
  });

  it('drops records with a null key or a null value and counts them in the metrics', () => {
    const { input, output } = grouped((g) => g.count({ name: 'counts' }), L);
    input.pipeInput('a', 1, 1);
    input.pipeInput(null, 1, 2);
    input.pipeInput('a', null, 3);
    input.pipeInput('a', 1, 4);
    expect(triples(output.readRecordsToList())).toEqual([
      ['a', 1, 1],
      ['a', 2, 4],
    ]);
    const [metrics] = Object.values(driver!.metrics());
    expect(metrics!.droppedRecords).toBe(2);
    expect(metrics!.processedRecords).toBe(4);
  });

  it('stamps each result with the largest timestamp that contributed to it', () => {
    const { input, output } = grouped((g) => g.count(), L);
    input.pipeInput('k', 1, 5_000);
    input.pipeInput('k', 1, 3_000);
    input.pipeInput('k', 1, 7_000);
    input.pipeInput('other', 1, 1_000);
    expect(triples(output.readRecordsToList())).toEqual([
      ['k', 1, 5_000],
      ['k', 2, 5_000],
      ['k', 3, 7_000],
      ['other', 1, 1_000],
    ]);
  });

  it('groupBy aggregates under the selected key, through a repartition topic', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('orders', { key: S, value: Serdes.JSON<{ customer: string; amount: number }>() })
      .groupBy((_id, o) => o.customer, { key: S })
      .aggregate(
        () => 0,
        (_c, o, total) => total + o.amount,
        { name: 'totals', value: L },
      )
      .toStream()
      .to('totals', { value: L });
    driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('orders', S, Serdes.JSON<{ customer: string; amount: number }>());
    input.pipeInput('o1', { customer: 'alice', amount: 10 }, 1);
    input.pipeInput('o2', { customer: 'bob', amount: 3 }, 2);
    input.pipeInput('o3', { customer: 'alice', amount: 5 }, 3);
    expect(triples(driver.createOutputTopic('totals', S, L).readRecordsToList())).toEqual([
      ['alice', 10, 1],
      ['bob', 3, 2],
      ['alice', 15, 3],
    ]);
    expect(driver.getKeyValueStore('totals').all()).toEqual([
      { key: 'alice', value: 15 },
      { key: 'bob', value: 3 },
    ]);
  });

  it('a store without a serde of its own uses the default serdes of the config', () => {
    const builder = new StreamsBuilder();
    builder
      .stream<string, number>('in')
      .groupByKey()
      .aggregate(
        () => 100,
        (_k, v, total: number) => total + v,
        { name: 'totals' },
      )
      .toStream()
      .to('out');
    driver = new TopologyTestDriver(builder.build(), {
      config: { defaultKeySerde: S, defaultValueSerde: L },
    });
    const input = driver.createInputTopic('in', S, L);
    input.pipeInput('k', 5, 1);
    input.pipeInput('k', 6, 2);
    expect(driver.createOutputTopic('out', S, L).readValuesToList()).toEqual([105, 111]);
    expect(driver.getKeyValueStore('totals').get('k')).toBe(111);
  });

  it('a store with no serde and no default fails at start with a message that says what to pass', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', { key: S, value: S })
      .groupByKey()
      .aggregate(
        () => 0,
        (_k, _v, n: number) => n + 1,
        { name: 'no-serde' },
      );
    expect(() => new TopologyTestDriver(builder.build())).toThrow(
      /No value serde for store "no-serde": pass one where the store is defined/,
    );
  });

  it('an in-memory store gives the same results', () => {
    const { input, output } = grouped((g) => g.count({ name: 'mem', storeType: 'in-memory' }), L);
    input.pipeInput('a', 1, 1);
    input.pipeInput('a', 1, 2);
    expect(output.readValuesToList()).toEqual([1, 2]);
    expect(driver!.getKeyValueStore('mem').get('a')).toBe(2);
  });
});

describe('KStream.toTable', () => {
  function toTable() {
    const builder = new StreamsBuilder();
    builder.stream('in', { key: S, value: S }).toTable({ name: 'latest' }).toStream().to('out');
    driver = new TopologyTestDriver(builder.build());
    return { input: driver.createInputTopic('in', S, S), output: driver.createOutputTopic('out', S, S) };
  }

  it('keeps the latest value per key and forwards every update', () => {
    const { input, output } = toTable();
    input.pipeInput('a', '1', 1);
    input.pipeInput('a', '2', 2);
    input.pipeInput('b', '3', 3);
    expect(triples(output.readRecordsToList())).toEqual([
      ['a', '1', 1],
      ['a', '2', 2],
      ['b', '3', 3],
    ]);
    expect(driver!.getKeyValueStore('latest').get('a')).toBe('2');
  });

  it('a null value deletes the key and is forwarded as a tombstone; deleting an absent key emits nothing', () => {
    const { input, output } = toTable();
    input.pipeInput('a', '1', 1);
    input.pipeInput('a', null, 2);
    input.pipeInput('never', null, 3);
    expect(triples(output.readRecordsToList())).toEqual([
      ['a', '1', 1],
      ['a', null, 2],
    ]);
    expect(driver!.getKeyValueStore('latest').get('a')).toBeUndefined();
    expect(driver!.getKeyValueStore('latest').approximateNumEntries()).toBe(0);
  });

  it('repartitions first when the key changed, so that each key has one row in one task', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', { key: S, value: S })
      .selectKey((_k, v) => v.split(':')[0]!)
      .toTable({ name: 'by-prefix', key: S, value: S })
      .toStream()
      .to('out', { key: S, value: S });
    const topology = builder.build();
    expect(topologyGraph(topology).subtopologies()).toHaveLength(2);
    driver = new TopologyTestDriver(topology, { config: { applicationId: 'app' } });
    const input = driver.createInputTopic('in', S, S);
    input.pipeInput('k1', 'a:1', 1);
    input.pipeInput('k2', 'a:2', 2);
    expect(triples(driver.createOutputTopic('out', S, S).readRecordsToList())).toEqual([
      ['a', 'a:1', 1],
      ['a', 'a:2', 2],
    ]);
    expect(driver.producedTopicNames()).toContain('app-by-prefix-repartition');
    expect(driver.getKeyValueStore('by-prefix').get('a')).toBe('a:2');
  });
});
