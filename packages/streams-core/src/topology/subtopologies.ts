/**
 * How a topology graph's nodes fall into sub-topologies: the groups of nodes that run together
 * as one task per partition. Nodes joined by a parent/child edge, by a store they share, or by
 * reading co-partitioned topics belong to one group; records cross between groups only through
 * topics. Global nodes (those filling global stores) run in no task and belong to none.
 */
import type { NodeDef, SourceNodeDef, Subtopology } from './topology-graph.ts';

/** What the grouping reads of a graph. */
export interface GraphParts {
  readonly nodes: ReadonlyMap<string, NodeDef>;
  readonly stores: ReadonlyMap<string, { readonly processors: readonly string[] }>;
  readonly globalStores: ReadonlySet<string>;
  readonly copartition: readonly (readonly string[])[];
  /** Source topic (as written) → the source node reading it. */
  readonly sourceTopicOwner: ReadonlyMap<string, string>;
}

/** The sub-topologies, numbered from 0 in the order of their first node. */
export function groupSubtopologies(graph: GraphParts): Subtopology[] {
  const names = [...graph.nodes.values()].filter((n) => !('global' in n && n.global)).map((n) => n.name);
  const index = new Map(names.map((n, i) => [n, i]));
  const parent = names.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  const union = (a: number, b: number) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  for (const n of graph.nodes.values()) for (const c of n.children) union(index.get(n.name)!, index.get(c)!);
  for (const [storeName, s] of graph.stores) {
    if (graph.globalStores.has(storeName)) continue;
    for (let i = 1; i < s.processors.length; i++)
      union(index.get(s.processors[0]!)!, index.get(s.processors[i]!)!);
  }
  // Co-partitioned source topics (a join's two sides) run in one task, so they share a sub-topology.
  for (const group of graph.copartition) {
    const owners = group
      .map((t) => graph.sourceTopicOwner.get(t))
      .filter((o): o is string => o !== undefined);
    for (let i = 1; i < owners.length; i++) union(index.get(owners[0]!)!, index.get(owners[i]!)!);
  }
  const groups = new Map<number, string[]>();
  names.forEach((n, i) => {
    const root = find(i);
    let g = groups.get(root);
    if (!g) {
      g = [];
      groups.set(root, g);
    }
    g.push(n);
  });
  const result: Subtopology[] = [];
  for (const nodes of [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => g)) {
    const sourceNodes = nodes.filter((n) => graph.nodes.get(n)!.kind === 'source');
    const stores = new Set<string>();
    for (const n of nodes) {
      const def = graph.nodes.get(n)!;
      if (def.kind === 'processor') for (const s of def.stores) if (!graph.globalStores.has(s)) stores.add(s);
    }
    const sourceTopics = sourceNodes.flatMap((n) => {
      const def = graph.nodes.get(n) as SourceNodeDef;
      return def.topics.map((topic) => ({ topic, internal: def.internal }));
    });
    const topicSet = new Set(sourceTopics.map((t) => t.topic));
    const copartitionGroups = graph.copartition
      .filter((g) => g.every((t) => topicSet.has(t)))
      .map((g) => [...g]);
    result.push({
      id: result.length,
      nodes,
      sourceNodes,
      stores: [...stores],
      sourceTopics,
      copartitionGroups,
    });
  }
  return result;
}
