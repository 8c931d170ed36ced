/**
 * The initial snapshot: every row of the captured tables as of the slot's starting point, read in
 * one REPEATABLE READ transaction that imports the snapshot the slot exported. A row committed
 * before the slot's first change is here; one committed after it is not (it arrives streamed).
 * Rows are fetched through a cursor, a batch at a time, so a large table never sits in memory.
 */
import type pg from 'pg';
import type { SnapshotMark, TableShape, Tuple } from './change-events.ts';
import { connect, qualified, quoteIdent, type TableName } from './replication-slot.ts';
import { shapeFromCatalog, type TypeCatalog } from './table-shapes.ts';

export interface SnapshotRow {
  shape: TableShape;
  row: Tuple;
  mark: SnapshotMark;
}

/** Session settings under which PostgreSQL's text output is what column-values.ts reads. */
export const TEXT_OUTPUT_OPTIONS =
  '-c DateStyle=ISO -c IntervalStyle=postgres -c TimeZone=UTC -c extra_float_digits=1';

/** Values as PostgreSQL's text, unparsed: column-values.ts converts them the way streaming does. */
const rawText = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

export class TableSnapshot {
  readonly #client: pg.Client;
  readonly #tables: readonly TableName[];
  readonly #catalog: (client: pg.Client) => TypeCatalog;

  private constructor(
    client: pg.Client,
    tables: readonly TableName[],
    catalog: (client: pg.Client) => TypeCatalog,
  ) {
    this.#client = client;
    this.#tables = tables;
    this.#catalog = catalog;
  }

  /** Opens the snapshot transaction; once this resolves the snapshot is held, and the slot's exporting connection may close. */
  static async open(
    config: pg.ClientConfig,
    snapshotName: string,
    tables: readonly TableName[],
    catalog: (client: pg.Client) => TypeCatalog,
  ): Promise<TableSnapshot> {
    const client = await connect(config);
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await client.query(`SET TRANSACTION SNAPSHOT '${snapshotName.replaceAll("'", "''")}'`);
      // DDL on a captured table waits until the snapshot has been read, so the rows and the
      // columns read are of one shape.
      await client.query(`LOCK TABLE ${tables.map(qualified).join(', ')} IN ACCESS SHARE MODE`);
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
    return new TableSnapshot(client, tables, catalog);
  }

  /** The snapshot transaction's id, Debezium's `source.txId` of snapshot records. */
  async transactionId(): Promise<number> {
    const { rows } = await this.#client.query<{ xid: string }>('SELECT txid_current()::text AS xid');
    return Number(rows[0]!.xid);
  }

  /**
   * Every row, table by table in the order given, each marked as Debezium marks snapshot records:
   * "first" for the first row of the first table, "first_in_data_collection" for the first row of
   * the others, "last_in_data_collection" for each table's last row, "last" for the snapshot's
   * very last record, "true" between.
   */
  async *rows(batchSize = 2_000): AsyncGenerator<SnapshotRow> {
    const catalog = this.#catalog(this.#client);
    let previous: SnapshotRow | undefined;
    for (const [index, table] of this.#tables.entries()) {
      const shape = await shapeFromCatalog(this.#client, table, catalog);
      let firstInTable = true;
      const cursor = quoteIdent(`kp_snapshot_${index}`);
      await this.#client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT * FROM ${qualified(table)}`);
      for (;;) {
        const { rows } = await this.#client.query<Record<string, string | null>>({
          text: `FETCH ${batchSize} FROM ${cursor}`,
          types: rawText,
        });
        for (const row of rows) {
          if (previous) yield previous;
          previous = {
            shape,
            row,
            mark: firstInTable ? (index === 0 ? 'first' : 'first_in_data_collection') : 'true',
          };
          firstInTable = false;
        }
        if (rows.length < batchSize) break;
      }
      await this.#client.query(`CLOSE ${cursor}`);
      if (previous && previous.shape === shape) previous.mark = 'last_in_data_collection';
    }
    if (previous) {
      previous.mark = 'last';
      yield previous;
    }
  }

  async close(): Promise<void> {
    await this.#client.query('COMMIT').catch(() => undefined);
    await this.#client.end().catch(() => undefined);
  }
}
