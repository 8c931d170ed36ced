import { type KStream, Serdes, StreamsBuilder, type Topology } from '@kafka-pattern/streams-core';
import { describe, expect, it } from 'vitest';
import { topologyGraph } from '../../src/topology/topology-graph.ts';

const S = Serdes.String();

describe('describe() text', () => {
  it('prints Kafka Streams shape exactly for a named linear topology', () => {
    const builder = new StreamsBuilder();
    builder
      .stream(['a', 'b'], { key: S, value: S, name: 'src' })
      .filter(() => true, { name: 'keep' })
      .mapValues((v) => v, { name: 'same' })
      .to('out', { name: 'sink' });
    expect(builder.build().describe().toString()).toBe(
      [
        'Topologies:',
        '   Sub-topology: 0',
        '    Source: src (topics: [a, b])',
        '      --> keep',
        '    Processor: keep (stores: [])',
        '      --> same',
        '      <-- src',
        '    Processor: same (stores: [])',
        '      --> sink',
        '      <-- keep',
        '    Sink: sink (topic: out)',
        '      <-- same',
        '',
        '',
      ].join('\n'),
    );
  });

  it('splits sub-topologies at a repartition topic and lists stores on their processors', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', { key: S, value: S, name: 'src' })
      .groupBy((_k, v) => v, { key: S, name: 'by-value' })
      .count({ name: 'counts' })
      .toStream({ name: 'changes' })
      .to('out', { value: Serdes.Long(), name: 'sink' });
    const description = builder.build().describe();
    expect(description.subtopologies.map((s) => s.nodes.map((n) => n.name))).toEqual([
      [
        'src',
        expect.stringMatching(/^KSTREAM-KEY-SELECT-/),
        'by-value-repartition-filter',
        'by-value-repartition-sink',
      ],
      ['by-value-repartition-source', expect.stringMatching(/^KSTREAM-AGGREGATE-/), 'changes', 'sink'],
    ]);
    const text = description.toString();
    expect(text).toContain(
      '    Sink: by-value-repartition-sink (topic: by-value-repartition)\n      <-- by-value-repartition-filter\n\n   Sub-topology: 1\n',
    );
    expect(text).toContain(
      '    Source: by-value-repartition-source (topics: [by-value-repartition])\n      --> KSTREAM-AGGREGATE-',
    );
    expect(text).toMatch(
      / {4}Processor: KSTREAM-AGGREGATE-[0-9a-f]{8} \(stores: \[counts\]\)\n {6}--> changes\n {6}<-- by-value-repartition-source\n/,
    );
    expect(text.endsWith('    Sink: sink (topic: out)\n      <-- changes\n\n')).toBe(true);
  });

  it('shows branches as several children and merges as several parents', () => {
    const builder = new StreamsBuilder();
    const src = builder.stream('in', { key: S, value: S, name: 'src' });
    const { x, y } = src.split({ x: (k) => k === 'x', y: () => true }, { name: 'split' });
    x.merge(y, { name: 'merged' }).to('out', { name: 'sink' });
    const text = builder.build().describe().toString();
    expect(text).toContain('    Processor: split (stores: [])\n      --> split-x, split-y\n      <-- src\n');
    expect(text).toContain(
      '    Processor: merged (stores: [])\n      --> sink\n      <-- split-x, split-y\n',
    );
  });

  it('a table join reads the stores of both tables and puts them in one sub-topology', () => {
    const builder = new StreamsBuilder();
    const l = builder.table('l', { key: S, value: S }, { name: 'left-store' });
    const r = builder.table('r', { key: S, value: S }, { name: 'right-store' });
    l.join(r, (a, b) => a + b, { name: 'j' })
      .toStream()
      .to('out');
    const description = builder.build().describe();
    expect(description.subtopologies).toHaveLength(1);
    const text = description.toString();
    expect(text).toContain('    Processor: j-join-this (stores: [right-store])\n      --> j\n');
    expect(text).toContain('    Processor: j-join-other (stores: [left-store])\n      --> j\n');
    expect(text).toContain('    Processor: j (stores: [])\n');
    expect(text).toContain('      <-- j-join-this, j-join-other\n');
  });
});

describe('toMermaid()', () => {
  it('draws a subgraph per sub-topology, stores in node labels, and topics as edges in and out', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', { key: S, value: S, name: 'src' })
      .groupByKey({ name: 'g' })
      .count({ name: 'counts' })
      .toStream({ name: 'changes' })
      .to('out', { value: Serdes.Long(), name: 'sink' });
    const m = builder.build().describe().toMermaid();
    expect(m.startsWith('flowchart TD\n  subgraph sub0["Sub-topology 0"]\n')).toBe(true);
    expect(m).toContain('    src["Source: src"]\n');
    expect(m).toMatch(
      / {4}KSTREAM_AGGREGATE_[0-9a-f]{8}\["Processor: KSTREAM-AGGREGATE-[0-9a-f]{8}<br\/>stores: counts"\]\n/,
    );
    expect(m).toContain('  topic_in[("in")]\n');
    expect(m).toContain('  topic_in --> src\n');
    expect(m).toContain('  sink --> topic_out\n');
    expect(m).not.toContain('sub1');
  });
});

describe('stable generated names', () => {
  interface Shape {
    nodes: Map<
      string,
      { parents: readonly string[]; children: readonly string[]; stores: readonly string[] }
    >;
    stores: string[];
    repartitionTopics: string[];
  }

  function shape(topology: Topology): Shape {
    const nodes: Shape['nodes'] = new Map();
    for (const s of topology.describe().subtopologies) {
      for (const n of s.nodes)
        nodes.set(n.name, { parents: n.predecessors, children: n.successors, stores: n.stores ?? [] });
    }
    return {
      nodes,
      stores: topologyGraph(topology).storeNames(),
      repartitionTopics: topologyGraph(topology)
        .repartitionTopics()
        .map((t) => t.name),
    };
  }

  /** The same pipeline, with an unrelated branch added before and after it, and a second input. */
  function build(extra: boolean): Topology {
    const builder = new StreamsBuilder();
    const s = builder.stream('in', { key: S, value: S });
    if (extra) s.filter((_k, v) => v.length > 3).to('audit');
    const words: KStream<string, string> = s.mapValues((v) => v.toLowerCase());
    words
      .selectKey((_k, v) => v)
      .groupByKey({ key: S, value: S })
      .count()
      .toStream()
      .to('counts');
    if (extra) {
      s.mapValues((v) => v.length).to('lengths', { value: Serdes.Integer() });
      builder
        .stream('other', { key: S, value: S })
        .groupBy((_k, v) => v, { key: S })
        .count()
        .toStream()
        .to('other-counts');
    }
    builder.table('t', { key: S, value: S }).toStream().to('t-out');
    return builder.build();
  }

  it('adding unrelated branches renames no existing node, store or internal topic', () => {
    const before = shape(build(false));
    const after = shape(build(true));
    expect(after.nodes.size).toBeGreaterThan(before.nodes.size);
    for (const [name, node] of before.nodes) {
      const same = after.nodes.get(name);
      expect(same, `node ${name}`).toBeDefined();
      // The source gains children; every other node keeps its exact neighbours and stores.
      if (node.parents.length > 0) expect(same).toEqual(node);
      else for (const c of node.children) expect(same!.children).toContain(c);
    }
    for (const store of before.stores) expect(after.stores).toContain(store);
    for (const topic of before.repartitionTopics) expect(after.repartitionTopics).toContain(topic);
    expect(before.stores.filter((s) => s.startsWith('KSTREAM-AGGREGATE-STATE-STORE-'))).toHaveLength(1);
    expect(before.repartitionTopics).toEqual([
      expect.stringMatching(/^KSTREAM-AGGREGATE-STATE-STORE-[0-9a-f]{8}-repartition$/),
    ]);
  });

  it('building the same topology twice gives the same description', () => {
    expect(build(true).describe().toString()).toBe(build(true).describe().toString());
  });

  it('sibling operators of one kind get distinct names', () => {
    const builder = new StreamsBuilder();
    const s = builder.stream('in', { key: S, value: S });
    s.mapValues((v) => v).to('a');
    s.mapValues((v) => v).to('b');
    const names = [...topologyGraph(builder.build()).nodes()]
      .map((n) => n.name)
      .filter((n) => n.startsWith('KSTREAM-MAPVALUES-'));
    expect(new Set(names).size).toBe(2);
  });

  it('a name given twice is refused', () => {
    const builder = new StreamsBuilder();
    const s = builder.stream('in', { key: S, value: S });
    s.mapValues((v) => v, { name: 'dup' });
    expect(() => s.filter(() => true, { name: 'dup' })).toThrow(/"dup" is used twice/);
  });
});
