/**
 * The replay's fold, apart from any I/O: snapshots seed the balances and say where each events
 * partition's replay starts; events are then folded in offset order, those a snapshot already
 * holds skipped by their version. `rebuildBalances` feeds it from Kafka; the unit tests feed it
 * the records of a TopologyTestDriver.
 */
import {
  type AccountEvent,
  type AccountSnapshot,
  type AccountState,
  applyInOrder,
  EMPTY_ACCOUNT,
} from './ledger.ts';

export class BalanceReplay {
  readonly balances = new Map<string, AccountState>();
  /** Per events partition, where reading its events starts (0 without a snapshot). */
  readonly starts = new Map<number, bigint>();
  eventsRead = 0;
  eventsApplied = 0;
  snapshotsRead = 0;

  /** A snapshot from snapshots partition `partition`, in offset order: later ones replace earlier ones. */
  snapshot(partition: number, s: AccountSnapshot): void {
    this.snapshotsRead++;
    this.balances.set(s.accountId, { balance: s.balance, version: s.version });
    // The partition's latest snapshot carries the latest (highest) starting point.
    this.starts.set(partition, BigInt(s.replayFrom));
  }

  startOf(partition: number): bigint {
    return this.starts.get(partition) ?? 0n;
  }

  event(e: AccountEvent): void {
    this.eventsRead++;
    const next = applyInOrder(this.balances.get(e.accountId) ?? EMPTY_ACCOUNT, e);
    if (next === 'seen') return;
    this.eventsApplied++;
    this.balances.set(e.accountId, next);
  }
}
