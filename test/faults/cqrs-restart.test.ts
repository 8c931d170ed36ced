/**
 * The query side of CQRS restarted with its state directory wiped: the view is restored from its
 * changelog, knows its position before any new event arrives, and answers every read exactly as
 * before, bounded reads included; the next command is checked against the restored view.
 */
import { rmSync } from 'node:fs';
import { type CommandAccepted, foldEvents, type Product } from '@kafka-pattern/topologies/cqrs';
import { describe, expect, it } from 'vitest';
import { command, eventLog, read, startCommands, startQuerySide } from '../support/cqrs.ts';
import { createTopic, uniqueName } from '../support/kafka.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';

const teardown = teardownAfterEach();

describe('cqrs: query side restarted with its state wiped', () => {
  it('is restored from the changelog and answers unchanged', async () => {
    const topic = await createTopic(uniqueName('catalogue-events'), 3);
    const applicationId = uniqueName('catalogue-view');
    const stateDir = tempStateDir(teardown, 'kp-cqrs-restart-');
    const first = await startQuerySide(teardown, { applicationId, topic, stateDir });
    await first.app.waitForRunning();
    let api = await startCommands(teardown, topic, first.url);

    const skus = Array.from({ length: 9 }, (_, i) => `item-${i}`);
    const last = new Map<string, CommandAccepted>();
    const send = async (route: string, body: Record<string, unknown> & { sku: string }) => {
      const { status, answer } = await command(api, route, body);
      expect(status, JSON.stringify(answer)).toBe(202);
      last.set(body.sku, answer as CommandAccepted);
    };
    for (const [i, sku] of skus.entries()) {
      await send('register-product', { sku, name: `Item ${i}`, priceCents: 500 + i });
      await send('adjust-stock', { sku, delta: 20 });
      await send('adjust-stock', { sku, delta: -(i + 1) });
      if (i % 3 === 0) await send('change-price', { sku, priceCents: 999 });
    }
    const before = new Map<string, unknown>();
    for (const sku of skus) {
      const r = await read(first.url, last.get(sku)!.view);
      expect(r.status).toBe(200);
      before.set(sku, r.body);
    }
    expect(first.restored()).toBe(0);
    await first.close();
    await api.close();

    // Wipe the state directory: nothing local survives.
    rmSync(stateDir, { recursive: true, force: true });
    const second = await startQuerySide(teardown, { applicationId, topic, stateDir });
    await second.app.waitForRunning(60_000);
    expect(second.restored()).toBeGreaterThanOrEqual(skus.length);
    // Every read bounded by the last answered position is answered at once (no new event came), unchanged.
    for (const sku of skus) {
      const r = await read(second.url, `${last.get(sku)!.view}&waitMs=10000`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toEqual(before.get(sku));
    }
    const view = new Map(
      second.app
        .store<string, Product>('catalogue-products')
        .all()
        .map((kv) => [kv.key, kv.value]),
    );
    expect(view).toEqual(foldEvents((await eventLog(topic)).map((r) => r.event)));

    // Commands are checked against the restored view.
    api = await startCommands(teardown, topic, second.url);
    expect(await command(api, 'register-product', { sku: 'item-4', name: 'Again', priceCents: 1 })).toEqual({
      status: 409,
      answer: {
        accepted: false,
        reason: 'product "item-4" is already registered (as "Item 4"): change its price or stock instead',
      },
    });
    expect(await command(api, 'adjust-stock', { sku: 'item-8', delta: -12 })).toEqual({
      status: 409,
      answer: { accepted: false, reason: 'product "item-8" has 11 in stock: cannot ship 12' },
    });
    const { status, answer } = await command(api, 'adjust-stock', { sku: 'item-8', delta: -11 });
    expect(status).toBe(202);
    const after = await read(second.url, (answer as CommandAccepted).view);
    expect(after.body).toMatchObject({ sku: 'item-8', stock: 0, version: 4 });
  });
});
