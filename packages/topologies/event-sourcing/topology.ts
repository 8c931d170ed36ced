/**
 * Event sourcing: bank accounts whose only source of truth is their events topic.
 *
 * `accountLedger` gives two topologies, each run as its own application: the command handler
 * (commands -> events and results, one writer per account by partitioning, optimistic
 * concurrency on an expected version) and the balance view (events -> a queryable fold, plus
 * snapshots on a compacted topic). `rebuildBalances` replays the events, from the first or from
 * the snapshots, into the same balances without any state.
 */
import type { Topology } from '@kafka-pattern/streams-core';
import type { TopicSpec } from '@kafka-pattern/streams-core/client';
import { balanceViewTopology, SNAPSHOTS_TOPIC_CONFIGS } from './balance-view.ts';
import { commandHandlerTopology, EVENTS_TOPIC_CONFIGS } from './command-handler.ts';

export type { AccountView } from './balance-view.ts';
export {
  type AccountCommand,
  type AccountEvent,
  type AccountSnapshot,
  type AccountState,
  applyInOrder,
  type CommandResult,
  type CommandType,
  type Decision,
  decide,
  EMPTY_ACCOUNT,
  EventGapError,
  type EventPosition,
  type EventType,
  evolve,
  InvalidCommandError,
  type RejectionReason,
} from './ledger.ts';
export { type RebuildOptions, type RebuiltBalances, rebuildBalances } from './rebuild-balances.ts';
export { BalanceReplay } from './replay.ts';

export interface AccountLedgerOptions {
  /** Put in front of every topic name ('bank.' gives 'bank.account-commands', ...). Default ''. */
  prefix?: string;
  /** An account is snapshotted every this many events. Default 100. */
  snapshotEvery?: number;
  /**
   * An account whose oldest unsnapshotted event is more than this many offsets behind its
   * partition's newest event is snapshotted early, so that a replay from the snapshots reads at
   * most about this many events per partition. Default 10,000.
   */
  maxEventsBehind?: number;
}

export interface LedgerTopics {
  /** Input, keyed by accountId: `AccountCommand`. */
  readonly commands: string;
  /** Keyed by accountId: `AccountEvent`, kept for good. */
  readonly events: string;
  /** Compacted, keyed by accountId: `AccountSnapshot`, in the partition of the account's events. */
  readonly snapshots: string;
  /** Keyed by commandId: `CommandResult`. */
  readonly results: string;
}

export interface LedgerStores {
  /** Command handler: accountId -> AccountState (what commands are decided against). */
  readonly accounts: string;
  /** Command handler: commandId -> CommandResult (a resent command gets the same answer). */
  readonly commandResults: string;
  /** Balance view: accountId -> AccountView (the queryable balances). */
  readonly balances: string;
}

export interface AccountLedger {
  /** Run as its own application; under exactly_once_v2 no command is applied twice, even across a crash. */
  readonly commandHandler: Topology;
  /** Run as its own application: the balances store and the snapshots. */
  readonly balanceView: Topology;
  readonly topics: LedgerTopics;
  readonly stores: LedgerStores;
  readonly snapshotEvery: number;
  readonly maxEventsBehind: number;
  /** The four topics with their configs (events kept for good, snapshots compacted), to create before starting. */
  topicSpecs(partitions: number): TopicSpec[];
}

export function accountLedger(options: AccountLedgerOptions = {}): AccountLedger {
  const prefix = options.prefix ?? '';
  const snapshotEvery = options.snapshotEvery ?? 100;
  const maxEventsBehind = options.maxEventsBehind ?? 10_000;
  if (!Number.isSafeInteger(snapshotEvery) || snapshotEvery < 1)
    throw new RangeError(
      `accountLedger: snapshotEvery must be a whole number of at least 1, got ${snapshotEvery}`,
    );
  if (!Number.isSafeInteger(maxEventsBehind) || maxEventsBehind < 1)
    throw new RangeError(
      `accountLedger: maxEventsBehind must be a whole number of at least 1, got ${maxEventsBehind}`,
    );
  const topics: LedgerTopics = {
    commands: `${prefix}account-commands`,
    events: `${prefix}account-events`,
    snapshots: `${prefix}account-snapshots`,
    results: `${prefix}command-results`,
  };
  const stores: LedgerStores = {
    accounts: 'ledger-accounts',
    commandResults: 'ledger-command-results',
    balances: 'ledger-balances',
  };
  return {
    commandHandler: commandHandlerTopology({
      commands: topics.commands,
      events: topics.events,
      results: topics.results,
      accountsStore: stores.accounts,
      resultsStore: stores.commandResults,
    }),
    balanceView: balanceViewTopology({
      events: topics.events,
      snapshots: topics.snapshots,
      balancesStore: stores.balances,
      snapshotEvery,
      maxEventsBehind,
    }),
    topics,
    stores,
    snapshotEvery,
    maxEventsBehind,
    topicSpecs: (partitions) => [
      { name: topics.commands, partitions },
      { name: topics.events, partitions, configs: { ...EVENTS_TOPIC_CONFIGS } },
      { name: topics.snapshots, partitions, configs: { ...SNAPSHOTS_TOPIC_CONFIGS } },
      { name: topics.results, partitions },
    ],
  };
}
