/**
 * Demo: two accounts, a timeline of commands — deposits, withdrawals, a stale expected version,
 * an overdraft, a resent command — each with its event or its rejection and the reason, and the
 * balance view answering after it. Then the balances rebuilt by replay, from the first event and
 * from the snapshots, next to the live ones.
 *
 * Run: `pnpm demo event-sourcing` (it starts the local stack when needed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaStreams } from '@kafka-pattern/streams-core';
import { createPlatformaticClientFactory, recordsOf } from '@kafka-pattern/streams-core/client';
import { localStack } from '../src/support/local-stack.ts';
import {
  type AccountCommand,
  type AccountView,
  accountLedger,
  type CommandResult,
  rebuildBalances,
} from './topology.ts';

const { bootstrapServers } = localStack();
const run = Date.now().toString(36);
const clients = createPlatformaticClientFactory({ bootstrapServers, clientId: 'event-sourcing-demo' });
const ledger = accountLedger({ prefix: `demo-${run}.`, snapshotEvery: 3 });
const { topics, stores } = ledger;
const admin = clients.admin();
const stateDir = mkdtempSync(join(tmpdir(), 'kp-event-sourcing-'));
const config = { bootstrapServers, processingGuarantee: 'exactly_once_v2' as const, stateDir };
const handler = new KafkaStreams(ledger.commandHandler, {
  ...config,
  applicationId: `ledger-handler-${run}`,
});
const view = new KafkaStreams(ledger.balanceView, { ...config, applicationId: `ledger-view-${run}` });
const money = (cents: number) => (cents / 100).toFixed(2);

try {
  await admin.createTopics(ledger.topicSpecs(3));
  await Promise.all([handler.start(), view.start()]);
  await Promise.all([handler.waitForRunning(), view.waitForRunning()]);

  const producer = clients.producer({ clientId: 'event-sourcing-demo-sender', idempotent: true });
  const results = clients.partitionReader({
    clientId: 'event-sourcing-demo-results',
    isolationLevel: 'read_committed',
    maxWaitMs: 100,
  });
  results.assign([0, 1, 2].map((partition) => ({ topic: topics.results, partition, from: 0n })));
  const answers = new Map<string, CommandResult[]>();
  const send = async (command: AccountCommand): Promise<CommandResult> => {
    const before = answers.get(command.commandId)?.length ?? 0;
    await producer.send([
      {
        topic: topics.commands,
        key: Buffer.from(command.accountId),
        value: Buffer.from(JSON.stringify(command)),
      },
    ]);
    const deadline = Date.now() + 30_000;
    while ((answers.get(command.commandId)?.length ?? 0) <= before) {
      if (Date.now() > deadline) throw new Error(`no result for ${command.commandId} within 30 s`);
      for (const r of recordsOf(await results.poll())) {
        const result = JSON.parse(r.value!.toString()) as CommandResult;
        answers.set(result.commandId, [...(answers.get(result.commandId) ?? []), result]);
      }
    }
    return answers.get(command.commandId)!.at(-1)!;
  };
  /** The view's answer once it has folded the account up to `version`. */
  const viewOf = async (accountId: string, version: number): Promise<AccountView | undefined> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const v = view.store<string, AccountView>(stores.balances).get(accountId);
      if ((v?.version ?? 0) >= version || Date.now() > deadline) return v;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const timeline: Array<[string, AccountCommand]> = [
    [
      'alice opens with a deposit',
      { commandId: 'cmd-1', type: 'Deposit', accountId: 'alice', amount: 10_000, expectedVersion: 0 },
    ],
    ['bob too', { commandId: 'cmd-2', type: 'Deposit', accountId: 'bob', amount: 2_500, expectedVersion: 0 }],
    [
      'alice pays rent',
      { commandId: 'cmd-3', type: 'Withdraw', accountId: 'alice', amount: 3_000, expectedVersion: 1 },
    ],
    [
      'a second screen, still showing v1, withdraws',
      { commandId: 'cmd-4', type: 'Withdraw', accountId: 'alice', amount: 1_000, expectedVersion: 1 },
    ],
    [
      'bob tries to spend more than he has',
      { commandId: 'cmd-5', type: 'Withdraw', accountId: 'bob', amount: 4_000, expectedVersion: 1 },
    ],
    [
      'alice deposits her salary',
      { commandId: 'cmd-6', type: 'Deposit', accountId: 'alice', amount: 5_000, expectedVersion: 2 },
    ],
    [
      'the same deposit, resent after a timeout',
      { commandId: 'cmd-6', type: 'Deposit', accountId: 'alice', amount: 5_000, expectedVersion: 2 },
    ],
    [
      'alice withdraws cash',
      { commandId: 'cmd-7', type: 'Withdraw', accountId: 'alice', amount: 2_000, expectedVersion: 3 },
    ],
    [
      'alice, from a version that does not exist yet',
      { commandId: 'cmd-8', type: 'Deposit', accountId: 'alice', amount: 100, expectedVersion: 9 },
    ],
    [
      'bob spends what he has',
      { commandId: 'cmd-9', type: 'Withdraw', accountId: 'bob', amount: 2_500, expectedVersion: 1 },
    ],
  ];
  console.log(`\ntopics: ${Object.values(topics).join(', ')}\n`);
  for (const [story, command] of timeline) {
    const result = await send(command);
    const resent = (answers.get(command.commandId)?.length ?? 0) > 1;
    console.log(`${command.commandId.padEnd(6)} ${story}`);
    console.log(
      `       command  ${command.type} ${money(command.amount)} ${command.type === 'Deposit' ? 'to' : 'from'} ${command.accountId}, expecting v${command.expectedVersion}`,
    );
    if (resent)
      console.log(
        `       answer   the first one again (${result.accepted ? `accepted as v${result.version}` : `rejected: ${result.reason}`}): no new event, applied once`,
      );
    else if (result.accepted)
      console.log(
        `       event    ${command.type === 'Deposit' ? 'Deposited' : 'Withdrawn'} ${money(command.amount)}, ${command.accountId} now v${result.version}`,
      );
    else
      console.log(
        `       rejected ${result.reason}: ${command.accountId} is at v${result.version} with ${money(result.balance)}`,
      );
    const v = await viewOf(command.accountId, result.version);
    console.log(`       view     ${command.accountId}: ${money(v?.balance ?? 0)} at v${v?.version ?? 0}\n`);
  }
  await producer.close();
  await results.close();

  // Give the view's last transaction (its snapshots) time to commit, then rebuild with no state.
  await new Promise((r) => setTimeout(r, 500));
  const live = new Map(
    view
      .store<string, AccountView>(stores.balances)
      .all()
      .map((e) => [e.key, e.value]),
  );
  const fromEvents = await rebuildBalances({ clients, topics, from: 'events' });
  const fromSnapshots = await rebuildBalances({ clients, topics, from: 'snapshots' });
  console.log('balances      live view        rebuilt from events   rebuilt from snapshots');
  let same = true;
  for (const [account, v] of [...live].sort()) {
    const a = fromEvents.balances.get(account);
    const b = fromSnapshots.balances.get(account);
    same &&=
      a?.balance === v.balance &&
      b?.balance === v.balance &&
      a?.version === v.version &&
      b?.version === v.version;
    console.log(
      `  ${account.padEnd(10)}  ${`${money(v.balance)} v${v.version}`.padEnd(15)}  ${`${money(a?.balance ?? 0)} v${a?.version}`.padEnd(20)}  ${money(b?.balance ?? 0)} v${b?.version}`,
    );
  }
  console.log(
    `\nreplay from the first event read ${fromEvents.eventsRead} events; from the snapshots, ${fromSnapshots.snapshotsRead} snapshots and ${fromSnapshots.eventsRead} events`,
  );
  console.log(
    same ? 'the rebuilt balances equal the live ones' : 'the rebuilt balances DIFFER from the live ones',
  );
  if (!same) process.exitCode = 1;
  for (const app of [handler, view])
    if (app.state === 'ERROR') {
      console.error(`an application stopped in ERROR: ${String(app.error)}`);
      process.exitCode = 1;
    }
} finally {
  await Promise.all([handler.close(), view.close()]);
  await admin
    .deleteTopics([
      ...Object.values(topics),
      `${topics.commands}-dlt`,
      `${topics.events}-dlt`,
      ...handler.internalTopicNames(),
      ...view.internalTopicNames(),
    ])
    .catch(() => {});
  await admin.close();
  rmSync(stateDir, { recursive: true, force: true });
}
