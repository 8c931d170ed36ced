import { Serdes } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { describe, expect, it } from 'vitest';
import {
  type CatalogueCommand,
  type CatalogueEvent,
  decide,
  foldEvents,
  type Product,
  parseCommand,
} from './catalogue.ts';
import { catalogueView, eventSerde } from './view.ts';

const TOPIC = 'catalogue-events';
let n = 0;
const meta = () => ({ eventId: `e-${++n}`, at: 1_000 + n });

/** Decides each command against the fold of the events so far, as the command side does against the view. */
function run(commands: CatalogueCommand[]): { events: CatalogueEvent[]; rejections: string[] } {
  const events: CatalogueEvent[] = [];
  const rejections: string[] = [];
  for (const c of commands) {
    const d = decide(c, foldEvents(events).get(c.sku), meta());
    if (d.accepted) events.push(d.event);
    else rejections.push(`${d.status}: ${d.reason}`);
  }
  return { events, rejections };
}

describe('catalogue commands', () => {
  it('are refused with the reason when malformed', () => {
    expect(parseCommand('RegisterProduct', { sku: 'mug', name: 'Mug', priceCents: 12.5 })).toEqual({
      status: 'invalid',
      reason: '"priceCents" must be a whole number of cents from 1 to 10000000000, got 12.5',
    });
    expect(parseCommand('RegisterProduct', { sku: ' bad sku', name: 'x', priceCents: 1 })).toMatchObject({
      status: 'invalid',
      reason: expect.stringContaining('"sku" must be'),
    });
    expect(parseCommand('RegisterProduct', { sku: 'mug', priceCents: 100 })).toMatchObject({
      reason: '"name" must be a non-empty string of at most 200 characters',
    });
    expect(parseCommand('AdjustStock', { sku: 'mug', delta: 0 })).toMatchObject({ status: 'invalid' });
    expect(parseCommand('ChangePrice', [1])).toEqual({
      status: 'invalid',
      reason: 'the body must be a JSON object',
    });
    // The type is the route's, whatever the body says.
    expect(parseCommand('ChangePrice', { type: 'RegisterProduct', sku: 'mug', priceCents: 5 })).toEqual({
      type: 'ChangePrice',
      sku: 'mug',
      priceCents: 5,
    });
  });

  it('are refused with the reason when the product forbids them, and become versioned events otherwise', () => {
    const { events, rejections } = run([
      { type: 'ChangePrice', sku: 'mug', priceCents: 900 },
      { type: 'RegisterProduct', sku: 'mug', name: 'Mug', priceCents: 1_200 },
      { type: 'RegisterProduct', sku: 'mug', name: 'Other mug', priceCents: 1 },
      { type: 'AdjustStock', sku: 'mug', delta: 10 },
      { type: 'AdjustStock', sku: 'mug', delta: -11 },
      { type: 'AdjustStock', sku: 'mug', delta: -4 },
      { type: 'ChangePrice', sku: 'mug', priceCents: 1_200 },
      { type: 'ChangePrice', sku: 'mug', priceCents: 990 },
    ]);
    expect(rejections).toEqual([
      'conflict: product "mug" is not registered: register it first',
      'conflict: product "mug" is already registered (as "Mug"): change its price or stock instead',
      'conflict: product "mug" has 10 in stock: cannot ship 11',
      'conflict: product "mug" already costs 1200 cents',
    ]);
    expect(events.map((e) => [e.type, e.version])).toEqual([
      ['ProductRegistered', 1],
      ['StockAdjusted', 2],
      ['StockAdjusted', 3],
      ['PriceChanged', 4],
    ]);
    expect(foldEvents(events).get('mug')).toMatchObject({
      name: 'Mug',
      priceCents: 990,
      stock: 6,
      version: 4,
    });
  });
});

describe('the catalogue view (TopologyTestDriver)', () => {
  const setup = () => {
    const view = catalogueView({ topic: TOPIC });
    const driver = new TopologyTestDriver(view.topology);
    const input = driver.createInputTopic(TOPIC, Serdes.String(), eventSerde());
    const store = () => driver.getKeyValueStore<string, Product>(view.store);
    return { driver, input, store, view };
  };

  it('is the fold of the event log per SKU, readable by key', () => {
    const { driver, input, store, view } = setup();
    const { events } = run([
      { type: 'RegisterProduct', sku: 'mug', name: 'Mug', priceCents: 1_200 },
      { type: 'RegisterProduct', sku: 'tea', name: 'Tea', priceCents: 450 },
      { type: 'AdjustStock', sku: 'mug', delta: 30 },
      { type: 'AdjustStock', sku: 'tea', delta: 5 },
      { type: 'AdjustStock', sku: 'mug', delta: -12 },
      { type: 'ChangePrice', sku: 'tea', priceCents: 500 },
    ]);
    for (const e of events) input.pipeInput(e.sku, e, e.at);
    expect(view.store).toBe('catalogue-products');
    const all = new Map(
      store()
        .all()
        .map((kv) => [kv.key, kv.value]),
    );
    expect(all).toEqual(foldEvents(events));
    expect(store().get('mug')).toEqual({
      sku: 'mug',
      name: 'Mug',
      priceCents: 1_200,
      stock: 18,
      version: 3,
      updatedAt: events[4]!.at,
    });
    expect(store().get('nope')).toBeUndefined();
    expect(view.topology.describe().toString()).toContain('catalogue-products');
    driver.close();
  });

  it('applies only the next version: a stale or repeated event changes nothing', () => {
    const { driver, input, store } = setup();
    const registered: CatalogueEvent = {
      type: 'ProductRegistered',
      eventId: 'a',
      sku: 'mug',
      version: 1,
      at: 1,
      name: 'Mug',
      priceCents: 100,
    };
    const received: CatalogueEvent = {
      type: 'StockAdjusted',
      eventId: 'b',
      sku: 'mug',
      version: 2,
      at: 2,
      delta: 3,
    };
    // Decided on the same stale view as `received`: it lost the race.
    const raced: CatalogueEvent = {
      type: 'StockAdjusted',
      eventId: 'c',
      sku: 'mug',
      version: 2,
      at: 3,
      delta: -1,
    };
    const log = [registered, received, raced, received];
    for (const e of log) input.pipeInput(e.sku, e, e.at);
    expect(store().get('mug')).toMatchObject({ stock: 3, version: 2 });
    expect(foldEvents(log).get('mug')).toEqual(store().get('mug'));
    // An event of a SKU never registered leaves it unregistered (version 0: no product).
    input.pipeInput('ghost', { ...received, sku: 'ghost' }, 4);
    expect(store().get('ghost')?.version).toBe(0);
    expect(foldEvents([{ ...received, sku: 'ghost' }]).has('ghost')).toBe(false);
    driver.close();
  });
});
