/**
 * The stores of the windowed aggregations (time, sliding and session windows): named like the
 * DSL's key-value stores, logged as the user asks, and kept exactly as long as the aggregation
 * still needs them unless the user asks for longer. One place, so that every windowed
 * aggregation applies the same retention rule and reads Materialized the same way.
 */
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
