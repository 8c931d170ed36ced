/**
 * The domain of the CQRS pattern: a product catalogue. Commands ask for a change, `decide`
 * validates a command against the product as the view knows it and turns it into an event or a
 * rejection with its reason, and `evolve` folds events into the product: the view is
 * `events.reduce(evolve)` per SKU, nothing else.
 *
 * Every event carries the version it makes: 1 for the registration, then one more per event.
 * `evolve` applies only the next version, so an event decided on a stale view (two command
 * instances racing on one SKU) cannot be applied on top of the one that won: the fold stays a
 * product the rules allow, whatever the log holds.
 */

export interface RegisterProduct {
  readonly type: 'RegisterProduct';
  readonly sku: string;
  readonly name: string;
  readonly priceCents: number;
}

export interface ChangePrice {
  readonly type: 'ChangePrice';
  readonly sku: string;
  readonly priceCents: number;
}

/** Stock received (positive delta) or shipped (negative); stock never goes below zero. */
export interface AdjustStock {
  readonly type: 'AdjustStock';
  readonly sku: string;
  readonly delta: number;
}

export type CatalogueCommand = RegisterProduct | ChangePrice | AdjustStock;

interface EventBase {
  /** Unique per event, set by the command side (idempotency keys downstream). */
  readonly eventId: string;
  readonly sku: string;
  /** The product's version once this event is applied: 1 for the registration. */
  readonly version: number;
  /** When the command was accepted, epoch ms. */
  readonly at: number;
}

export interface ProductRegistered extends EventBase {
  readonly type: 'ProductRegistered';
  readonly name: string;
  readonly priceCents: number;
}

export interface PriceChanged extends EventBase {
  readonly type: 'PriceChanged';
  readonly priceCents: number;
}

export interface StockAdjusted extends EventBase {
  readonly type: 'StockAdjusted';
  readonly delta: number;
}

export type CatalogueEvent = ProductRegistered | PriceChanged | StockAdjusted;

/** The query side's answer for one SKU. */
export interface Product {
  readonly sku: string;
  readonly name: string;
  readonly priceCents: number;
  readonly stock: number;
  /** How many events made it; the next event must carry version + 1. */
  readonly version: number;
  /** When the last event was accepted, epoch ms. */
  readonly updatedAt: number;
}

/** Why a command was refused: `invalid` (400, the command itself is wrong) or `conflict` (409, the product's state forbids it). */
export interface Rejection {
  readonly status: 'invalid' | 'conflict';
  readonly reason: string;
}

export type Decision =
  | { readonly accepted: true; readonly event: CatalogueEvent }
  | ({ readonly accepted: false } & Rejection);

const SKU = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_CENTS = 100_000_000_00;
const MAX_STOCK = 1_000_000_000;

/**
 * Reads a command from untrusted JSON (an HTTP body): the command, or what is wrong with it.
 * `type` comes from the route (`register-product`, ...), never from the body.
 */
export function parseCommand(type: CatalogueCommand['type'], body: unknown): CatalogueCommand | Rejection {
  const invalid = (reason: string): Rejection => ({ status: 'invalid', reason });
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return invalid('the body must be a JSON object');
  const b = body as Record<string, unknown>;
  if (typeof b.sku !== 'string' || !SKU.test(b.sku))
    return invalid('"sku" must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit');
  const sku = b.sku;
  const cents = (field: string): number | Rejection => {
    const v = b[field];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0 || v > MAX_CENTS)
      return invalid(
        `"${field}" must be a whole number of cents from 1 to ${MAX_CENTS}, got ${JSON.stringify(v)}`,
      );
    return v;
  };
  switch (type) {
    case 'RegisterProduct': {
      if (typeof b.name !== 'string' || b.name.trim() === '' || b.name.length > 200)
        return invalid('"name" must be a non-empty string of at most 200 characters');
      const priceCents = cents('priceCents');
      if (typeof priceCents !== 'number') return priceCents;
      return { type, sku, name: b.name.trim(), priceCents };
    }
    case 'ChangePrice': {
      const priceCents = cents('priceCents');
      if (typeof priceCents !== 'number') return priceCents;
      return { type, sku, priceCents };
    }
    case 'AdjustStock': {
      const d = b.delta;
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d === 0 || Math.abs(d) > MAX_STOCK)
        return invalid(
          `"delta" must be a non-zero whole number from -${MAX_STOCK} to ${MAX_STOCK} (positive: received, negative: shipped), got ${JSON.stringify(d)}`,
        );
      return { type, sku, delta: d };
    }
  }
}

/** The event a valid command becomes, given the product as the view has it now (undefined: not registered). */
export function decide(
  command: CatalogueCommand,
  product: Product | undefined,
  meta: { eventId: string; at: number },
): Decision {
  const conflict = (reason: string): Decision => ({ accepted: false, status: 'conflict', reason });
  const base = { eventId: meta.eventId, sku: command.sku, at: meta.at, version: (product?.version ?? 0) + 1 };
  if (command.type === 'RegisterProduct') {
    if (product)
      return conflict(
        `product "${command.sku}" is already registered (as "${product.name}"): change its price or stock instead`,
      );
    return {
      accepted: true,
      event: { ...base, type: 'ProductRegistered', name: command.name, priceCents: command.priceCents },
    };
  }
  if (!product) return conflict(`product "${command.sku}" is not registered: register it first`);
  if (command.type === 'ChangePrice') {
    if (command.priceCents === product.priceCents)
      return conflict(`product "${command.sku}" already costs ${command.priceCents} cents`);
    return { accepted: true, event: { ...base, type: 'PriceChanged', priceCents: command.priceCents } };
  }
  if (product.stock + command.delta < 0)
    return conflict(`product "${command.sku}" has ${product.stock} in stock: cannot ship ${-command.delta}`);
  if (product.stock + command.delta > MAX_STOCK)
    return conflict(`product "${command.sku}" would hold more than ${MAX_STOCK} in stock`);
  return { accepted: true, event: { ...base, type: 'StockAdjusted', delta: command.delta } };
}

/**
 * The fold of the view: the product after `event`. An event that is not the product's next
 * version (a stale decision that lost a race, or an event of an unregistered product) changes
 * nothing.
 */
export function evolve(product: Product | undefined, event: CatalogueEvent): Product | undefined {
  if (event.version !== (product?.version ?? 0) + 1) return product;
  switch (event.type) {
    case 'ProductRegistered':
      return {
        sku: event.sku,
        name: event.name,
        priceCents: event.priceCents,
        stock: 0,
        version: event.version,
        updatedAt: event.at,
      };
    case 'PriceChanged':
      return (
        product && { ...product, priceCents: event.priceCents, version: event.version, updatedAt: event.at }
      );
    case 'StockAdjusted':
      return (
        product && {
          ...product,
          stock: product.stock + event.delta,
          version: event.version,
          updatedAt: event.at,
        }
      );
  }
}

/** The view of a whole log, in log order: what the KTable must equal. */
export function foldEvents(events: Iterable<CatalogueEvent>): Map<string, Product> {
  const out = new Map<string, Product>();
  for (const e of events) {
    const next = evolve(out.get(e.sku), e);
    if (next) out.set(e.sku, next);
  }
  return out;
}
