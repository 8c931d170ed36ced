/**
 * A seeded stream of account commands for the event-sourcing integration and fault tests, and
 * what the ledger must make of it: commands as senders would send them (each with the version
 * its sender saw last), some stale, some overdrawing, some resent with the same command id;
 * each command's expected result, and each account's final state.
 */
import type { ProducedRecord } from '@kafka-pattern/streams-core/client';
import {
  type AccountCommand,
  type AccountEvent,
  type AccountState,
  type CommandResult,
  decide,
  EMPTY_ACCOUNT,
} from '@kafka-pattern/topologies/event-sourcing';

export interface LedgerWorkload {
  /** In the order they are sent; a resent command appears again with its first id. */
  commands: AccountCommand[];
  expected: Map<string, CommandResult>;
  balances: Map<string, AccountState>;
  /** Commands sent with an expected version below the account's: none may be applied. */
  stale: Set<string>;
}

/** Mulberry32: small, seeded, the same sequence on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function ledgerWorkload(
  seed: number,
  accounts: number,
  count: number,
  idPrefix = `s${seed}`,
): LedgerWorkload {
  const next = random(seed);
  const state = new Map<string, AccountState>();
  const expected = new Map<string, CommandResult>();
  const stale = new Set<string>();
  const commands: AccountCommand[] = [];
  for (let i = 0; i < count; i++) {
    const r = next();
    if (r < 0.05 && commands.length > 0) {
      commands.push(commands[Math.floor(next() * commands.length)]!);
      continue;
    }
    const accountId = `acc-${Math.floor(next() * accounts)}`;
    const now = state.get(accountId) ?? EMPTY_ACCOUNT;
    const staleOne = r < 0.15 && now.version > 0;
    const withdraw = r >= 0.6;
    const command: AccountCommand = {
      commandId: `${idPrefix}-${i}`,
      type: withdraw ? 'Withdraw' : 'Deposit',
      accountId,
      // Withdrawals of up to twice the average deposit: some of them overdraw.
      amount: 1 + Math.floor(next() * (withdraw ? 200 : 100)),
      expectedVersion: staleOne ? Math.floor(next() * now.version) : now.version,
    };
    if (staleOne) stale.add(command.commandId);
    const d = decide(now, command);
    if (d.accepted) state.set(accountId, d.state);
    const after = d.accepted ? d.state : now;
    expected.set(
      command.commandId,
      d.accepted
        ? {
            commandId: command.commandId,
            accountId,
            accepted: true,
            version: after.version,
            balance: after.balance,
          }
        : {
            commandId: command.commandId,
            accountId,
            accepted: false,
            reason: d.reason,
            version: after.version,
            balance: after.balance,
          },
    );
    commands.push(command);
  }
  return { commands, expected, balances: state, stale };
}

export function commandRecords(topic: string, commands: readonly AccountCommand[]): ProducedRecord[] {
  return commands.map((c) => ({
    topic,
    key: Buffer.from(c.accountId),
    value: Buffer.from(JSON.stringify(c)),
  }));
}

/** What a well-formed events log shows: one event per accepted command, versions 1, 2, 3, ... per account, none stale. */
export function checkEvents(events: readonly AccountEvent[], w: LedgerWorkload) {
  const byCommand = new Map<string, number>();
  const lastVersion = new Map<string, number>();
  const gaps: string[] = [];
  for (const e of events) {
    byCommand.set(e.commandId, (byCommand.get(e.commandId) ?? 0) + 1);
    const v = lastVersion.get(e.accountId) ?? 0;
    if (e.version !== v + 1) gaps.push(`${e.accountId}: ${v} -> ${e.version}`);
    lastVersion.set(e.accountId, e.version);
  }
  const accepted = [...w.expected.values()].filter((r) => r.accepted).map((r) => r.commandId);
  return {
    events: events.length,
    accepted: accepted.length,
    appliedTwice: [...byCommand].filter(([, n]) => n > 1).map(([id]) => id),
    staleApplied: [...byCommand.keys()].filter((id) => w.stale.has(id)),
    missing: accepted.filter((id) => !byCommand.has(id)),
    unexpected: [...byCommand.keys()].filter((id) => w.expected.get(id)?.accepted !== true),
    gaps,
  };
}

export const cleanEvents = (w: LedgerWorkload) => {
  const accepted = [...w.expected.values()].filter((r) => r.accepted).length;
  return {
    events: accepted,
    accepted,
    appliedTwice: [],
    staleApplied: [],
    missing: [],
    unexpected: [],
    gaps: [],
  };
};
