/**
 * What a state store was asked to do, counted on its typed face: plain counters the processing
 * path bumps, read by the metrics snapshot (Kafka Streams' store get/put/delete/range rates).
 */
export class StoreOperations {
  gets = 0;
  puts = 0;
  deletes = 0;
  /** Ranges, scans and multi-record fetches. */
  scans = 0;
}

export interface StoreOperationsSnapshot {
  readonly kind: 'keyValue' | 'window' | 'session';
  readonly gets: number;
  readonly puts: number;
  readonly deletes: number;
  readonly scans: number;
}

/** The counters of a typed store, or undefined for a store of another make (a user's own). */
export function storeOperationsOf(store: unknown): StoreOperationsSnapshot | undefined {
  if (typeof store !== 'object' || store === null) return undefined;
  const { operations, operationsKind } = store as { operations?: unknown; operationsKind?: unknown };
  if (!(operations instanceof StoreOperations)) return undefined;
  if (operationsKind !== 'keyValue' && operationsKind !== 'window' && operationsKind !== 'session')
    return undefined;
  const { gets, puts, deletes, scans } = operations;
  return { kind: operationsKind, gets, puts, deletes, scans };
}
