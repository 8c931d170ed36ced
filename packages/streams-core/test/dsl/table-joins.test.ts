import { type KTable, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { topologyGraph } from '../../src/topology/topology-graph.ts';

const S = Serdes.String();

let driver: TopologyTestDriver | undefined;
afterEach(() => {
  driver?.close();
  driver = undefined;
});

type Join = (left: KTable<string, string>, right: KTable<string, string>) => KTable<string, string>;

function joined(join: Join) {
  const builder = new StreamsBuilder();
  const left = builder.table('left', { key: S, value: S });
  const right = builder.table('right', { key: S, value: S });
  join(left, right).toStream().to('out', { key: S, value: S });
  driver = new TopologyTestDriver(builder.build());
  return {
    left: driver.createInputTopic('left', S, S),
    right: driver.createInputTopic('right', S, S),
    output: driver.createOutputTopic('out', S, S),
  };
}

/**
 * The sequence of Kafka Streams' documentation for KTable-KTable joins (one key, timestamps
 * 1..15): which side gets which value or tombstone. The expected columns below are the ones that
 * documentation gives for inner, left and outer joins.
 */
const sequence: Array<['left' | 'right', string | null]> = [
  ['left', null],
  ['right', null],
  ['left', 'A'],
  ['right', 'a'],
  ['left', 'B'],
  ['right', 'b'],
  ['left', null],
  ['right', null],
  ['left', 'C'],
  ['right', 'c'],
  ['right', null],
  ['left', null],
  ['right', null],
  ['right', 'd'],
  ['left', 'D'],
];

function play(join: Join): Array<[number, string | null]> {
  const { left, right, output } = joined(join);
  const out: Array<[number, string | null]> = [];
  sequence.forEach(([side, value], i) => {
    (side === 'left' ? left : right).pipeInput('k', value, i + 1);
    for (const r of output.readRecordsToList()) {
      expect(r.key).toBe('k');
      out.push([r.timestamp, r.value]);
    }
  });
  return out;
}

const joiner = (l: string | null, r: string | null) => `${l}/${r}`;

describe('KTable-KTable joins, against the sequence in Kafka Streams documentation', () => {
  it('inner join', () => {
    expect(play((l, r) => l.join(r, joiner))).toEqual([
      [4, 'A/a'],
      [5, 'B/a'],
      [6, 'B/b'],
      [7, null],
      [10, 'C/c'],
      [11, null],
      [15, 'D/d'],
    ]);
  });

  it('left join', () => {
    expect(play((l, r) => l.leftJoin(r, joiner))).toEqual([
      [3, 'A/null'],
      [4, 'A/a'],
      [5, 'B/a'],
      [6, 'B/b'],
      [7, null],
      [9, 'C/null'],
      [10, 'C/c'],
      [11, 'C/null'],
      [12, null],
      [15, 'D/d'],
    ]);
  });

  it('outer join', () => {
    expect(play((l, r) => l.outerJoin(r, joiner))).toEqual([
      [3, 'A/null'],
      [4, 'A/a'],
      [5, 'B/a'],
      [6, 'B/b'],
      [7, 'null/b'],
      [8, null],
      [9, 'C/null'],
      [10, 'C/c'],
      [11, 'C/null'],
      [12, null],
      [14, 'null/d'],
      [15, 'D/d'],
    ]);
  });
});

describe('KTable-KTable join results', () => {
  it('carry the larger timestamp of the two sides, whichever side updated', () => {
    const { left, right, output } = joined((l, r) => l.join(r, joiner));
    left.pipeInput('k', 'A', 100);
    right.pipeInput('k', 'a', 50); // right update, older than the left row
    left.pipeInput('k', 'B', 70); // left update, older than the left row it replaces
    right.pipeInput('k', 'b', 200);
    right.pipeInput('k', null, 60);
    expect(output.readRecordsToList().map((r) => [r.value, r.timestamp])).toEqual([
      ['A/a', 100],
      ['B/a', 70],
      ['B/b', 200],
      [null, 70],
    ]);
  });

  it('join keys independently', () => {
    const { left, right, output } = joined((l, r) => l.join(r, joiner));
    left.pipeInput('x', 'X', 1);
    left.pipeInput('y', 'Y', 2);
    right.pipeInput('y', 'y', 3);
    right.pipeInput('z', 'z', 4);
    expect(output.readKeyValuesToList()).toEqual([{ key: 'y', value: 'Y/y' }]);
  });

  it('a materialized join result is queryable, and a deletion removes the row', () => {
    const { left, right } = joined((l, r) =>
      l.leftJoin(r, joiner, { materialized: { name: 'joined', value: S } }),
    );
    left.pipeInput('a', 'A', 1);
    left.pipeInput('b', 'B', 2);
    right.pipeInput('a', 'a', 3);
    left.pipeInput('b', null, 4);
    expect(driver!.getKeyValueStore('joined').all()).toEqual([{ key: 'a', value: 'A/a' }]);
  });

  it('joined tables feed further table operators with updates and deletions', () => {
    const builder = new StreamsBuilder();
    const users = builder.table('users', { key: S, value: S });
    const emails = builder.table('emails', { key: S, value: S });
    users
      .join(emails, (name, email) => `${name} <${email}>`)
      .filter((_k, v) => !v.includes('spam'))
      .toStream()
      .to('contacts', { key: S, value: S });
    driver = new TopologyTestDriver(builder.build());
    const u = driver.createInputTopic('users', S, S);
    const e = driver.createInputTopic('emails', S, S);
    u.pipeInput('1', 'Ann', 1);
    e.pipeInput('1', 'ann@example.com', 2);
    e.pipeInput('1', 'ann@spam.example', 3);
    expect(driver.createOutputTopic('contacts', S, S).readKeyValuesToList()).toEqual([
      { key: '1', value: 'Ann <ann@example.com>' },
      { key: '1', value: null },
    ]);
  });

  it('puts both tables in one sub-topology (one task reads both topics)', () => {
    const builder = new StreamsBuilder();
    builder
      .table('l', { key: S, value: S })
      .join(builder.table('r', { key: S, value: S }), joiner)
      .toStream()
      .to('out');
    const subs = topologyGraph(builder.build()).subtopologies();
    expect(subs).toHaveLength(1);
    expect(subs[0]!.sourceTopics.map((t) => t.topic).sort()).toEqual(['l', 'r']);
    expect(subs[0]!.copartitionGroups).toEqual([['l', 'r']]);
  });
});
