/**
 * The event-sourcing command handler SIGKILLed three times in the middle of a backlog of
 * commands under exactly_once_v2, each time restarted on the same state directory. Afterwards:
 * one result per command record, each the one the commands must give; one event per accepted
 * command and none for a stale one; contiguous versions; and the balances rebuilt from the
 * events (from the first one, and from the snapshots a balance view writes) equal the handler's
 * live balances.
 */
import { fileURLToPath } from 'node:url';
import { KafkaStreams } from '@kafka-pattern/streams-core';
import {
  type AccountEvent,
  type AccountState,
  type AccountView,
  accountLedger,
  type CommandResult,
  rebuildBalances,
} from '@kafka-pattern/topologies/event-sourcing';
import { afterEach, describe, expect, it } from 'vitest';
import { bootstrapServers, clientFactory, collect, createTopics, uniqueName } from '../support/kafka.ts';
import { checkEvents, cleanEvents, commandRecords, ledgerWorkload } from '../support/ledger-workload.ts';
import { teardownAfterEach } from '../support/teardown.ts';
import type { LedgerAppSpec } from './fixtures/event-sourcing-app.ts';
import {
  AppProcess,
  figures,
  killAll,
  produceAll,
  removeDir,
  type Stats,
  sleep,
  tempDir,
  uncommittedInput,
  waitForInputCommitted,
  waitForSettledOutput,
} from './support.ts';

const APP = fileURLToPath(new URL('./fixtures/event-sourcing-app.ts', import.meta.url));
const cleanups = teardownAfterEach();
const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0)) removeDir(d);
});

describe('event-sourcing: the command handler SIGKILLed mid-stream under exactly_once_v2', () => {
  it('no command applied twice, no stale one applied, and the rebuilt balances equal the live ones', async () => {
    const ledger = accountLedger({
      prefix: `${uniqueName('es-kill')}.`,
      snapshotEvery: 10,
      maxEventsBehind: 200,
    });
    const { topics, stores } = ledger;
    await createTopics(ledger.topicSpecs(3));
    const w = ledgerWorkload(11, 40, 10_000);
    // A backlog, then commands arriving while the handler runs, until the kills are done.
    const records = commandRecords(topics.commands, w.commands);
    let fed = 1_000;
    await produceAll(records.slice(0, fed));
    let killsDone = false;
    const feeding = (async () => {
      while (fed < records.length) {
        const chunk = killsDone ? records.length - fed : 100;
        await produceAll(records.slice(fed, fed + chunk));
        fed += chunk;
        if (!killsDone) await sleep(200);
      }
    })();
    const stateDir = tempDir('kp-es-kill-');
    dirs.push(stateDir);
    const spec: LedgerAppSpec = {
      prefix: ledger.topics.commands.slice(0, -'account-commands'.length),
      applicationId: uniqueName('es-kill-handler'),
      stateDir,
      commitIntervalMs: 100,
    };

    const kills: Array<Record<string, unknown>> = [];
    for (let k = 1; k <= 3; k++) {
      const p = new AppProcess(spec, `handler-${k}`, APP);
      await p.waitForRunning();
      // Killed after some transactions committed, with the next one open: wherever it then is.
      const at = await p.waitForStats(
        (s: Stats) => s.commits >= 2 && s.processed >= 100,
        60_000,
        'two commits and 100 commands processed',
      );
      await sleep(37 * k);
      const fedAtKill = fed;
      await p.kill();
      const left = await uncommittedInput(spec.applicationId, topics.commands);
      kills.push({
        k,
        processedAtKill: at.processed,
        commitsAtKill: at.commits,
        fedAtKill,
        uncommittedAfter: left,
      });
      // Mid-stream: commands were still waiting, or still arriving, when it died.
      expect(left > 0 || fedAtKill < records.length).toBe(true);
    }
    killsDone = true;
    await feeding;
    // Each incarnation committed work of its own before it died: the committed position moved on.
    const committedAt = kills.map((k) => (k.fedAtKill as number) - (k.uncommittedAfter as number));
    expect(committedAt.every((c, i) => c > (committedAt[i - 1] ?? 0))).toBe(true);
    const last = new AppProcess(spec, 'handler-final', APP);
    await last.waitForRunning();
    await waitForInputCommitted(spec.applicationId, [topics.commands], 120_000, () => last.tail());
    await waitForSettledOutput([topics.events, topics.results], 30_000);
    expect(await last.stop()).toBe(true);
    const reported = await last.waitForEvent((e) => e.event === 'balances', 1_000, 'the live balances');
    const live = new Map(Object.entries(reported.accounts as Record<string, AccountState>));

    const results = (await collect(topics.results)).map(
      (r) => JSON.parse(r.value!.toString()) as CommandResult,
    );
    const events = (await collect(topics.events)).map((r) => JSON.parse(r.value!.toString()) as AccountEvent);
    expect(results).toHaveLength(w.commands.length);
    const wrong = results.filter((r) => JSON.stringify(r) !== JSON.stringify(w.expected.get(r.commandId)));
    expect(wrong).toEqual([]);
    expect(checkEvents(events, w)).toEqual(cleanEvents(w));
    for (const id of w.stale)
      expect(w.expected.get(id)).toMatchObject({ accepted: false, reason: 'stale-version' });
    expect(live).toEqual(w.balances);

    // The view folds the events into snapshots; the replays need no state at all.
    const view = new KafkaStreams(ledger.balanceView, {
      applicationId: uniqueName('es-kill-view'),
      bootstrapServers: bootstrapServers(),
      processingGuarantee: 'exactly_once_v2',
      stateDir: tempDir('kp-es-kill-view-'),
    });
    cleanups.push(() => view.close());
    await view.start();
    await view.waitForRunning();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const folded = view.state === 'RUNNING' ? view.store<string, AccountView>(stores.balances).all() : [];
      if (folded.length === live.size && folded.every((e) => live.get(e.key)?.version === e.value.version))
        break;
      await sleep(200);
    }
    await view.close();
    await waitForSettledOutput([topics.snapshots], 30_000);
    const clients = clientFactory();
    const full = await rebuildBalances({ clients, topics, from: 'events' });
    const bounded = await rebuildBalances({ clients, topics, from: 'snapshots' });
    expect(full.balances).toEqual(live);
    expect(bounded.balances).toEqual(live);
    expect(bounded.eventsRead).toBeLessThan(full.eventsRead);
    figures('event-sourcing SIGKILL x3', {
      commands: w.commands.length,
      accepted: events.length,
      stale: w.stale.size,
      kills,
      replay: {
        fromEvents: full.eventsRead,
        fromSnapshots: bounded.eventsRead,
        snapshots: bounded.snapshotsRead,
      },
    });
  });
});
