/**
 * Property: for random command sequences over a few accounts (stale and future versions,
 * overdrafts, invalid amounts, resent commands), the handler answers each command as a small
 * reference model does, no balance is ever negative, every stale command is rejected and has no
 * event, and the balances rebuilt from the events, and from the snapshots, equal the live ones.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ledgerDrivers, replayOf } from './test-drivers.ts';
import { type AccountCommand, accountLedger, type CommandResult } from './topology.ts';

type Op =
  | {
      kind: 'new';
      account: number;
      type: AccountCommand['type'];
      amount: number;
      version: 'current' | 'stale' | 'future';
      offBy: number;
    }
  | { kind: 'resend'; pick: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('new' as const),
      account: fc.integer({ min: 0, max: 3 }),
      type: fc.constantFrom('Deposit' as const, 'Withdraw' as const),
      amount: fc.oneof(
        { weight: 12, arbitrary: fc.integer({ min: 1, max: 300 }) },
        fc.constantFrom(0, -3, 2.5),
      ),
      version: fc.constantFrom(
        'current' as const,
        'current' as const,
        'current' as const,
        'stale' as const,
        'future' as const,
      ),
      offBy: fc.integer({ min: 1, max: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resend' as const), pick: fc.nat() }) },
);

/** The rules written out once more, independently of `decide`. */
function model(balances: Map<string, { balance: number; version: number }>, c: AccountCommand) {
  const a = balances.get(c.accountId) ?? { balance: 0, version: 0 };
  if (c.expectedVersion < a.version) return { accepted: false, reason: 'stale-version' };
  if (c.expectedVersion > a.version) return { accepted: false, reason: 'future-version' };
  if (!(Number.isInteger(c.amount) && c.amount > 0)) return { accepted: false, reason: 'invalid-amount' };
  if (c.type === 'Withdraw' && c.amount > a.balance) return { accepted: false, reason: 'insufficient-funds' };
  const next = { balance: a.balance + (c.type === 'Deposit' ? c.amount : -c.amount), version: a.version + 1 };
  balances.set(c.accountId, next);
  return { accepted: true, ...next };
}

describe('event-sourcing: property', () => {
  it('answers as the model, never overdraws, rejects every stale command, and replays to the live balances', () => {
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 30 }),
        (ops, snapshotEvery, maxEventsBehind) => {
          const d = ledgerDrivers(accountLedger({ snapshotEvery, maxEventsBehind }));
          try {
            const balances = new Map<string, { balance: number; version: number }>();
            const sent: Array<{ command: AccountCommand; result: CommandResult }> = [];
            const stale = new Set<string>();
            for (const [i, o] of ops.entries()) {
              if (o.kind === 'resend') {
                if (sent.length === 0) continue;
                const earlier = sent[o.pick % sent.length]!;
                expect(d.send(earlier.command)).toEqual(earlier.result);
                continue;
              }
              const accountId = `acc-${o.account}`;
              const v = balances.get(accountId)?.version ?? 0;
              const expectedVersion =
                o.version === 'current' ? v : o.version === 'future' ? v + o.offBy : Math.max(0, v - o.offBy);
              const command: AccountCommand = {
                commandId: `c${i}`,
                type: o.type,
                accountId,
                amount: o.amount,
                expectedVersion,
              };
              if (expectedVersion < v) stale.add(command.commandId);
              const expected = model(balances, command);
              const result = d.send(command);
              expect(result).toMatchObject(expected);
              expect(result.balance).toBeGreaterThanOrEqual(0);
              sent.push({ command, result });
            }
            // Every stale command was rejected as stale and has no event; no command has two events.
            for (const { command, result } of sent)
              if (stale.has(command.commandId))
                expect(result).toMatchObject({ accepted: false, reason: 'stale-version' });
            const commandIds = d.eventLog.map((e) => e.commandId);
            expect(new Set(commandIds).size).toBe(commandIds.length);
            for (const id of commandIds) expect(stale.has(id)).toBe(false);
            // The final balances are the fold of the accepted events, live, in the view, and replayed.
            const full = replayOf(d.eventLog, d.snapshotLog, 'events');
            const bounded = replayOf(d.eventLog, d.snapshotLog, 'snapshots');
            for (const [account, state] of balances) {
              expect(d.liveBalance(account)).toEqual(state);
              expect(d.viewBalance(account)).toMatchObject(state);
              expect(full.balances.get(account)).toEqual(state);
              expect(bounded.balances.get(account)).toEqual(state);
            }
            expect(full.balances.size).toBe(balances.size);
            expect(bounded.eventsRead).toBeLessThanOrEqual(maxEventsBehind + 1);
          } finally {
            d.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
