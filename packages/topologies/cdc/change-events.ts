/**
 * Row changes as Debezium's PostgreSQL connector writes them through Kafka Connect's
 * JsonConverter without schemas: topic `<prefix>.<schema>.<table>`, key the primary key's columns,
 * value the envelope `{ before, after, source, transaction, op, ts_ms, ts_us, ts_ns }`, a tombstone
 * after each delete, and Debezium's context headers.
 */
import type { ProducedRecord } from '@kafka-pattern/streams-core/client';
import { type ColumnText, columnValue, longValue, type ValueConverter } from './column-values.ts';

export interface Column {
  name: string;
  oid: number;
  typeMod: number;
  convert: ValueConverter;
  /**
   * The column default as PostgreSQL text, when Debezium puts it in the field's schema (a
   * constant, see defaultText): JsonConverter writes it in place of a NULL.
   */
  default?: string;
}

/** A captured table as it is now (a column added later gives a new shape). */
export interface TableShape {
  schema: string;
  table: string;
  columns: Column[];
  /** The primary key's columns, in key order; empty for a table captured through REPLICA IDENTITY FULL. */
  keyColumns: string[];
}

/** A row as text per column name; `undefined`: a TOASTed value the change did not carry. */
export type Tuple = Record<string, ColumnText>;

/**
 * Debezium's `source.snapshot`: "first", "first_in_data_collection", "true",
 * "last_in_data_collection" and "last" mark the snapshot's records, "false" the streamed ones.
 */
export type SnapshotMark =
  | 'first'
  | 'first_in_data_collection'
  | 'true'
  | 'last_in_data_collection'
  | 'last'
  | 'false';

export interface ChangePosition {
  /** The change's WAL record (the snapshot's starting point for snapshot records). */
  lsn: bigint;
  /** Where the commit record of the transaction streamed before this one ended, Debezium's `sequence[0]`. */
  lastCommitLsn: bigint | null;
  txId: number | null;
  /** Commit time (or, in the snapshot, the time the row was read), microseconds since the epoch. */
  commitMicros: bigint;
  snapshot: SnapshotMark;
}

export type Operation = 'c' | 'u' | 'd' | 'r';

export interface RowChange {
  op: Operation;
  shape: TableShape;
  /** The old row as PostgreSQL sent it: the key columns only, or every column under REPLICA IDENTITY FULL. */
  before: Tuple | null;
  after: Tuple | null;
  position: ChangePosition;
}

export interface EnvelopeSettings {
  /** Debezium's topic.prefix, also `source.name`. */
  topicPrefix: string;
  database: string;
  /** `source.version`. */
  version: string;
  /** A new UUID per start of the capture (Debezium's `__debezium.context.runId`). */
  runId: string;
  /** Debezium's context headers, the same on every record: built once by `envelopeSettings`. */
  headers: [string, Buffer][];
}

/** The settings with their context headers. */
export function envelopeSettings(s: Omit<EnvelopeSettings, 'headers'>): EnvelopeSettings {
  return { ...s, headers: contextHeaders(s) };
}

export function topicOf(prefix: string, shape: Pick<TableShape, 'schema' | 'table'>): string {
  return `${prefix}.${shape.schema}.${shape.table}`;
}

function rowJson(shape: TableShape, tuple: Tuple | null): Record<string, unknown> | null {
  if (tuple === null) return null;
  const out: Record<string, unknown> = {};
  for (const c of shape.columns) {
    const text = c.name in tuple ? tuple[c.name] : null;
    // JsonConverter's replace.null.with.default: a NULL (or a column the old row lacks) is the default.
    out[c.name] = columnValue(c.convert, c.oid, text === null ? (c.default ?? null) : text);
  }
  return out;
}

function keyJson(shape: TableShape, tuple: Tuple): Record<string, unknown> | null {
  if (shape.keyColumns.length === 0) return null;
  const out: Record<string, unknown> = {};
  for (const name of shape.keyColumns) {
    const c = shape.columns.find((col) => col.name === name)!;
    out[name] = columnValue(c.convert, c.oid, tuple[name]);
  }
  return out;
}

const bytes = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');

/** The key's bytes; a table without a primary key has none (JsonConverter's null). */
const keyBytes = (value: unknown): Buffer | null => (value === null ? null : bytes(value));

function contextHeaders(settings: Omit<EnvelopeSettings, 'headers'>): [string, Buffer][] {
  return [
    ['__debezium.context.connectorLogicalName', Buffer.from(settings.topicPrefix)],
    ['__debezium.context.taskId', Buffer.from('0')],
    ['__debezium.context.connectorName', Buffer.from('postgresql')],
    ['__debezium.context.runId', Buffer.from(settings.runId)],
  ];
}

/**
 * The Kafka records of one change: the event, and for a delete its tombstone. An update that
 * changed the primary key becomes, as in Debezium, a delete of the old key (and its tombstone)
 * followed by a create of the new one.
 */
export function changeRecords(
  change: RowChange,
  settings: EnvelopeSettings,
  nowNanos: bigint,
): ProducedRecord[] {
  const { shape } = change;
  const topic = topicOf(settings.topicPrefix, shape);
  const { headers } = settings;
  if (change.op === 'u' && change.before && change.after && keyChanged(shape, change.before, change.after)) {
    const oldKey = keyBytes(keyJson(shape, change.before));
    const newKey = keyBytes(keyJson(shape, change.after));
    const toNew: [string, Buffer][] = newKey ? [['__debezium.newkey', newKey], ...headers] : headers;
    const fromOld: [string, Buffer][] = oldKey ? [['__debezium.oldkey', oldKey], ...headers] : headers;
    return [
      {
        topic,
        key: oldKey,
        value: envelope({ ...change, op: 'd', after: null }, settings, nowNanos),
        headers: toNew,
      },
      { topic, key: oldKey, value: null, headers: toNew },
      {
        topic,
        key: newKey,
        value: envelope({ ...change, op: 'c', before: null }, settings, nowNanos),
        headers: fromOld,
      },
    ];
  }
  const key = keyBytes(keyJson(shape, change.after ?? change.before!));
  const event: ProducedRecord = { topic, key, value: envelope(change, settings, nowNanos), headers };
  if (change.op !== 'd') return [event];
  return [event, { topic, key, value: null, headers }];
}

function keyChanged(shape: TableShape, before: Tuple, after: Tuple): boolean {
  return shape.keyColumns.some((k) => before[k] !== undefined && before[k] !== after[k]);
}

function envelope(change: RowChange, settings: EnvelopeSettings, nowNanos: bigint): Buffer {
  const { shape, position } = change;
  const commitMs = position.commitMicros / 1000n;
  const value = {
    before: rowJson(shape, change.before),
    after: rowJson(shape, change.after),
    source: {
      version: settings.version,
      connector: 'postgresql',
      name: settings.topicPrefix,
      ts_ms: Number(commitMs),
      snapshot: position.snapshot,
      db: settings.database,
      sequence: JSON.stringify([
        position.lastCommitLsn === null ? null : String(position.lastCommitLsn),
        String(position.lsn),
      ]),
      ts_us: Number(position.commitMicros),
      ts_ns: longValue(position.commitMicros * 1000n),
      schema: shape.schema,
      table: shape.table,
      txId: position.txId,
      lsn: longValue(position.lsn),
      xmin: null,
      origin: null,
      origin_lsn: null,
    },
    transaction: null,
    op: change.op,
    ts_ms: Number(nowNanos / 1_000_000n),
    ts_us: Number(nowNanos / 1000n),
    ts_ns: longValue(nowNanos),
  };
  return bytes(value);
}
