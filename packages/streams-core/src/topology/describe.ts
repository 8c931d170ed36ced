/**
 * Topology description in Kafka Streams' text shape, plus a Mermaid flowchart. Internal topics
 * are shown without the application id prefix, as Kafka Streams shows them.
 */
import type { NodeDef, TopologyGraph } from './topology-graph.ts';

export interface NodeDescription {
  readonly type: 'Source' | 'Processor' | 'Sink';
  readonly name: string;
  readonly topics?: readonly string[];
  readonly topic?: string;
  readonly stores?: readonly string[];
  readonly successors: readonly string[];
  readonly predecessors: readonly string[];
}

export interface SubtopologyDescription {
  readonly id: number;
  readonly nodes: readonly NodeDescription[];
  /** Fills a global store: read in full by every instance, runs no tasks. */
  readonly global?: boolean;
}

export interface TopologyDescription {
  readonly subtopologies: readonly SubtopologyDescription[];
  toString(): string;
  toMermaid(): string;
}

function describeNode(n: NodeDef): NodeDescription {
  switch (n.kind) {
    case 'source':
      return { type: 'Source', name: n.name, topics: n.topics, successors: n.children, predecessors: [] };
    case 'processor':
      return {
        type: 'Processor',
        name: n.name,
        stores: n.stores,
        successors: n.children,
        predecessors: n.parents,
      };
    case 'sink':
      return {
        type: 'Sink',
        name: n.name,
        topic: typeof n.topic === 'string' ? n.topic : '<chosen per record>',
        successors: [],
        predecessors: n.parents,
      };
  }
}

export function describeTopology(topology: TopologyGraph): TopologyDescription {
  const subtopologies: SubtopologyDescription[] = [
    ...topology
      .subtopologies()
      .map((s) => ({ id: s.id, nodes: s.nodes.map((name) => describeNode(topology.node(name))) })),
    ...topology.globalSubtopologies().map((s) => ({
      id: s.id,
      global: true,
      nodes: s.nodes.map((name) => describeNode(topology.node(name))),
    })),
  ];
  return {
    subtopologies,
    toString: () => renderText(subtopologies),
    toMermaid: () => renderMermaid(subtopologies),
  };
}

function renderText(subtopologies: readonly SubtopologyDescription[]): string {
  const lines = ['Topologies:'];
  for (const s of subtopologies) {
    lines.push(
      s.global
        ? `   Sub-topology: ${s.id} for global store (will not generate tasks)`
        : `   Sub-topology: ${s.id}`,
    );
    for (const n of s.nodes) {
      if (n.type === 'Source') lines.push(`    Source: ${n.name} (topics: [${n.topics!.join(', ')}])`);
      else if (n.type === 'Processor')
        lines.push(`    Processor: ${n.name} (stores: [${n.stores!.join(', ')}])`);
      else lines.push(`    Sink: ${n.name} (topic: ${n.topic})`);
      if (n.type !== 'Sink')
        lines.push(`      --> ${n.successors.length ? n.successors.join(', ') : 'none'}`);
      if (n.type !== 'Source')
        lines.push(`      <-- ${n.predecessors.length ? n.predecessors.join(', ') : 'none'}`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

function renderMermaid(subtopologies: readonly SubtopologyDescription[]): string {
  const id = (name: string) => name.replace(/[^A-Za-z0-9_]/g, '_');
  const lines = ['flowchart TD'];
  const topics = new Set<string>();
  const edges: string[] = [];
  for (const s of subtopologies) {
    lines.push(`  subgraph sub${s.id}["Sub-topology ${s.id}"]`);
    for (const n of s.nodes) {
      const stores = n.stores?.length ? `<br/>stores: ${n.stores.join(', ')}` : '';
      lines.push(`    ${id(n.name)}["${n.type}: ${n.name}${stores}"]`);
      for (const c of n.successors) edges.push(`  ${id(n.name)} --> ${id(c)}`);
      for (const t of n.topics ?? []) {
        topics.add(t);
        edges.push(`  topic_${id(t)} --> ${id(n.name)}`);
      }
      if (n.topic !== undefined) {
        topics.add(n.topic);
        edges.push(`  ${id(n.name)} --> topic_${id(n.topic)}`);
      }
    }
    lines.push('  end');
  }
  for (const t of topics) lines.push(`  topic_${id(t)}[("${t}")]`);
  lines.push(...edges);
  return `${lines.join('\n')}\n`;
}
