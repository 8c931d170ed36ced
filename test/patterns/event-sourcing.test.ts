/**
 * The event-sourcing pattern on the real broker: commands decided by the command handler under
 * exactly_once_v2, the balance view folding the events, and the balances rebuilt by replay —
 * from the events with a new application id, from a wiped state, and through rebuildBalances
 * from the first event or from the snapshots (which read fewer events) — all equal to the live
 * balances and to what the commands must give.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { KafkaStreams, type Topology } from '@kafka-pattern/streams-core';
import {
  type AccountEvent,
  type AccountState,
  type AccountView,
  accountLedger,
  type CommandResult,
  rebuildBalances,
} from '@kafka-pattern/topologies/event-sourcing';
import { describe, expect, it } from 'vitest';
import {
  figures,
  produceAll,
  sleep,
  waitForInputCommitted,
  waitForSettledOutput,
} from '../faults/support.ts';
import { bootstrapServers, clientFactory, collect, createTopics, uniqueName } from '../support/kafka.ts';
import { checkEvents, cleanEvents, commandRecords, ledgerWorkload } from '../support/ledger-workload.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';

const cleanups = teardownAfterEach();
const PARTITIONS = 3;

const stateOf = (m: Map<string, AccountState | AccountView>) =>
  new Map([...m].map(([k, v]) => [k, { balance: v.balance, version: v.version }]));

function storeContents(app: KafkaStreams, store: string): Map<string, AccountState> {
  return stateOf(
    new Map(
      app
        .store<string, AccountView>(store)
        .all()
        .map((e) => [e.key, e.value]),
    ),
  );
}

/**
 * The store's balances once they equal `expected`, or as they are after `timeoutMs` (for the
 * assertion to show the difference). Events come in transactions, so the view's committed offset
 * stays below the events' end offset (the commit marker): the store itself says when it caught up.
 */
async function balancesWhenCaughtUp(
  app: KafkaStreams,
  store: string,
  expected: Map<string, AccountState>,
  timeoutMs = 60_000,
): Promise<Map<string, AccountState>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = app.state === 'RUNNING' ? storeContents(app, store) : new Map<string, AccountState>();
    if (Date.now() > deadline || isDeepStrictEqual(now, expected)) return now;
    await sleep(200);
  }
}

describe('event-sourcing pattern: balances rebuilt by replay', () => {
  it('a new application id, a wiped state and rebuildBalances give the live balances; snapshots bound the replay', async () => {
    const ledger = accountLedger({ prefix: `${uniqueName('es')}.`, snapshotEvery: 5, maxEventsBehind: 40 });
    const { topics, stores } = ledger;
    await createTopics(ledger.topicSpecs(PARTITIONS));
    const start = async (
      topology: Topology,
      applicationId: string,
      stateDir = tempStateDir(cleanups, 'kp-es-'),
    ) => {
      const app = new KafkaStreams(topology, {
        applicationId,
        bootstrapServers: bootstrapServers(),
        processingGuarantee: 'exactly_once_v2',
        stateDir,
      });
      cleanups.push(() => app.close());
      await app.start();
      await app.waitForRunning();
      return { app, applicationId, stateDir };
    };
    const handler = await start(ledger.commandHandler, uniqueName('es-handler'));
    const view = await start(ledger.balanceView, uniqueName('es-view'));

    const w = ledgerWorkload(7, 12, 900);
    await produceAll(commandRecords(topics.commands, w.commands));
    await waitForInputCommitted(handler.applicationId, [topics.commands], 90_000);
    await waitForSettledOutput([topics.events, topics.results], 30_000);

    // Every command answered as it must be, once per record sent; the events are clean.
    const results = (await collect(topics.results)).map(
      (r) => JSON.parse(r.value!.toString()) as CommandResult,
    );
    expect(results).toHaveLength(w.commands.length);
    for (const r of results) expect(r).toEqual(w.expected.get(r.commandId));
    const events = (await collect(topics.events)).map((r) => JSON.parse(r.value!.toString()) as AccountEvent);
    expect(checkEvents(events, w)).toEqual(cleanEvents(w));

    const live = storeContents(handler.app, stores.accounts);
    expect(live).toEqual(w.balances);
    expect(await balancesWhenCaughtUp(view.app, stores.balances, live)).toEqual(live);

    // Replay with a new application id: the view rebuilt from the first event.
    const fresh = await start(ledger.balanceView, uniqueName('es-view-new'));
    expect(await balancesWhenCaughtUp(fresh.app, stores.balances, live)).toEqual(live);
    await fresh.app.close();

    // Wiped state: the view's state directory deleted, the same application restores it.
    await view.app.close();
    rmSync(join(view.stateDir, view.applicationId), { recursive: true, force: true });
    const wiped = await start(ledger.balanceView, view.applicationId, view.stateDir);
    expect(await balancesWhenCaughtUp(wiped.app, stores.balances, live)).toEqual(live);

    // The handler's state wiped too: restored, it still refuses a stale version and applies a current one.
    await handler.app.close();
    rmSync(join(handler.stateDir, handler.applicationId), { recursive: true, force: true });
    const restarted = await start(ledger.commandHandler, handler.applicationId, handler.stateDir);
    const [account, state] = [...live].find(([, s]) => s.version > 1)!;
    await produceAll(
      commandRecords(topics.commands, [
        {
          commandId: 'after-wipe-stale',
          type: 'Deposit',
          accountId: account,
          amount: 1,
          expectedVersion: state.version - 1,
        },
        {
          commandId: 'after-wipe-ok',
          type: 'Deposit',
          accountId: account,
          amount: 1,
          expectedVersion: state.version,
        },
      ]),
    );
    await waitForInputCommitted(restarted.applicationId, [topics.commands], 60_000);
    await waitForSettledOutput([topics.results], 30_000);
    const late = (await collect(topics.results))
      .map((r) => JSON.parse(r.value!.toString()) as CommandResult)
      .filter((r) => r.commandId.startsWith('after-wipe'));
    expect(late).toEqual([
      {
        commandId: 'after-wipe-stale',
        accountId: account,
        accepted: false,
        reason: 'stale-version',
        ...state,
      },
      {
        commandId: 'after-wipe-ok',
        accountId: account,
        accepted: true,
        version: state.version + 1,
        balance: state.balance + 1,
      },
    ]);
    live.set(account, { balance: state.balance + 1, version: state.version + 1 });
    expect(await balancesWhenCaughtUp(wiped.app, stores.balances, live)).toEqual(live);
    await waitForSettledOutput([topics.snapshots], 30_000);

    // rebuildBalances, with no state at all: from the first event, and from the snapshots.
    const clients = clientFactory();
    const full = await rebuildBalances({ clients, topics, from: 'events' });
    const bounded = await rebuildBalances({ clients, topics, from: 'snapshots' });
    expect(full.balances).toEqual(live);
    expect(bounded.balances).toEqual(live);
    expect(full.eventsRead).toBe(events.length + 1);
    expect(bounded.snapshotsRead).toBeGreaterThan(0);
    expect(bounded.eventsRead).toBeLessThan(full.eventsRead);
    expect(bounded.eventsRead).toBeLessThanOrEqual(PARTITIONS * (ledger.maxEventsBehind + 1));
    figures('event-sourcing replay', {
      commands: w.commands.length,
      events: full.eventsRead,
      accounts: live.size,
      fromEventsRead: full.eventsRead,
      fromSnapshotsRead: { snapshots: bounded.snapshotsRead, events: bounded.eventsRead },
      startOffsets: bounded.partitions.map((p) => `${p.partition}:${p.from}/${p.until}`),
    });
  });
});
