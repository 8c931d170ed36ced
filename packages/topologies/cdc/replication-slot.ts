/**
 * What logical replication needs on the PostgreSQL side, checked with errors that say what to do:
 * wal_level=logical, a role allowed to replicate, tables with a key; the publication of the
 * captured tables and the replication slot, each created when absent.
 */
import pg from 'pg';
import { parseLsn } from './lsn.ts';

/** A schema-qualified table: `public.customers`. */
export interface TableName {
  schema: string;
  table: string;
}

export function parseTableName(name: string): TableName {
  const dot = name.indexOf('.');
  const table =
    dot < 0 ? { schema: 'public', table: name } : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
  if (!table.schema || !table.table)
    throw new Error(
      `table "${name}" is not a table name: write it as <schema>.<table>, e.g. public.customers`,
    );
  return table;
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function qualified(t: TableName): string {
  return `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
}

/** Slot and publication names: PostgreSQL allows lower-case letters, digits and underscores. */
export function checkSlotName(name: string, what: string): void {
  if (!/^[a-z0-9_]{1,63}$/.test(name))
    throw new Error(
      `${what} "${name}" is not valid: PostgreSQL allows only lower-case letters, digits and underscores, at most 63`,
    );
}

/** A description of the server for messages: `127.0.0.1:5432/kafka_pattern`. */
export function where(config: pg.ClientConfig): string {
  if (config.connectionString) {
    try {
      const url = new URL(config.connectionString);
      return `${url.hostname}:${url.port || 5432}${url.pathname}`;
    } catch {
      return 'the configured server';
    }
  }
  return `${config.host ?? 'localhost'}:${config.port ?? 5432}/${config.database ?? ''}`;
}

export async function connect(config: pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client(config);
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => undefined);
    throw new Error(
      `cannot connect to PostgreSQL at ${where(config)}: ${(e as Error).message}. Check the connection string and that the server is running (scripts/stack.sh up starts the local one).`,
      { cause: e },
    );
  }
  return client;
}

/** Fails, saying what to change, unless this server and role can stream logical changes. */
export async function checkLogicalReplication(client: pg.Client, config: pg.ClientConfig): Promise<void> {
  const { rows } = await client.query<{ wal_level: string; can: boolean; role: string }>(
    `SELECT current_setting('wal_level') AS wal_level, current_user AS role,
            (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS can`,
  );
  const { wal_level: level, can, role } = rows[0]!;
  if (level !== 'logical')
    throw new Error(
      `PostgreSQL at ${where(config)} has wal_level=${level}; change data capture needs wal_level=logical: run ALTER SYSTEM SET wal_level = logical as a superuser and restart PostgreSQL (scripts/stack.sh up does both for the local one)`,
    );
  if (!can)
    throw new Error(
      `PostgreSQL role "${role}" may not use replication: grant it with ALTER ROLE "${role}" REPLICATION (as a superuser), or connect as a role that has it`,
    );
}

/** Fails unless each table exists and has a primary key or REPLICA IDENTITY FULL. */
export async function checkTables(client: pg.Client, tables: readonly TableName[]): Promise<void> {
  for (const t of tables) {
    const { rows } = await client.query<{ identity: string; has_key: boolean }>(
      `SELECT c.relreplident AS identity,
              EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_key
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
      [t.schema, t.table],
    );
    if (rows.length === 0)
      throw new Error(`table ${t.schema}.${t.table} does not exist: create it before capturing its changes`);
    const row = rows[0]!;
    if (!row.has_key && row.identity !== 'f')
      throw new Error(
        `table ${t.schema}.${t.table} has no primary key, so its updates and deletes carry no row identity: add a primary key, or ALTER TABLE ${t.schema}.${t.table} REPLICA IDENTITY FULL`,
      );
  }
}

/** Creates the publication for `tables`, or adds the tables it lacks. */
export async function ensurePublication(
  client: pg.Client,
  name: string,
  tables: readonly TableName[],
): Promise<void> {
  const { rows } = await client.query<{ schemaname: string; tablename: string }>(
    'SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1',
    [name],
  );
  const exists =
    (await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [name])).rowCount! > 0;
  if (!exists) {
    await client.query(
      `CREATE PUBLICATION ${quoteIdent(name)} FOR TABLE ${tables.map(qualified).join(', ')}`,
    );
    return;
  }
  const missing = tables.filter(
    (t) => !rows.some((r) => r.schemaname === t.schema && r.tablename === t.table),
  );
  if (missing.length > 0)
    await client.query(
      `ALTER PUBLICATION ${quoteIdent(name)} ADD TABLE ${missing.map(qualified).join(', ')}`,
    );
}

export interface SlotState {
  exists: boolean;
  active: boolean;
  plugin?: string;
  confirmed?: bigint;
}

export async function slotState(client: pg.Client, slot: string): Promise<SlotState> {
  const { rows } = await client.query<{
    plugin: string;
    active: boolean;
    confirmed_flush_lsn: string | null;
  }>('SELECT plugin, active, confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  const row = rows[0];
  if (!row) return { exists: false, active: false };
  return {
    exists: true,
    active: row.active,
    plugin: row.plugin,
    ...(row.confirmed_flush_lsn ? { confirmed: parseLsn(row.confirmed_flush_lsn) } : {}),
  };
}

/** Drops the slot, waiting for a walsender that still holds it (one of a killed process) to go. */
export async function dropSlot(client: pg.Client, slot: string, waitMs = 15_000): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await client.query(
        'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      );
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** A slot just created: where its stream starts, and the snapshot that shows the data as of there. */
export interface CreatedSlot {
  consistentPoint: bigint;
  /** Valid while `connection` stays open and idle. */
  snapshotName: string | null;
  /** The replication connection that created the slot; close it once the snapshot has been read. */
  connection: pg.Client;
}

/**
 * Creates a pgoutput slot on a replication connection, exporting the snapshot of its starting
 * point when `exportSnapshot` is set: read through it, the tables show every transaction that
 * committed before the slot's first change and none after.
 */
export async function createSlot(
  config: pg.ClientConfig,
  slot: string,
  exportSnapshot: boolean,
): Promise<CreatedSlot> {
  const connection = await connect({ ...config, replication: 'database' } as pg.ClientConfig);
  try {
    const { rows } = await connection.query<{ consistent_point: string; snapshot_name: string | null }>(
      `CREATE_REPLICATION_SLOT ${quoteIdent(slot)} LOGICAL pgoutput ${exportSnapshot ? 'EXPORT_SNAPSHOT' : 'NOEXPORT_SNAPSHOT'}`,
    );
    const row = rows[0]!;
    return { consistentPoint: parseLsn(row.consistent_point), snapshotName: row.snapshot_name, connection };
  } catch (e) {
    await connection.end().catch(() => undefined);
    const message = (e as Error).message;
    if (/all replication slots are in use/.test(message))
      throw new Error(
        `PostgreSQL has no free replication slot for "${slot}" (${message}): drop unused slots (SELECT slot_name FROM pg_replication_slots WHERE NOT active) or raise max_replication_slots`,
        { cause: e },
      );
    throw e;
  }
}
