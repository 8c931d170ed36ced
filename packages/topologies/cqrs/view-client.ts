/**
 * Reads the view over HTTP, through the query endpoint of any instance of the query side (it
 * forwards a key to the instance that holds it), optionally bounded by the position of an event:
 * the answer then reflects that event. The command side validates through it; so can any client.
 */
import type { Product } from './catalogue.ts';
import { DEFAULT_STORE } from './view.ts';

/** Where an event was written: the offset of the event itself. */
export interface EventPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** `topic:partition:offset`, as the query endpoint's `position` parameter takes it. */
export function positionText(p: EventPosition): string {
  return `${p.topic}:${p.partition}:${p.offset}`;
}

/** The path of a SKU's read on the query endpoint, bounded by `position` when given. */
export function productPath(store: string, sku: string, position?: EventPosition, waitMs?: number): string {
  const query = new URLSearchParams();
  if (position) query.set('position', positionText(position));
  if (waitMs !== undefined) query.set('waitMs', String(waitMs));
  const q = query.toString();
  return `/stores/${encodeURIComponent(store)}/keys/${encodeURIComponent(sku)}${q ? `?${q}` : ''}`;
}

/** The view could not answer now (behind the position, rebalancing, unreachable): retry later. */
export class ViewUnavailableError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = 'ViewUnavailableError';
    this.status = status;
  }
}

export interface CatalogueViewClientOptions {
  /** Any query-side instance's query endpoint, `http://host:port`. */
  url: string;
  store?: string;
}

export class CatalogueViewClient {
  readonly url: string;
  readonly store: string;

  constructor(options: CatalogueViewClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.store = options.store ?? DEFAULT_STORE;
  }

  /**
   * The product, or undefined when the view has no such SKU. With `position`, once the view has
   * processed that event (waiting up to `waitMs`, default 5 s); throws `ViewUnavailableError`
   * when it has not in time or cannot answer.
   */
  async get(
    sku: string,
    options: { position?: EventPosition; waitMs?: number } = {},
  ): Promise<Product | undefined> {
    const path = productPath(this.store, sku, options.position, options.waitMs);
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        signal: AbortSignal.timeout((options.waitMs ?? 5_000) + 10_000),
      });
    } catch (error) {
      throw new ViewUnavailableError(
        `The view at ${this.url} did not answer: ${(error as Error).message}`,
        503,
      );
    }
    const body = (await res.json().catch(() => null)) as unknown;
    if (res.status === 200) {
      const product = body as Product;
      return product.version > 0 ? product : undefined;
    }
    if (res.status === 404 && !isError(body, 'No store')) return undefined;
    const reason = isErrorBody(body) ? body.error : `status ${res.status}`;
    throw new ViewUnavailableError(
      `The view at ${this.url} could not answer for "${sku}": ${reason}`,
      res.status,
    );
  }
}

function isErrorBody(body: unknown): body is { error: string } {
  return typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string';
}

function isError(body: unknown, prefix: string): boolean {
  return isErrorBody(body) && body.error.startsWith(prefix);
}
