/**
 * CQRS on the real broker: commands over HTTP are validated (rejected ones answered with their
 * reason), accepted ones become events at the position they answer with; the view answers a read
 * bounded by that position with the event applied, locally and through the other instance, which
 * forwards keys it does not hold; the view and its PostgreSQL projection equal the fold of the log.
 */
import {
  type CommandAccepted,
  createProductsTable,
  foldEvents,
  type Product,
  readProductsTable,
} from '@kafka-pattern/topologies/cqrs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { command, eventLog, read, startCommands, startQuerySide } from '../support/cqrs.ts';
import { createTopic, eventually, uniqueName } from '../support/kafka.ts';
import { databaseUrl } from '../support/services.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';

const teardown = teardownAfterEach();

describe('cqrs', () => {
  it('validates commands into events, and answers reads of them from either instance, consistent with the log', async () => {
    const topic = await createTopic(uniqueName('catalogue-events'), 4);
    const applicationId = uniqueName('catalogue-view');
    const postgres = new pg.Pool({ connectionString: databaseUrl() });
    const table = uniqueName('catalogue_products').replaceAll('-', '_');
    teardown.push(async () => {
      await postgres.query(`DROP TABLE IF EXISTS ${table}`);
      await postgres.end();
    });
    await createProductsTable(postgres, table);
    const projection = { postgres, table };
    const a = await startQuerySide(teardown, {
      applicationId,
      topic,
      stateDir: tempStateDir(teardown, 'kp-cqrs-'),
      projection,
    });
    await a.app.waitForRunning();
    const api = await startCommands(teardown, topic, a.url);

    // Rejected, each with its reason; nothing is written.
    expect(await command(api, 'register-product', { sku: 'mug', name: 'Mug', priceCents: -5 })).toEqual({
      status: 400,
      answer: {
        accepted: false,
        reason: '"priceCents" must be a whole number of cents from 1 to 10000000000, got -5',
      },
    });
    expect(await command(api, 'change-price', { sku: 'mug', priceCents: 100 })).toEqual({
      status: 409,
      answer: { accepted: false, reason: 'product "mug" is not registered: register it first' },
    });
    expect((await command(api, 'rename-product', { sku: 'mug' })).status).toBe(404);
    const notJson = await fetch(`${api.url}/commands/adjust-stock`, { method: 'POST', body: 'x' });
    expect([notJson.status, await notJson.json()]).toEqual([
      400,
      {
        accepted: false,
        reason: 'the body must be JSON with content-type application/json, got "text/plain;charset=UTF-8"',
      },
    ]);
    expect(await eventLog(topic)).toEqual([]);

    // Accepted: an event at the answered position, and the view answers with it at once.
    const skus = Array.from({ length: 12 }, (_, i) => `sku-${i}`);
    const last = new Map<string, CommandAccepted>();
    const accepted = async (route: string, body: { sku: string; [field: string]: unknown }) => {
      const { status, answer } = await command(api, route, body);
      expect(status, JSON.stringify(answer)).toBe(202);
      const ok = answer as CommandAccepted;
      last.set(body.sku, ok);
      return ok;
    };
    for (const [i, sku] of skus.entries()) {
      const registered = await accepted('register-product', {
        sku,
        name: `Product ${i}`,
        priceCents: 100 + i,
      });
      expect(registered).toMatchObject({ accepted: true, type: 'ProductRegistered', sku, version: 1 });
      expect(registered.position).toMatchObject({ topic });
      expect(registered.view).toBe(
        `/stores/catalogue-products/keys/${sku}?position=${topic}%3A${registered.position.partition}%3A${registered.position.offset}`,
      );
      const received = await accepted('adjust-stock', { sku, delta: 10 + i });
      const seen = await read(a.url, received.view);
      expect(seen.status).toBe(200);
      expect(seen.body).toMatchObject({ sku, stock: 10 + i, version: 2 });
    }
    expect(await command(api, 'adjust-stock', { sku: 'sku-3', delta: -14 })).toEqual({
      status: 409,
      answer: { accepted: false, reason: 'product "sku-3" has 13 in stock: cannot ship 14' },
    });
    expect(
      await command(api, 'register-product', { sku: 'sku-3', name: 'Again', priceCents: 1 }),
    ).toMatchObject({
      status: 409,
    });

    // A second instance: the partitions are shared, each answers every key, forwarding the others'.
    const b = await startQuerySide(teardown, {
      applicationId,
      topic,
      stateDir: tempStateDir(teardown, 'kp-cqrs-'),
      projection,
    });
    await eventually(
      () =>
        a.app.state === 'RUNNING' &&
        b.app.state === 'RUNNING' &&
        a.app.activeTaskIds().length === 2 &&
        b.app.activeTaskIds().length === 2
          ? true
          : undefined,
      60_000,
      'both instances to run two of the four tasks',
    );
    // Commands go on while reads are forwarded: each answer is visible through both endpoints.
    for (const [i, sku] of skus.entries()) {
      await accepted('change-price', { sku, priceCents: 200 + i });
      if (i % 2 === 0) await accepted('adjust-stock', { sku, delta: -(i + 1) });
    }
    const servedBy = { a: 0, b: 0 };
    for (const [i, sku] of skus.entries()) {
      const expected = {
        sku,
        name: `Product ${i}`,
        priceCents: 200 + i,
        stock: 10 + i - (i % 2 === 0 ? i + 1 : 0),
        version: i % 2 === 0 ? 4 : 3,
      };
      const viaA = await read(a.url, last.get(sku)!.view);
      const viaB = await read(b.url, last.get(sku)!.view);
      expect(viaA.status, JSON.stringify(viaA.body)).toBe(200);
      expect(viaA.body).toMatchObject(expected);
      expect(viaB.body).toEqual(viaA.body);
      // Exactly one of the two forwarded the read to the other.
      expect([viaA.servedBy, viaB.servedBy].filter((s) => s !== null)).toHaveLength(1);
      if (viaA.servedBy === null) servedBy.a++;
      else servedBy.b++;
    }
    expect(servedBy.a).toBeGreaterThan(0);
    expect(servedBy.b).toBeGreaterThan(0);

    // A position the view has not reached: a clear 504 instead of an old answer.
    const p = last.get('sku-0')!.position;
    const ahead = await read(
      a.url,
      `/stores/catalogue-products/keys/sku-0?position=${topic}:${p.partition}:${p.offset + 1000}&waitMs=300`,
    );
    expect(ahead.status).toBe(504);
    expect((ahead.body as { error: string }).error).toContain('retry, or give a longer waitMs');

    // The log holds exactly the accepted events, each at its answered position; the view is its fold.
    const log = await eventLog(topic);
    const answers = [...last.values()];
    for (const ans of answers) {
      const at = log.find((r) => r.partition === ans.position.partition && r.offset === ans.position.offset);
      expect(at?.event).toMatchObject({
        eventId: ans.eventId,
        sku: ans.sku,
        version: ans.version,
        type: ans.type,
      });
    }
    expect(log).toHaveLength(12 * 3 + 6);
    const fold = foldEvents(log.map((r) => r.event));
    const view = new Map<string, Product>();
    for (const x of [a, b])
      for (const kv of x.app.store<string, Product>('catalogue-products').all()) view.set(kv.key, kv.value);
    expect(view).toEqual(fold);

    // The projection converges to the view, row for row.
    const expectedRows = new Map(
      [...fold].map(([sku, pr]) => [
        sku,
        { sku, name: pr.name, priceCents: pr.priceCents, stock: pr.stock, version: pr.version },
      ]),
    );
    const sorted = (m: Map<string, unknown>) => [...m].sort(([x], [y]) => (x < y ? -1 : 1));
    const expectedText = JSON.stringify(sorted(expectedRows));
    let rows = new Map<string, unknown>();
    await eventually(
      async () => {
        rows = await readProductsTable(postgres, table);
        return JSON.stringify(sorted(rows)) === expectedText ? true : undefined;
      },
      30_000,
      'the PostgreSQL projection to equal the view',
    ).catch((error: unknown) => {
      expect(sorted(rows)).toEqual(sorted(expectedRows));
      throw error;
    });
  });
});
