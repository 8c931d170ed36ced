/**
 * The shape of a captured table (columns, their types, the primary key), from pgoutput's relation
 * message while streaming and from the catalog for the snapshot, with each column's converter to
 * Debezium's form. Types this package does not know by OID (enums, domains, arrays of them) are
 * looked up in pg_type once.
 */
import type pg from 'pg';
import type { Pgoutput } from 'pg-logical-replication';
import type { TableShape } from './change-events.ts';
import { converterFor, defaultText, needsTypeInfo, type TypeInfo } from './column-values.ts';
import type { TableName } from './replication-slot.ts';

export class TypeCatalog {
  readonly #client: pg.Client;
  readonly #types = new Map<number, TypeInfo>();

  constructor(client: pg.Client) {
    this.#client = client;
  }

  /** Looks up the OIDs (and their element and base types) not known yet. */
  async resolve(oids: readonly number[]): Promise<ReadonlyMap<number, TypeInfo>> {
    let pending = oids.filter((o) => needsTypeInfo(o) && !this.#types.has(o));
    while (pending.length > 0) {
      const { rows } = await this.#client.query<{
        oid: number;
        typtype: string;
        typelem: number;
        typbasetype: number;
        typname: string;
      }>(
        'SELECT oid::int, typtype, typelem::int, typbasetype::int, typname FROM pg_type WHERE oid = ANY($1::oid[])',
        [pending],
      );
      for (const r of rows)
        this.#types.set(r.oid, { kind: r.typtype, element: r.typelem, base: r.typbasetype, name: r.typname });
      for (const o of pending)
        if (!this.#types.has(o)) this.#types.set(o, { kind: 'b', element: 0, base: 0, name: String(o) });
      pending = rows
        .flatMap((r) => [r.typelem, r.typbasetype])
        .filter((o) => o !== 0 && needsTypeInfo(o) && !this.#types.has(o));
    }
    return this.#types;
  }

  /**
   * The primary key's columns of a table by OID, in the table's column order. pgoutput flags every
   * column as part of the identity under REPLICA IDENTITY FULL, so the key comes from here.
   */
  async primaryKey(relationOid: number): Promise<string[]> {
    const { rows } = await this.#client.query<{ name: string }>(
      `SELECT a.attname AS name FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY a.attnum`,
      [relationOid],
    );
    return rows.map((r) => r.name);
  }

  /** The constant defaults of a table's columns by name (see defaultText); generated columns have none. */
  async defaults(relationOid: number): Promise<Map<string, string>> {
    const { rows } = await this.#client.query<ColumnDefault>(
      `SELECT a.attname AS name, a.atttypid::int AS oid, a.atttypmod AS mod,
              pg_get_expr(d.adbin, d.adrelid) AS def, a.attidentity <> '' AS identity
         FROM pg_attribute a
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
          AND (d.adbin IS NOT NULL OR a.attidentity <> '')`,
      [relationOid],
    );
    const out = new Map<string, string>();
    for (const r of rows) {
      const text = columnDefault(r);
      if (text !== undefined) out.set(r.name, text);
    }
    return out;
  }
}

interface ColumnDefault {
  name: string;
  oid: number;
  mod: number;
  def: string | null;
  identity: boolean;
}

function columnDefault(c: ColumnDefault): string | undefined {
  return defaultText(c.def, c.oid, c.mod, c.identity);
}

function withDefault(text: string | undefined): { default?: string } {
  return text === undefined ? {} : { default: text };
}

export async function shapeFromRelation(
  relation: Pgoutput.MessageRelation,
  types: TypeCatalog,
): Promise<TableShape> {
  const known = await types.resolve(relation.columns.map((c) => c.typeOid));
  const defaults = await types.defaults(relation.relationOid);
  return {
    schema: relation.schema,
    table: relation.name,
    columns: relation.columns.map((c) => ({
      name: c.name,
      oid: c.typeOid,
      typeMod: c.typeMod,
      convert: converterFor(c.typeOid, c.typeMod, known),
      ...withDefault(defaults.get(c.name)),
    })),
    keyColumns: await types.primaryKey(relation.relationOid),
  };
}

/** The table's shape as the catalog of `client`'s transaction sees it (the snapshot's, when read in it). */
export async function shapeFromCatalog(
  client: pg.Client,
  table: TableName,
  types: TypeCatalog,
): Promise<TableShape> {
  const { rows } = await client.query<{
    name: string;
    oid: number;
    mod: number;
    key: boolean;
    def: string | null;
    identity: boolean;
  }>(
    `SELECT a.attname AS name, a.atttypid::int AS oid, a.atttypmod AS mod,
            COALESCE(a.attnum = ANY(i.indkey), false) AS key,
            CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END AS def,
            a.attidentity <> '' AS identity
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [table.schema, table.table],
  );
  const known = await types.resolve(rows.map((r) => r.oid));
  return {
    schema: table.schema,
    table: table.table,
    columns: rows.map((r) => ({
      name: r.name,
      oid: r.oid,
      typeMod: r.mod,
      convert: converterFor(r.oid, r.mod, known),
      ...withDefault(columnDefault(r)),
    })),
    keyColumns: rows.filter((r) => r.key).map((r) => r.name),
  };
}
