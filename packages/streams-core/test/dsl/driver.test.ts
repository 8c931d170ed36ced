import { Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { afterEach, describe, expect, it } from 'vitest';

const S = Serdes.String();
const L = Serdes.Long();

let driver: TopologyTestDriver | undefined;
afterEach(() => {
  driver?.close();
  driver = undefined;
});

function passThrough(config: { applicationId?: string } = {}) {
  const builder = new StreamsBuilder();
  builder.stream('in', { key: S, value: S }).to('out', { key: S, value: S });
  builder.table('table-in', { key: S, value: L }, { name: 'latest' });
  driver = new TopologyTestDriver(builder.build(), { config, initialWallClockTime: 0 });
  return { input: driver.createInputTopic('in', S, S), output: driver.createOutputTopic('out', S, S) };
}

describe('TestInputTopic', () => {
  it('pipeRecordList pipes records with their keys, values, timestamps and headers, in order', () => {
    const { input, output } = passThrough();
    input.pipeRecordList([
      { key: 'a', value: '1', timestamp: 30 },
      { key: null, value: '2', timestamp: 10 },
      { key: 'c', value: null, timestamp: 20, headers: { h: 'x' } },
    ]);
    const records = output.readRecordsToList();
    expect(records.map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['a', '1', 30],
      [null, '2', 10],
      ['c', null, 20],
    ]);
    expect(records[2]!.headers.getString('h')).toBe('x');
  });

  it('pipeKeyValueList spaces timestamps by the given step', () => {
    const { input, output } = passThrough();
    input.pipeKeyValueList(
      [
        { key: 'a', value: '1' },
        { key: 'b', value: '2' },
        { key: 'c', value: '3' },
      ],
      100,
      5,
    );
    expect(output.readRecordsToList().map((r) => r.timestamp)).toEqual([100, 105, 110]);
  });

  it('createInputTopic for a topic the topology does not read fails and names the topics it reads', () => {
    passThrough();
    expect(() => driver!.createInputTopic('nope', S, S)).toThrow(
      'Unknown input topic "nope": the topology reads "in", "table-in"',
    );
  });

  it('a closed driver refuses input', () => {
    const { input } = passThrough();
    driver!.close();
    expect(() => input.pipeInput('k', 'v')).toThrow(/closed/);
  });
});

describe('TestOutputTopic', () => {
  it('readKeyValue consumes one record at a time and fails clearly when none is left', () => {
    const { input, output } = passThrough();
    input.pipeInput('a', '1');
    input.pipeInput('b', '2');
    expect(output.getQueueSize()).toBe(2);
    expect(output.readKeyValue()).toEqual({ key: 'a', value: '1' });
    expect(output.isEmpty()).toBe(false);
    expect(output.readKeyValue()).toEqual({ key: 'b', value: '2' });
    expect(output.isEmpty()).toBe(true);
    expect(() => output.readKeyValue()).toThrow('No more records in output topic "out"');
  });

  it('readKeyValuesToList and readRecordsToList drain the topic', () => {
    const { input, output } = passThrough();
    input.pipeInput('a', '1', 5);
    expect(output.readKeyValuesToList()).toEqual([{ key: 'a', value: '1' }]);
    expect(output.readKeyValuesToList()).toEqual([]);
    input.pipeInput('b', '2', 6);
    const [record] = output.readRecordsToList();
    expect(record).toMatchObject({ key: 'b', value: '2', timestamp: 6 });
    expect(record!.headers.size).toBe(0);
    expect(output.isEmpty()).toBe(true);
  });

  it('readKeyValuesToMap keeps the latest value per key, a tombstone as null', () => {
    const { input, output } = passThrough();
    input.pipeInput('a', '1');
    input.pipeInput('b', '2');
    input.pipeInput('a', '3');
    input.pipeInput('b', null);
    expect(output.readKeyValuesToMap()).toEqual(
      new Map([
        ['a', '3'],
        ['b', null],
      ]),
    );
  });

  it('readKeyValuesToMap refuses records without a key rather than merging them under null', () => {
    const { input, output } = passThrough();
    input.pipeInput('a', '1');
    input.pipeInput(null, '2');
    expect(() => output.readKeyValuesToMap()).toThrow(/null key/);
  });

  it('two output topics for one topic share its records; a topic never written is empty', () => {
    const { input, output } = passThrough();
    const again = driver!.createOutputTopic('out', S, S);
    input.pipeInput('a', '1');
    expect(again.readValue()).toBe('1');
    expect(output.isEmpty()).toBe(true);
    expect(driver!.createOutputTopic('never', S, S).isEmpty()).toBe(true);
  });
});

describe('stores and topics', () => {
  it('getKeyValueStore shows plain values of a table store; getTimestampedKeyValueStore shows their timestamps', () => {
    passThrough();
    const table = driver!.createInputTopic('table-in', S, L);
    table.pipeInput('a', 1, 100);
    table.pipeInput('a', 2, 200);
    table.pipeInput('b', 3, 150);
    const store = driver!.getKeyValueStore<string, number>('latest');
    expect(store.get('a')).toBe(2);
    expect(store.all()).toEqual([
      { key: 'a', value: 2 },
      { key: 'b', value: 3 },
    ]);
    expect(store.range('b', 'z')).toEqual([{ key: 'b', value: 3 }]);
    expect(store.approximateNumEntries()).toBe(2);
    expect(driver!.getTimestampedKeyValueStore<string, number>('latest').get('a')).toEqual({
      value: 2,
      timestamp: 200,
    });
  });

  it('getKeyValueStore for an unknown store names the stores there are', () => {
    passThrough();
    expect(() => driver!.getKeyValueStore('nope')).toThrow(
      'No store named "nope": the topology has "latest"',
    );
  });

  it('producedTopicNames lists every topic written, internal ones with the application id', () => {
    const builder = new StreamsBuilder();
    const s = builder.stream('in', { key: S, value: S });
    s.to('plain', { key: S, value: S });
    s.groupBy((_k, v) => v, { key: S })
      .count({ name: 'n' })
      .toStream()
      .to('counts', { value: L });
    driver = new TopologyTestDriver(builder.build(), { config: { applicationId: 'my-app' } });
    expect(driver.producedTopicNames()).toEqual(new Set());
    driver.createInputTopic('in', S, S).pipeInput('k', 'v');
    expect([...driver.producedTopicNames()].sort()).toEqual(['counts', 'my-app-n-repartition', 'plain']);
  });

  it('advanceWallClockTime refuses to go back', () => {
    passThrough();
    expect(() => driver!.advanceWallClockTime(-1)).toThrow(/>= 0/);
  });
});
