/**
 * The grace periods windowed nodes declare for `suppress(untilWindowCloses)`. A suppress node may
 * sit several table operators below the windowed aggregation whose windows it waits for, so it
 * learns how long to wait by walking up the topology at build time; the declarations are kept
 * per builder, beside the topology rather than in it, as nothing at run time needs them.
 */
import { TopologyException } from '../../topology/topology-errors.ts';
import type { BuilderContext } from './builder-context.ts';

/** Grace periods of windowed nodes, per builder: what `suppress(untilWindowCloses)` waits for. */
const graces = new WeakMap<BuilderContext, Map<string, number>>();

export function declareGrace(ctx: BuilderContext, nodeName: string, graceMs: number): void {
  const m = graces.get(ctx) ?? new Map<string, number>();
  graces.set(ctx, m);
  m.set(nodeName, graceMs);
}

/**
 * The grace period governing a node's windows: the nearest windowed node upstream, the largest
 * when several paths lead to one (as Kafka Streams decides). Throws when a path has none.
 */
export function findGrace(ctx: BuilderContext, nodeName: string): number {
  const declared = graces.get(ctx);
  const visit = (name: string): number => {
    const own = declared?.get(name);
    if (own !== undefined) return own;
    const node = ctx.topology.node(name);
    if (node.kind === 'source' || node.parents.length === 0) {
      throw new TopologyException(
        `suppress(untilWindowCloses) needs a windowed KTable (from windowedBy(...).count/reduce/aggregate), but the path from ${nodeName} up to ${name} has no windowed aggregation`,
      );
    }
    let grace = -1;
    for (const p of node.parents) grace = Math.max(grace, visit(p));
    return grace;
  };
  return visit(nodeName);
}
