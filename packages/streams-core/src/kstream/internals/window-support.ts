/**
 * What the windowed operators share: the stores they open (named and logged like the DSL's
 * key-value stores), their default retention, counting of dropped and late records, and the
 * grace period each windowed node declares so that `suppress(untilWindowCloses)` can find it.
 */
import type { ProcessorContext } from '../../processor/api/processor.ts';
import type { TaskMetrics } from '../../processor/internals/task-metrics.ts';
import type { Serde } from '../../serdes/serde.ts';
import { sessionBytesStoreSupplier, sessionStoreBuilder } from '../../state/session-store.ts';
import type { StoreBuilder } from '../../state/store-builder.ts';
import {
  timestampedWindowStoreBuilder,
  windowBytesStoreSupplier,
  windowStoreBuilder,
} from '../../state/window-store.ts';
import { TopologyException } from '../../topology/topology-errors.ts';
import type { Materialized } from '../options.ts';
import type { BuilderContext } from './builder-context.ts';

function metrics(ctx: ProcessorContext<any, any>): TaskMetrics | undefined {
  return (ctx as unknown as { taskMetrics?: TaskMetrics }).taskMetrics;
}

/** A record skipped on purpose (null key, null value where one is needed). */
export function countDropped(ctx: ProcessorContext<any, any>): void {
  const m = metrics(ctx);
  if (m) m.droppedRecords++;
}

/** A record that arrived after its window closed: dropped, and counted as late too. */
export function countLate(ctx: ProcessorContext<any, any>): void {
  const m = metrics(ctx);
  if (m) {
    m.droppedRecords++;
    m.lateRecords++;
  }
}

/**
 * Retention of a windowed store: the user's, which must cover what the operator still needs, or
 * exactly that minimum, as Kafka Streams 4.x does. The minimum is not only a storage matter: a
 * session that has expired from the store can no longer be merged with, so a longer default
 * would change results.
 */
export function windowRetention(
  materialized: Materialized<any, any> | undefined,
  minimum: number,
  what: string,
): number {
  const given = materialized?.retentionMs;
  if (given === undefined) return minimum;
  if (!Number.isSafeInteger(given) || given < minimum) {
    throw new TopologyException(
      `The retention of store "${materialized?.name ?? '(generated)'}" must be at least ${what} (${minimum} ms), got ${String(given)} ms`,
    );
  }
  return given;
}

function applyLogging(
  builder: { withLoggingDisabled(): unknown; withLoggingEnabled(c: Record<string, string>): unknown },
  m: Materialized<any, any> | undefined,
): void {
  if (m?.logging === false) builder.withLoggingDisabled();
  else if (typeof m?.logging === 'object') builder.withLoggingEnabled(m.logging);
}

export interface WindowStoreOptions {
  retentionMs: number;
  windowSizeMs: number;
  retainDuplicates: boolean;
  timestamped: boolean;
}

/** A window store for a DSL operator, named by the user or after the operator. */
export function dslWindowStore(
  ctx: BuilderContext,
  materialized: Materialized<any, any> | undefined,
  storeKind: string,
  anchor: string,
  keySerde: Serde<any> | undefined,
  valueSerde: Serde<any> | undefined,
  options: WindowStoreOptions,
): { name: string; builder: StoreBuilder } {
  const name = ctx.name(materialized?.name, storeKind, anchor);
  const supplier = windowBytesStoreSupplier(
    name,
    materialized?.storeType !== 'in-memory',
    options.retentionMs,
    options.windowSizeMs,
    options.retainDuplicates,
  );
  const builder = options.timestamped
    ? timestampedWindowStoreBuilder(supplier, keySerde as Serde<any>, valueSerde as Serde<any>)
    : windowStoreBuilder(supplier, keySerde as Serde<any>, valueSerde as Serde<any>);
  applyLogging(builder, materialized);
  return { name, builder };
}

export function dslSessionStore(
  ctx: BuilderContext,
  materialized: Materialized<any, any> | undefined,
  storeKind: string,
  anchor: string,
  keySerde: Serde<any> | undefined,
  valueSerde: Serde<any> | undefined,
  retentionMs: number,
): { name: string; builder: StoreBuilder } {
  const name = ctx.name(materialized?.name, storeKind, anchor);
  const supplier = sessionBytesStoreSupplier(name, materialized?.storeType !== 'in-memory', retentionMs);
  const builder = sessionStoreBuilder(supplier, keySerde as Serde<any>, valueSerde as Serde<any>);
  applyLogging(builder, materialized);
  return { name, builder };
}

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
