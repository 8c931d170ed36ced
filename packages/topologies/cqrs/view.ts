/**
 * The query side: the catalogue's events folded per SKU into a KTable, materialized in a
 * queryable store (its changelog makes it survive a wiped state directory), and optionally
 * projected into a PostgreSQL table for SQL readers.
 *
 * The fold runs in the sub-topology that reads the events topic itself (no repartition: events
 * are keyed by SKU), so the position a command returns is a position of the view's own input,
 * and a read bounded by it waits for exactly that event.
 */
import { type KTable, type Serde, Serdes, StreamsBuilder, type Topology } from '@kafka-pattern/streams-core';
import type { Pool } from 'pg';
import { type CatalogueEvent, evolve, type Product } from './catalogue.ts';
import { ProductsProjection } from './projection.ts';

export const DEFAULT_STORE = 'catalogue-products';

export interface CatalogueViewOptions {
  /** The events topic the command side writes, keyed by SKU. */
  topic: string;
  /** The queryable store (and `<applicationId>-<store>-changelog`). Default `catalogue-products`. */
  store?: string;
  /** Keeps a PostgreSQL table equal to the view, for SQL readers. */
  projection?: { postgres: Pool; table?: string };
}

export interface CatalogueView {
  readonly topology: Topology;
  readonly store: string;
  /** The table the projection writes, when there is one. */
  readonly table?: string;
}

/**
 * The aggregate of a SKU before its registration: version 0. It is only stored for a SKU whose
 * events were all refused by the fold (written around the command side); readers treat it as absent.
 */
export const UNREGISTERED: Product = Object.freeze({
  sku: '',
  name: '',
  priceCents: 0,
  stock: 0,
  version: 0,
  updatedAt: 0,
});

export const eventSerde = (): Serde<CatalogueEvent> => Serdes.JSON<CatalogueEvent>();
export const productSerde = (): Serde<Product> => Serdes.JSON<Product>();

export function catalogueView(options: CatalogueViewOptions): CatalogueView {
  const store = options.store ?? DEFAULT_STORE;
  const builder = new StreamsBuilder();
  const products: KTable<string, Product> = builder
    .stream(options.topic, { key: Serdes.String(), value: eventSerde() })
    .groupByKey({ key: Serdes.String(), value: eventSerde() })
    .aggregate(
      () => UNREGISTERED,
      (_sku, event, product) => evolve(product.version === 0 ? undefined : product, event) ?? product,
      { name: store, key: Serdes.String(), value: productSerde() },
    );
  if (!options.projection) return { topology: builder.build(), store };
  const projection = new ProductsProjection(options.projection.postgres, options.projection.table);
  products
    .toStream()
    .filter((_sku, product) => product !== null && product.version > 0)
    .foreachAsync((_sku, product) => projection.upsert(product), {
      name: 'catalogue-projection',
      timeoutMs: 8_000,
    });
  return { topology: builder.build(), store, table: projection.table };
}
