import { type KStream, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { topologyGraph } from '../../src/topology/topology-graph.ts';

const S = Serdes.String();

let driver: TopologyTestDriver | undefined;
afterEach(() => {
  driver?.close();
  driver = undefined;
});

describe('KStream.repartition', () => {
  it('routes records through <applicationId>-<name>-repartition, keeping key, value, timestamp and headers', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', { key: S, value: S })
      .selectKey((_k, v) => v)
      .repartition({ name: 'by-value', key: S, value: S })
      .mapValues((v) => v.length)
      .to('out', { value: Serdes.Integer() });
    const topology = builder.build();
    expect(topologyGraph(topology).subtopologies()).toHaveLength(2);
    driver = new TopologyTestDriver(topology, { config: { applicationId: 'app' } });
    driver.createInputTopic('in', S, S).pipeInput('k', 'hello', 42, { trace: 't-1' });
    const [record] = driver.createOutputTopic('out', S, Serdes.Integer()).readRecordsToList();
    expect([record!.key, record!.value, record!.timestamp]).toEqual(['hello', 5, 42]);
    expect(record!.headers.getString('trace')).toBe('t-1');
    expect([...driver.producedTopicNames()].sort()).toEqual(['app-by-value-repartition', 'out']);
  });

  it('generates a stable topic name when none is given', () => {
    const builder = new StreamsBuilder();
    builder.stream('in', { key: S, value: S }).repartition().to('out');
    driver = new TopologyTestDriver(builder.build());
    driver.createInputTopic('in', S, S).pipeInput('k', 'v');
    const internal = [...driver.producedTopicNames()].filter((t) => t !== 'out');
    expect(internal).toHaveLength(1);
    expect(internal[0]).toMatch(/^topology-test-driver-KSTREAM-REPARTITION-[0-9a-f]{8}-repartition$/);
    expect(driver.createOutputTopic('out', S, S).readKeyValuesToList()).toEqual([{ key: 'k', value: 'v' }]);
  });
});

describe('grouping repartitions only when the key changed', () => {
  function internalTopics(shape: (s: KStream<string, string>) => void): string[] {
    const builder = new StreamsBuilder();
    shape(builder.stream('in', { key: S, value: S }));
    const d = new TopologyTestDriver(builder.build(), { config: { applicationId: 'app' } });
    try {
      d.createInputTopic('in', S, S).pipeInput('k', 'v', 1);
      return [...d.producedTopicNames()].filter((t) => t.endsWith('-repartition'));
    } finally {
      d.close();
    }
  }

  it('groupByKey on the source key does not repartition', () => {
    expect(internalTopics((s) => s.groupByKey().count({ name: 'c' }))).toEqual([]);
  });

  it('groupByKey after mapValues, filter or peek does not repartition', () => {
    expect(
      internalTopics((s) =>
        s
          .mapValues((v) => `${v}!`)
          .filter(() => true)
          .peek(() => {})
          .groupByKey({ value: S })
          .count({ name: 'c' }),
      ),
    ).toEqual([]);
  });

  it('groupByKey after selectKey, map or flatMap repartitions, even with a key-preserving operator in between', () => {
    expect(
      internalTopics((s) =>
        s
          .selectKey((_k, v) => v)
          .mapValues((v) => v)
          .groupByKey({ key: S, value: S })
          .count({ name: 'c' }),
      ),
    ).toEqual(['app-c-repartition']);
    expect(
      internalTopics((s) =>
        s
          .map((k, v) => [k, v] as const)
          .groupByKey({ key: S, value: S })
          .count({ name: 'c' }),
      ),
    ).toEqual(['app-c-repartition']);
    expect(
      internalTopics((s) =>
        s
          .flatMap((k, v) => [[k, v] as const])
          .groupByKey({ key: S, value: S })
          .count({ name: 'c' }),
      ),
    ).toEqual(['app-c-repartition']);
  });

  it('groupBy always repartitions, under the Grouped name when one is given', () => {
    expect(internalTopics((s) => s.groupBy((k) => k, { key: S }).count({ name: 'c' }))).toEqual([
      'app-c-repartition',
    ]);
    expect(internalTopics((s) => s.groupBy((k) => k, { key: S, name: 'by-k' }).count({ name: 'c' }))).toEqual(
      ['app-by-k-repartition'],
    );
  });

  it('an explicit repartition satisfies a later groupByKey', () => {
    expect(
      internalTopics((s) =>
        s
          .selectKey((_k, v) => v)
          .repartition({ name: 'explicit', key: S, value: S })
          .groupByKey()
          .count({ name: 'c' }),
      ),
    ).toEqual(['app-explicit-repartition']);
  });

  it('aggregates by the new key after the repartition', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', { key: S, value: S })
      .selectKey((_k, v) => v)
      .groupByKey({ key: S, value: S })
      .count({ name: 'per-value' })
      .toStream()
      .to('out', { value: Serdes.Long() });
    driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('in', S, S);
    input.pipeInput('a', 'x', 1);
    input.pipeInput('b', 'x', 2);
    input.pipeInput('c', 'y', 3);
    expect(driver.createOutputTopic('out', S, Serdes.Long()).readKeyValuesToList()).toEqual([
      { key: 'x', value: 1 },
      { key: 'x', value: 2 },
      { key: 'y', value: 1 },
    ]);
    expect(driver.getKeyValueStore('per-value').get('x')).toBe(2);
  });
});
