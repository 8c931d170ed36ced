/**
 * The view projected into PostgreSQL for SQL readers: one row per product, written from the
 * view's changes. Each row carries the product's version, and an upsert only ever raises it,
 * so a change applied twice (a replay after a crash, a restored task catching up) or late leaves
 * the row as it is: the table never goes back to an older state of the view.
 */
import type { Pool } from 'pg';
import type { Product } from './catalogue.ts';

export const DEFAULT_TABLE = 'catalogue_products';
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

function checkTable(table: string): string {
  if (!IDENTIFIER.test(table))
    throw new Error(
      `Table name "${table}" is not a plain lower-case SQL identifier (letters, digits, "_"): pick one such as "${DEFAULT_TABLE}"`,
    );
  return table;
}

/** Creates the projection's table when absent. */
export async function createProductsTable(postgres: Pool, table = DEFAULT_TABLE): Promise<void> {
  await postgres.query(
    `CREATE TABLE IF NOT EXISTS ${checkTable(table)} (
       sku text PRIMARY KEY,
       name text NOT NULL,
       price_cents bigint NOT NULL,
       stock bigint NOT NULL,
       version integer NOT NULL,
       updated_at timestamptz NOT NULL
     )`,
  );
}

/** A product's row as SQL readers see it. */
export interface ProductRow {
  sku: string;
  name: string;
  priceCents: number;
  stock: number;
  version: number;
}

/** Every row of the projection, by SKU. */
export async function readProductsTable(
  postgres: Pool,
  table = DEFAULT_TABLE,
): Promise<Map<string, ProductRow>> {
  const { rows } = await postgres.query<{
    sku: string;
    name: string;
    price_cents: string;
    stock: string;
    version: number;
  }>(`SELECT sku, name, price_cents, stock, version FROM ${checkTable(table)} ORDER BY sku`);
  return new Map(
    rows.map((r) => [
      r.sku,
      {
        sku: r.sku,
        name: r.name,
        priceCents: Number(r.price_cents),
        stock: Number(r.stock),
        version: r.version,
      },
    ]),
  );
}

export class ProductsProjection {
  readonly table: string;
  readonly #postgres: Pool;
  readonly #sql: string;

  constructor(postgres: Pool, table = DEFAULT_TABLE) {
    this.table = checkTable(table);
    this.#postgres = postgres;
    // A pooled connection PostgreSQL drops is reported on the pool; the pool reconnects by itself.
    if (postgres.listenerCount('error') === 0) postgres.on('error', () => {});
    this.#sql = `INSERT INTO ${this.table} AS p (sku, name, price_cents, stock, version, updated_at)
      VALUES ($1, $2, $3, $4, $5, to_timestamp($6 / 1000.0))
      ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, price_cents = EXCLUDED.price_cents,
        stock = EXCLUDED.stock, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
      WHERE p.version < EXCLUDED.version`;
  }

  async upsert(product: Product): Promise<void> {
    await this.#postgres.query(this.#sql, [
      product.sku,
      product.name,
      product.priceCents,
      product.stock,
      product.version,
      product.updatedAt,
    ]);
  }
}
