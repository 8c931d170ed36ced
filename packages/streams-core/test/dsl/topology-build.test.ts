import { Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { describe, expect, it } from 'vitest';
import { topologyGraph } from '../../src/topology/topology-graph.ts';

const S = Serdes.String();

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
