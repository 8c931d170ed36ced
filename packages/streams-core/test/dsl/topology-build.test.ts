import { Serdes, Stores, StreamsBuilder, Topology, TopologyException } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { describe, expect, it } from 'vitest';
import { topologyGraph } from '../../src/topology/topology-graph.ts';

const S = Serdes.String();

describe('StreamsBuilder.build() returns a snapshot', () => {
  it('building more on the builder afterwards does not change a topology already built', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', { key: S, value: S })
      .mapValues((v) => v.toUpperCase())
      .to('out', { key: S, value: S });
    const first = builder.build();
    const text = first.describe().toString();
    const nodes = [...topologyGraph(first).nodes()].map((n) => n.name);

    builder.stream('more', { key: S, value: S }).filter(() => true);
    builder.stream('other', { key: S, value: S }).groupByKey().count({ name: 'counts' });
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('extra'), S, S));

    expect(first.describe().toString()).toBe(text);
    expect([...topologyGraph(first).nodes()].map((n) => n.name)).toEqual(nodes);
    expect(topologyGraph(first).storeNames()).toEqual([]);
    expect(topologyGraph(first).repartitionTopics()).toEqual([]);
    const second = builder.build();
    expect(second.describe().toString()).not.toBe(text);
    expect(topologyGraph(second).storeNames().sort()).toEqual(['counts', 'extra']);

    // The first topology still runs as it was built: it does not read "other".
    const driver = new TopologyTestDriver(first);
    expect(() => driver.createInputTopic('other', S, S)).toThrow(/Unknown input topic "other"/);
    driver.createInputTopic('in', S, S).pipeInput('k', 'a', 1);
    expect(driver.createOutputTopic('out', S, S).readValuesToList()).toEqual(['A']);
    driver.close();
  });

  it('a built topology cannot be changed, through the Processor API or its graph', () => {
    const builder = new StreamsBuilder();
    builder.stream('in', { key: S, value: S, name: 'src' }).to('out', { name: 'sink' });
    const topology = builder.build();
    const text = topology.describe().toString();
    const refused = /This topology was built and cannot change/;
    expect(() => topology.addSource('more', 'elsewhere')).toThrow(TopologyException);
    expect(() => topology.addSource('more', 'elsewhere')).toThrow(refused);
    expect(() => topology.addProcessor('p', () => ({ process() {} }), 'src')).toThrow(refused);
    expect(() => topology.addSink('s2', 'out2', {}, 'src')).toThrow(refused);
    expect(() =>
      topology.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('st'), S, S)),
    ).toThrow(refused);
    expect(() => topology.connectProcessorAndStateStores('st', 'src')).toThrow(refused);
    const graph = topologyGraph(topology);
    expect(() => graph.addRepartitionTopic('x')).toThrow(refused);
    expect(() => graph.addCopartitionGroup(['in', 'other'])).toThrow(refused);
    // Its nodes and sub-topologies are frozen too.
    const src = graph.node('src');
    expect(Object.isFrozen(src)).toBe(true);
    expect(Object.isFrozen(src.children)).toBe(true);
    expect(() => src.children.push('intruder')).toThrow(TypeError);
    expect(Object.isFrozen(graph.subtopologies()[0]!.nodes)).toBe(true);
    expect(topology.describe().toString()).toBe(text);
  });

  it('each build() is its own snapshot', () => {
    const builder = new StreamsBuilder();
    builder.stream('in', { key: S, value: S }).to('out');
    const a = builder.build();
    const b = builder.build();
    expect(a).not.toBe(b);
    expect(topologyGraph(a)).not.toBe(topologyGraph(b));
    expect(a.describe().toString()).toBe(b.describe().toString());
  });

  it('a Processor API topology stays open for building until it is run', () => {
    const topology = new Topology().addSource('src', 'in', { keySerde: S, valueSerde: S });
    topology.addSink('sink', 'out', { keySerde: S, valueSerde: S }, 'src');
    expect(topology.describe().toString()).toContain('Sink: sink (topic: out)');
  });

  it('the topology users hold has no runtime methods', () => {
    const builder = new StreamsBuilder();
    builder.stream('in', { key: S, value: S }).to('out');
    const topology = builder.build() as unknown as Record<string, unknown>;
    for (const name of [
      'subtopologies',
      'globalSubtopologies',
      'globalStores',
      'isGlobalStore',
      'node',
      'nodes',
      'storeBuilder',
      'storeNames',
      'repartitionTopics',
      'sinkTopics',
      'addRepartitionTopic',
      'addCopartitionGroup',
    ])
      expect(topology[name], name).toBeUndefined();
  });
});

describe('global sub-topologies', () => {
  it('are numbered after the regular ones in the graph, as describe() shows them', () => {
    const builder = new StreamsBuilder();
    const products = builder.globalTable('products', { key: S, value: S }, { name: 'products-store' });
    builder
      .stream('orders', { key: S, value: S })
      .join(
        products,
        (_k, v) => v,
        (o, p) => `${o}:${p}`,
      )
      .to('lines');
    builder.stream('audit', { key: S, value: S }).to('audit-out');
    const topology = builder.build();
    const graph = topologyGraph(topology);
    expect(graph.subtopologies().map((s) => s.id)).toEqual([0, 1]);
    expect(graph.globalSubtopologies().map((s) => s.id)).toEqual([2]);
    expect(graph.globalSubtopologies()[0]!.stores).toEqual(['products-store']);
    const described = topology.describe().subtopologies;
    expect(described.map((s) => [s.id, s.global ?? false])).toEqual([
      [0, false],
      [1, false],
      [2, true],
    ]);
    expect(topology.describe().toString()).toContain(
      '   Sub-topology: 2 for global store (will not generate tasks)\n',
    );
  });
});
