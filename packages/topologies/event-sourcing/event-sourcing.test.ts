import { Serdes } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { describe, expect, it } from 'vitest';
import { ledgerDrivers, replayOf } from './test-drivers.ts';
import { type AccountCommand, type AccountEvent, accountLedger } from './topology.ts';

let n = 0;
const cmd = (
  type: AccountCommand['type'],
  accountId: string,
  amount: number,
  expectedVersion: number,
  commandId = `c${++n}`,
): AccountCommand => ({ commandId, type, accountId, amount, expectedVersion });

describe('event-sourcing: the command handler', () => {
  it('turns an accepted command into one event with the next version, and answers it', () => {
    const d = ledgerDrivers(accountLedger());
    expect(d.send(cmd('Deposit', 'acc-1', 100, 0, 'd1'))).toEqual({
      commandId: 'd1',
      accountId: 'acc-1',
      accepted: true,
      version: 1,
      balance: 100,
    });
    expect(d.send(cmd('Withdraw', 'acc-1', 30, 1, 'w1'))).toMatchObject({
      accepted: true,
      version: 2,
      balance: 70,
    });
    expect(d.eventLog).toEqual([
      { type: 'Deposited', accountId: 'acc-1', amount: 100, version: 1, commandId: 'd1' },
      { type: 'Withdrawn', accountId: 'acc-1', amount: 30, version: 2, commandId: 'w1' },
    ]);
    expect(d.liveBalance('acc-1')).toEqual({ balance: 70, version: 2 });
    expect(d.viewBalance('acc-1')).toMatchObject({ balance: 70, version: 2 });
    d.close();
  });

  it('rejects a stale expected version and a future one, and applies neither', () => {
    const d = ledgerDrivers(accountLedger());
    d.send(cmd('Deposit', 'acc-1', 100, 0));
    d.send(cmd('Deposit', 'acc-1', 50, 1));
    expect(d.send(cmd('Withdraw', 'acc-1', 10, 1, 'stale'))).toEqual({
      commandId: 'stale',
      accountId: 'acc-1',
      accepted: false,
      reason: 'stale-version',
      version: 2,
      balance: 150,
    });
    expect(d.send(cmd('Withdraw', 'acc-1', 10, 5, 'ahead'))).toMatchObject({
      accepted: false,
      reason: 'future-version',
    });
    expect(d.eventLog).toHaveLength(2);
    expect(d.liveBalance('acc-1')).toEqual({ balance: 150, version: 2 });
    d.close();
  });

  it('rejects a withdrawal that would overdraw, and an amount that is not a positive whole number', () => {
    const d = ledgerDrivers(accountLedger());
    d.send(cmd('Deposit', 'acc-1', 100, 0));
    expect(d.send(cmd('Withdraw', 'acc-1', 101, 1))).toMatchObject({
      accepted: false,
      reason: 'insufficient-funds',
      balance: 100,
    });
    expect(d.send(cmd('Withdraw', 'acc-1', 100, 1))).toMatchObject({ accepted: true, balance: 0 });
    expect(d.send(cmd('Deposit', 'acc-1', 0, 2))).toMatchObject({
      accepted: false,
      reason: 'invalid-amount',
    });
    expect(d.send(cmd('Deposit', 'acc-1', 1.5, 2))).toMatchObject({
      accepted: false,
      reason: 'invalid-amount',
    });
    expect(d.send(cmd('Deposit', 'acc-1', -5, 2))).toMatchObject({
      accepted: false,
      reason: 'invalid-amount',
    });
    expect(d.eventLog.map((e) => e.version)).toEqual([1, 2]);
    d.close();
  });

  it('answers a resent command the same and applies it once, even after the account moved on', () => {
    const d = ledgerDrivers(accountLedger());
    const first = d.send(cmd('Deposit', 'acc-1', 100, 0, 'dup'));
    d.send(cmd('Withdraw', 'acc-1', 40, 1, 'other'));
    expect(d.send(cmd('Deposit', 'acc-1', 100, 0, 'dup'))).toEqual(first);
    const rejected = d.send(cmd('Withdraw', 'acc-1', 1_000, 2, 'too-much'));
    d.send(cmd('Deposit', 'acc-1', 5_000, 2));
    // Resent after a deposit that would now cover it: still the first answer.
    expect(d.send(cmd('Withdraw', 'acc-1', 1_000, 2, 'too-much'))).toEqual(rejected);
    expect(d.eventLog.filter((e) => e.commandId === 'dup')).toHaveLength(1);
    expect(d.liveBalance('acc-1')).toEqual({ balance: 5_060, version: 3 });
    d.close();
  });

  it('rejects a command whose record key is not its account (it may sit on another account partition)', () => {
    const d = ledgerDrivers(accountLedger());
    expect(d.send(cmd('Deposit', 'acc-1', 100, 0), 'acc-2')).toMatchObject({
      accepted: false,
      reason: 'key-mismatch',
    });
    expect(d.eventLog).toEqual([]);
    d.close();
  });

  it('moves a record that is not a command to the dead-letter topic and goes on', () => {
    const ledger = accountLedger({ prefix: 'bank.' });
    const d = ledgerDrivers(ledger);
    const raw = d.handler.createInputTopic(ledger.topics.commands, Serdes.String(), Serdes.String());
    const dlt = d.handler.createOutputTopic(
      `${ledger.topics.commands}-dlt`,
      Serdes.String(),
      Serdes.String(),
    );
    raw.pipeInput('acc-1', '{not json');
    raw.pipeInput(
      'acc-1',
      JSON.stringify({ type: 'Deposit', accountId: 'acc-1', amount: 5, expectedVersion: 0 }),
    );
    expect(dlt.readValuesToList()).toHaveLength(2);
    expect(d.send(cmd('Deposit', 'acc-1', 100, 0))).toMatchObject({ accepted: true, version: 1 });
    d.close();
  });
});

describe('event-sourcing: the balance view and its snapshots', () => {
  it('snapshots an account every N events, with the position after its last event', () => {
    const d = ledgerDrivers(accountLedger({ snapshotEvery: 3 }));
    for (let v = 0; v < 7; v++) d.send(cmd('Deposit', 'acc-1', 10, v));
    expect(d.snapshotLog).toEqual([
      {
        accountId: 'acc-1',
        balance: 30,
        version: 3,
        position: { partition: 0, offset: '3' },
        replayFrom: '3',
      },
      {
        accountId: 'acc-1',
        balance: 60,
        version: 6,
        position: { partition: 0, offset: '6' },
        replayFrom: '6',
      },
    ]);
    expect(d.viewBalance('acc-1')).toMatchObject({
      balance: 70,
      version: 7,
      snapshotVersion: 6,
      pendingFrom: '6',
    });
    d.close();
  });

  it('an account short of its next snapshot holds replayFrom back, until it falls maxEventsBehind behind', () => {
    const d = ledgerDrivers(accountLedger({ snapshotEvery: 3, maxEventsBehind: 5 }));
    d.send(cmd('Deposit', 'quiet', 1, 0)); // offset 0, never reaches 3 events
    for (let v = 0; v < 3; v++) d.send(cmd('Deposit', 'busy', 10, v)); // offsets 1..3
    expect(d.snapshotLog).toEqual([
      {
        accountId: 'busy',
        balance: 30,
        version: 3,
        position: { partition: 0, offset: '4' },
        replayFrom: '0',
      },
    ]);
    for (let v = 3; v < 5; v++) d.send(cmd('Deposit', 'busy', 10, v)); // offsets 4, 5: 'quiet' is 5 behind
    expect(d.snapshotLog).toHaveLength(1);
    d.send(cmd('Deposit', 'busy', 10, 5)); // offset 6: 'busy' is due, and 'quiet' is 6 behind
    expect(d.snapshotLog.slice(1)).toEqual([
      {
        accountId: 'busy',
        balance: 60,
        version: 6,
        position: { partition: 0, offset: '7' },
        replayFrom: '7',
      },
      {
        accountId: 'quiet',
        balance: 1,
        version: 1,
        position: { partition: 0, offset: '1' },
        replayFrom: '7',
      },
    ]);
    d.close();
  });

  it('skips an event it has applied already (a redelivery) and keeps the balance', () => {
    const d = ledgerDrivers(accountLedger());
    d.send(cmd('Deposit', 'acc-1', 100, 0));
    const again = d.view.createInputTopic(
      d.handler ? 'account-events' : '',
      Serdes.String(),
      Serdes.JSON<AccountEvent>(),
    );
    again.pipeInput('acc-1', d.eventLog[0]!);
    expect(d.viewBalance('acc-1')).toMatchObject({ balance: 100, version: 1 });
    d.close();
  });

  it('the replay from the events and from the snapshots give the live balances; the snapshots read fewer events', () => {
    const d = ledgerDrivers(accountLedger({ snapshotEvery: 4, maxEventsBehind: 20 }));
    const versions = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const account = `acc-${(i * 7) % 9}`;
      const v = versions.get(account) ?? 0;
      const r = d.send(cmd(i % 3 === 2 ? 'Withdraw' : 'Deposit', account, 1 + (i % 13), v));
      if (r.accepted) versions.set(account, r.version);
    }
    const full = replayOf(d.eventLog, d.snapshotLog, 'events');
    const bounded = replayOf(d.eventLog, d.snapshotLog, 'snapshots');
    for (const [account] of versions) {
      expect(full.balances.get(account)).toEqual(d.liveBalance(account));
      expect(bounded.balances.get(account)).toEqual(d.liveBalance(account));
    }
    expect(full.eventsRead).toBe(d.eventLog.length);
    expect(bounded.eventsRead).toBeLessThanOrEqual(20 + 1);
    d.close();
  });
});
