import { Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { describe, expect, it } from 'vitest';

function wordCount() {
  const builder = new StreamsBuilder();
  builder
    .stream('text', { key: Serdes.String(), value: Serdes.String() })
    .flatMapValues((line) => line.toLowerCase().split(/\W+/).filter(Boolean))
    .groupBy((_key, word) => word, { key: Serdes.String(), value: Serdes.String() })
    .count({ name: 'word-counts' })
    .toStream()
    .to('word-counts-out', { key: Serdes.String(), value: Serdes.Long() });
  return builder.build();
}

describe('word count through the TopologyTestDriver', () => {
  it('counts words across records, through a repartition topic', () => {
    const driver = new TopologyTestDriver(wordCount());
    const input = driver.createInputTopic('text', Serdes.String(), Serdes.String());
    const output = driver.createOutputTopic('word-counts-out', Serdes.String(), Serdes.Long());
    input.pipeInput('k1', 'Hello hello world', 1_000);
    expect(output.readKeyValuesToMap()).toEqual(
      new Map([
        ['hello', 2],
        ['world', 1],
      ]),
    );
    input.pipeInput('k2', 'world peace', 2_000);
    expect(output.readKeyValuesToList()).toEqual([
      { key: 'world', value: 2 },
      { key: 'peace', value: 1 },
    ]);
    expect(driver.getKeyValueStore('word-counts').get('hello')).toBe(2);
    expect(driver.getKeyValueStore('word-counts').get('absent')).toBeUndefined();
    expect([...driver.producedTopicNames()].sort()).toEqual([
      'topology-test-driver-word-counts-repartition',
      'word-counts-out',
    ]);
    driver.close();
  });

  it('emits every update with the timestamp of the record that caused it', () => {
    const driver = new TopologyTestDriver(wordCount());
    const input = driver.createInputTopic('text', Serdes.String(), Serdes.String());
    const output = driver.createOutputTopic('word-counts-out', Serdes.String(), Serdes.Long());
    input.pipeInput('k', 'a', 5_000);
    input.pipeInput('k', 'a', 3_000);
    const records = output.readRecordsToList();
    expect(records.map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['a', 1, 5_000],
      ['a', 2, 5_000],
    ]);
    driver.close();
  });

  it('describes the topology in Kafka Streams shape, split at the repartition topic', () => {
    const text = wordCount().describe().toString();
    expect(text).toMatch(
      /^Topologies:\n {3}Sub-topology: 0\n {4}Source: KSTREAM-SOURCE-[0-9a-f]{8} \(topics: \[text\]\)\n {6}--> KSTREAM-FLATMAPVALUES-/,
    );
    expect(text).toContain('Sink: word-counts-repartition-sink (topic: word-counts-repartition)');
    expect(text).toContain(
      '   Sub-topology: 1\n    Source: word-counts-repartition-source (topics: [word-counts-repartition])',
    );
    expect(text).toMatch(/Processor: KSTREAM-AGGREGATE-[0-9a-f]{8} \(stores: \[word-counts\]\)/);
    expect(text).toContain('Sink: KSTREAM-SINK-');
    expect(text).toContain('(topic: word-counts-out)');
  });
});
