import { type KTable, type Serde, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { afterEach, describe, expect, it } from 'vitest';

const S = Serdes.String();
const L = Serdes.Long();
const I = Serdes.Integer();

let driver: TopologyTestDriver | undefined;
afterEach(() => {
  driver?.close();
  driver = undefined;
});

const triples = (records: Array<{ key: unknown; value: unknown; timestamp: number }>) =>
  records.map((r) => [r.key, r.value, r.timestamp]);

/** A table of `in` (string → int), shaped by `shape`, whose changes go to `out`. */
function table<V>(
  shape: (t: KTable<string, number>) => KTable<string, V>,
  valueSerde: Serde<V> = I as Serde<never>,
) {
  const builder = new StreamsBuilder();
  shape(builder.table('in', { key: S, value: I }, { name: 'source-store' }))
    .toStream()
    .to('out', { key: S, value: valueSerde });
  driver = new TopologyTestDriver(builder.build());
  return {
    input: driver.createInputTopic('in', S, I),
    output: driver.createOutputTopic('out', S, valueSerde),
  };
}

describe('builder.table', () => {
  it('keeps the latest value per key; a tombstone deletes; deleting an absent key emits nothing', () => {
    const { input, output } = table((t) => t);
    input.pipeInput('a', 1, 10);
    input.pipeInput('a', 2, 20);
    input.pipeInput('b', 3, 30);
    input.pipeInput('a', null, 40);
    input.pipeInput('absent', null, 50);
    expect(triples(output.readRecordsToList())).toEqual([
      ['a', 1, 10],
      ['a', 2, 20],
      ['b', 3, 30],
      ['a', null, 40],
    ]);
    const store = driver!.getKeyValueStore('source-store');
    expect(store.get('a')).toBeUndefined();
    expect(store.get('b')).toBe(3);
    expect(store.all()).toEqual([{ key: 'b', value: 3 }]);
  });
});

describe('builder.table without keys', () => {
  it('drops records without a key and counts them', () => {
    const { input, output } = table((t) => t);
    input.pipeInput(null, 1, 1);
    input.pipeInput('a', 2, 2);
    expect(output.readKeyValuesToList()).toEqual([{ key: 'a', value: 2 }]);
    expect(Object.values(driver!.metrics())[0]!.droppedRecords).toBe(1);
  });
});

describe('KTable.filter and filterNot', () => {
  it('forwards rows that pass; a row that stops passing becomes a tombstone downstream', () => {
    const { input, output } = table((t) => t.filter((_k, v) => v > 10));
    input.pipeInput('a', 20, 1); // passes
    input.pipeInput('a', 30, 2); // still passes
    input.pipeInput('a', 5, 3); // leaves: tombstone
    input.pipeInput('a', 6, 4); // still out: nothing
    input.pipeInput('b', 1, 5); // never in: nothing (we do not emit a tombstone for a key never in the result)
    input.pipeInput('b', null, 6); // deleting a row that was filtered out: nothing
    input.pipeInput('c', 50, 7);
    input.pipeInput('c', null, 8); // deleting a row that passed: tombstone
    expect(triples(output.readRecordsToList())).toEqual([
      ['a', 20, 1],
      ['a', 30, 2],
      ['a', null, 3],
      ['c', 50, 7],
      ['c', null, 8],
    ]);
  });

  it('filterNot keeps the rows the predicate rejects', () => {
    const { input, output } = table((t) => t.filterNot((k, v) => k.startsWith('x') || v < 0));
    input.pipeInput('a', 1, 1);
    input.pipeInput('x1', 1, 2);
    input.pipeInput('a', -1, 3);
    expect(triples(output.readRecordsToList())).toEqual([
      ['a', 1, 1],
      ['a', null, 3],
    ]);
  });

  it('a materialized filter behaves the same and holds only the rows that pass', () => {
    const { input, output } = table((t) =>
      t.filter((_k, v) => v % 2 === 0, { materialized: { name: 'evens' } }),
    );
    input.pipeInput('a', 2, 1);
    input.pipeInput('b', 3, 2);
    input.pipeInput('a', 1, 3);
    input.pipeInput('b', 4, 4);
    expect(triples(output.readRecordsToList())).toEqual([
      ['a', 2, 1],
      ['a', null, 3],
      ['b', 4, 4],
    ]);
    expect(driver!.getKeyValueStore('evens').all()).toEqual([{ key: 'b', value: 4 }]);
  });
});

describe('KTable.mapValues and toStream', () => {
  it('mapValues passes (value, key), maps every update and forwards deletes as tombstones', () => {
    const { input, output } = table((t) => t.mapValues((v, k) => `${k}=${v * 2}`), S);
    input.pipeInput('a', 1, 1);
    input.pipeInput('a', 4, 2);
    input.pipeInput('a', null, 3);
    expect(triples(output.readRecordsToList())).toEqual([
      ['a', 'a=2', 1],
      ['a', 'a=8', 2],
      ['a', null, 3],
    ]);
  });

  it('a materialized mapValues is queryable by its name', () => {
    const { input } = table(
      (t) => t.mapValues((v) => `v${v}`, { materialized: { name: 'mapped', value: S } }),
      S,
    );
    input.pipeInput('a', 1, 1);
    input.pipeInput('b', 2, 2);
    input.pipeInput('b', null, 3);
    expect(driver!.getKeyValueStore('mapped').all()).toEqual([{ key: 'a', value: 'v1' }]);
  });
});

describe('KTable.groupBy aggregations', () => {
  /** users: id → region; counted per region. */
  function usersPerRegion() {
    const builder = new StreamsBuilder();
    builder
      .table('users', { key: S, value: S })
      .groupBy((id, region) => [region, id] as const, { key: S, value: S })
      .count({ name: 'per-region' })
      .toStream()
      .to('counts', { key: S, value: L });
    driver = new TopologyTestDriver(builder.build());
    return {
      input: driver.createInputTopic('users', S, S),
      output: driver.createOutputTopic('counts', S, L),
    };
  }

  it('count: a row moving to another group decrements the old group, then increments the new one', () => {
    const { input, output } = usersPerRegion();
    input.pipeInput('u1', 'eu', 1);
    input.pipeInput('u2', 'eu', 2);
    input.pipeInput('u1', 'us', 3);
    expect(triples(output.readRecordsToList())).toEqual([
      ['eu', 1, 1],
      ['eu', 2, 2],
      ['eu', 1, 3],
      ['us', 1, 3],
    ]);
    expect(driver!.getKeyValueStore('per-region').get('eu')).toBe(1);
    expect(driver!.getKeyValueStore('per-region').get('us')).toBe(1);
  });

  it('count: a delete subtracts the row from its group; an update within a group changes nothing', () => {
    const { input, output } = usersPerRegion();
    input.pipeInput('u1', 'eu', 1);
    input.pipeInput('u2', 'eu', 2);
    input.pipeInput('u2', 'eu', 3);
    input.pipeInput('u1', null, 4);
    input.pipeInput('ghost', null, 5);
    expect(triples(output.readRecordsToList())).toEqual([
      ['eu', 1, 1],
      ['eu', 2, 2],
      ['eu', 2, 3],
      ['eu', 1, 4],
    ]);
  });

  it('reduce adds new values and subtracts replaced ones', () => {
    const builder = new StreamsBuilder();
    builder
      .table('balances', { key: S, value: L })
      .groupBy((account, amount) => [account.split('-')[0]!, amount] as const, { key: S, value: L })
      .reduce(
        (agg, v) => agg + v,
        (agg, v) => agg - v,
        { name: 'per-owner' },
      )
      .toStream()
      .to('totals', { key: S, value: L });
    driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('balances', S, L);
    const output = driver.createOutputTopic('totals', S, L);
    input.pipeInput('ann-1', 100, 1);
    input.pipeInput('ann-2', 50, 2);
    input.pipeInput('ann-1', 70, 3);
    input.pipeInput('bob-1', 5, 4);
    input.pipeInput('ann-2', null, 5);
    expect(triples(output.readRecordsToList())).toEqual([
      ['ann', 100, 1],
      ['ann', 150, 2],
      ['ann', 120, 3],
      ['bob', 5, 4],
      ['ann', 70, 5],
    ]);
    expect(driver.getKeyValueStore('per-owner').get('ann')).toBe(70);
  });

  it('aggregate calls the subtractor for the old value and the adder for the new, with the group key', () => {
    const calls: string[] = [];
    const builder = new StreamsBuilder();
    builder
      .table('items', { key: S, value: S })
      .groupBy((item, category) => [category, item] as const, { key: S, value: S })
      .aggregate(
        () => [] as string[],
        (cat, item, agg) => {
          calls.push(`+${cat}:${item}`);
          return [...agg, item].sort();
        },
        (cat, item, agg) => {
          calls.push(`-${cat}:${item}`);
          return agg.filter((i) => i !== item);
        },
        { name: 'by-category', value: Serdes.JSON<string[]>() },
      )
      .toStream()
      .to('out', { key: S, value: Serdes.JSON<string[]>() });
    driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('items', S, S);
    input.pipeInput('apple', 'fruit', 1);
    input.pipeInput('carrot', 'fruit', 2);
    input.pipeInput('carrot', 'veg', 3);
    expect(calls).toEqual(['+fruit:apple', '+fruit:carrot', '-fruit:carrot', '+veg:carrot']);
    expect(triples(driver.createOutputTopic('out', S, Serdes.JSON<string[]>()).readRecordsToList())).toEqual([
      ['fruit', ['apple'], 1],
      ['fruit', ['apple', 'carrot'], 2],
      ['fruit', ['apple'], 3],
      ['veg', ['carrot'], 3],
    ]);
  });

  it('without a value serde for the repartition topic, building fails with a message that says what to pass', () => {
    const builder = new StreamsBuilder();
    const grouped = builder.table('t', { key: S, value: S }).groupBy((k, v) => [v, k] as const, { key: S });
    expect(() => grouped.count()).toThrow(/needs a value serde.*groupBy/);
  });
});
