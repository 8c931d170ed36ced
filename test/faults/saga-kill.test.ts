/**
 * A service of the saga SIGKILLed mid-saga and started again, under exactly_once_v2: the three
 * services run as three child processes while orders keep arriving (duplicates among them); one
 * of them is killed with its transactions open, then restarted (the inventory service with its
 * state directory wiped, so its stock levels come back from the changelog alone). At the end
 * every order is APPROVED, REJECTED or CANCELLED, no customer paid net for an order that is not
 * approved, no SKU gave more units than it had, and no order was charged or reserved twice.
 */
import { fileURLToPath } from 'node:url';
import { orderSaga } from '@kafka-pattern/topologies/saga';
import { afterEach, describe, expect, it } from 'vitest';
import { produce, uniqueName } from '../support/kafka.ts';
import {
  checkSaga,
  createSagaTopics,
  orderRecords,
  readSagaLogs,
  sagaWorkload,
  settingRecords,
  unfinished,
} from '../support/saga.ts';
import type { SagaAppSpec } from './fixtures/saga-app.ts';
import { AppProcess, figures, killAll, removeDir, seconds, sleep, tempDir, waitUntil } from './support.ts';

const APP = fileURLToPath(new URL('./fixtures/saga-app.ts', import.meta.url));
const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0)) removeDir(d);
});

type Service = SagaAppSpec['service'];

function reasonCounts(status: Array<{ status: string; reason?: string }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of status)
    if (s.status !== 'PENDING') out[s.reason ?? s.status] = (out[s.reason ?? s.status] ?? 0) + 1;
  return out;
}
const SERVICES: Service[] = ['orderService', 'paymentService', 'inventoryService'];

describe('saga: a service SIGKILLed mid-saga and restarted (exactly_once_v2)', () => {
  it.each<[Service, boolean]>([
    ['paymentService', false],
    ['inventoryService', true],
    ['orderService', false],
  ])('%s killed (state wiped: %s): every order terminal, the guarantee holds', async (victim, wipe) => {
    const started = Date.now();
    const prefix = `${uniqueName('saga-kill')}.`;
    const { topics } = orderSaga({ prefix });
    await createSagaTopics(topics, 3);
    const run = uniqueName('saga-kill');
    const stateDirs = new Map<Service, string>();
    const spawn = (service: Service, name: string) => {
      if (!stateDirs.has(service)) {
        const dir = tempDir('kp-saga-kill-');
        dirs.push(dir);
        stateDirs.set(service, dir);
      }
      const spec: SagaAppSpec = {
        service,
        prefix,
        applicationId: `${run}-${service}`,
        stateDir: stateDirs.get(service)!,
        // Long enough that the kill, not the timeout, is what each order goes through.
        timeoutMs: 120_000,
        commitIntervalMs: 100,
      };
      return new AppProcess(spec, name, APP);
    };
    const apps = new Map(SERVICES.map((s) => [s, spawn(s, s)]));
    await Promise.all([...apps.values()].map((a) => a.waitForRunning(60_000)));

    const w = sagaWorkload(240, 12, 6, 23);
    await produce(settingRecords(topics, w));
    // Orders keep arriving, 20 at a time, before, during and after the kill.
    let fed = 0;
    const feeding = (async () => {
      for (; fed < w.orders.length; fed += 20) {
        await produce(orderRecords(topics, w.orders.slice(fed, fed + 20), 3));
        await sleep(250);
      }
    })();
    const first = apps.get(victim)!;
    const atKill = await first.waitForStats(
      (s) => s.processed >= 80 && fed < w.orders.length - 60,
      60_000,
      'the victim in the middle of the orders',
    );
    await first.kill();
    const killedAt = Date.now();
    await sleep(1_000);
    if (wipe) {
      removeDir(stateDirs.get(victim)!);
    }
    const second = spawn(victim, `${victim}-restarted`);
    apps.set(victim, second);
    await second.waitForRunning(90_000);
    await feeding;
    const logs = await waitUntil(
      async () => {
        const l = await readSagaLogs(topics);
        return unfinished(w, l).length === 0 ? l : undefined;
      },
      120_000,
      'every order in a terminal state',
      1_000,
      () => [...apps.values()].map((a) => a.tail(10)).join('\n'),
    );
    const check = checkSaga(w, logs);
    figures(`saga-kill ${victim}`, {
      orders: w.orders.length,
      processedAtKill: atKill.processed,
      restartS: Math.round((Date.now() - killedAt) / 100) / 10,
      restored: second.restored().reduce((n, e) => n + Number(e.restored), 0),
      ...check.counts,
      reasons: reasonCounts(logs.status),
      violations: check.violations.length,
      totalS: seconds(started),
    });
    expect(check.violations).toEqual([]);
    expect(check.counts.APPROVED).toBeGreaterThan(0);
    expect(check.counts.CANCELLED).toBeGreaterThan(0);
    for (const a of apps.values()) expect(a.alive).toBe(true);
    if (wipe) expect(second.restored().length).toBeGreaterThan(0);
  });
});
