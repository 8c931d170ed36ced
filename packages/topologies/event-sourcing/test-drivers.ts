/**
 * The command handler and the balance view on TopologyTestDriver, for the unit and property
 * tests: each topology in a driver of its own, the handler's events carried on to the view as
 * the events topic would.
 */
import { Serdes } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import {
  type AccountCommand,
  type AccountEvent,
  type AccountLedger,
  type AccountSnapshot,
  type AccountState,
  type AccountView,
  BalanceReplay,
  type CommandResult,
} from './topology.ts';

/** The command handler and the balance view, each in a driver of its own, events carried between them. */
export function ledgerDrivers(ledger: AccountLedger) {
  const handler = new TopologyTestDriver(ledger.commandHandler);
  const view = new TopologyTestDriver(ledger.balanceView);
  const commands = handler.createInputTopic(
    ledger.topics.commands,
    Serdes.String(),
    Serdes.JSON<AccountCommand>(),
  );
  const events = handler.createOutputTopic(
    ledger.topics.events,
    Serdes.String(),
    Serdes.JSON<AccountEvent>(),
  );
  const results = handler.createOutputTopic(
    ledger.topics.results,
    Serdes.String(),
    Serdes.JSON<CommandResult>(),
  );
  const viewInput = view.createInputTopic(ledger.topics.events, Serdes.String(), Serdes.JSON<AccountEvent>());
  const snapshots = view.createOutputTopic(
    ledger.topics.snapshots,
    Serdes.String(),
    Serdes.JSON<AccountSnapshot>(),
  );
  const eventLog: AccountEvent[] = [];
  const snapshotLog: AccountSnapshot[] = [];
  /** Sends a command; returns its result, the events go on to the view. */
  const send = (command: AccountCommand, key = command.accountId): CommandResult => {
    commands.pipeInput(key, command);
    for (const e of events.readValuesToList()) {
      eventLog.push(e);
      viewInput.pipeInput(e.accountId, e);
    }
    snapshotLog.push(...snapshots.readValuesToList());
    const out = results.readKeyValuesToList();
    if (out.length !== 1 || out[0]!.key !== command.commandId)
      throw new Error(`command ${command.commandId} got ${out.length} results: ${JSON.stringify(out)}`);
    return out[0]!.value;
  };
  const liveBalance = (accountId: string): AccountState | undefined =>
    handler.getKeyValueStore<string, AccountState>(ledger.stores.accounts).get(accountId);
  const viewBalance = (accountId: string): AccountView | undefined =>
    view.getKeyValueStore<string, AccountView>(ledger.stores.balances).get(accountId);
  const close = () => {
    handler.close();
    view.close();
  };
  return { handler, view, commands, send, eventLog, snapshotLog, liveBalance, viewBalance, close };
}

/** The replay of the driver's records: from the first event, or from the snapshots. */
export function replayOf(
  eventLog: AccountEvent[],
  snapshotLog: AccountSnapshot[],
  from: 'events' | 'snapshots',
) {
  const replay = new BalanceReplay();
  if (from === 'snapshots') for (const s of snapshotLog) replay.snapshot(0, s);
  // The driver gives the view's input offsets 0, 1, 2, ... in the order the events came.
  for (const [offset, e] of eventLog.entries()) if (BigInt(offset) >= replay.startOf(0)) replay.event(e);
  return replay;
}
