/**
 * The account ledger's records and its two pure functions: `decide` (a command against the
 * account's state: an event or a rejection) and `evolve` (an event applied to the state). The
 * command handler, the balance view, the replay and the tests all use these two, so the live
 * state and the rebuilt one cannot drift apart by construction.
 *
 * Amounts are whole minor units (cents): sums of floats would differ with the order of addition.
 */

export type CommandType = 'Deposit' | 'Withdraw';
export type EventType = 'Deposited' | 'Withdrawn';

/** A request to change an account, keyed by `accountId` on the commands topic. */
export interface AccountCommand {
  /** Chosen by the sender and reused on a resend: a command id is applied at most once. */
  readonly commandId: string;
  readonly type: CommandType;
  readonly accountId: string;
  /** Positive whole minor units. */
  readonly amount: number;
  /** The account version the sender saw (0 for an account without events); any other is rejected. */
  readonly expectedVersion: number;
}

/** A fact, keyed by `accountId` on the events topic: the source of truth. */
export interface AccountEvent {
  readonly type: EventType;
  readonly accountId: string;
  readonly amount: number;
  /** The account's version after this event: 1 for its first event, then one more each time. */
  readonly version: number;
  /** The command that caused it. */
  readonly commandId: string;
}

export type RejectionReason =
  /** `expectedVersion` is below the account's version: the sender decided on an old state. */
  | 'stale-version'
  /** `expectedVersion` is above the account's version: no such state has existed yet. */
  | 'future-version'
  /** A withdrawal larger than the balance. */
  | 'insufficient-funds'
  /** Not a positive whole number of minor units. */
  | 'invalid-amount'
  /** The record's key is not the command's `accountId`: it may sit on another account's partition. */
  | 'key-mismatch';

/** The answer to a command, keyed by `commandId` on the results topic; a resend gets the same one. */
export type CommandResult =
  | {
      readonly commandId: string;
      readonly accountId: string;
      readonly accepted: true;
      /** The version the command's event gave the account. */
      readonly version: number;
      readonly balance: number;
    }
  | {
      readonly commandId: string;
      readonly accountId: string;
      readonly accepted: false;
      readonly reason: RejectionReason;
      /** The account's version when the command was refused. */
      readonly version: number;
      readonly balance: number;
    };

/** An account as a fold of its events. */
export interface AccountState {
  readonly balance: number;
  /** The number of events applied: the `version` of the last one, 0 for none. */
  readonly version: number;
}

export const EMPTY_ACCOUNT: AccountState = { balance: 0, version: 0 };

/** Where the events of one partition are read from; `offset` is the next offset to read. */
export interface EventPosition {
  readonly partition: number;
  readonly offset: string;
}

/**
 * An account's state as of one of its events, keyed by `accountId` on the compacted snapshots
 * topic, in the partition of the account's events.
 */
export interface AccountSnapshot extends AccountState {
  readonly accountId: string;
  /** Just after the last event this snapshot holds. */
  readonly position: EventPosition;
  /**
   * Where a replay of this events partition starts when it begins from the snapshots: every
   * account of the partition has a snapshot holding all of its events before this offset. The
   * latest snapshot of a partition carries the latest one.
   */
  readonly replayFrom: string;
}

export type Decision =
  | { readonly accepted: true; readonly event: AccountEvent; readonly state: AccountState }
  | { readonly accepted: false; readonly reason: RejectionReason };

/** The one place where a command becomes an event or a rejection. */
export function decide(state: AccountState, command: AccountCommand): Decision {
  // The version first: a sender who decided on an old state learns that, whatever else is wrong.
  if (command.expectedVersion < state.version) return { accepted: false, reason: 'stale-version' };
  if (command.expectedVersion !== state.version) return { accepted: false, reason: 'future-version' };
  if (!Number.isSafeInteger(command.amount) || command.amount <= 0)
    return { accepted: false, reason: 'invalid-amount' };
  if (command.type === 'Withdraw' && command.amount > state.balance)
    return { accepted: false, reason: 'insufficient-funds' };
  const event: AccountEvent = {
    type: command.type === 'Deposit' ? 'Deposited' : 'Withdrawn',
    accountId: command.accountId,
    amount: command.amount,
    version: state.version + 1,
    commandId: command.commandId,
  };
  return { accepted: true, event, state: evolve(state, event) };
}

/** The one place where an event changes an account. */
export function evolve(state: AccountState, event: AccountEvent): AccountState {
  return {
    balance: event.type === 'Deposited' ? state.balance + event.amount : state.balance - event.amount,
    version: event.version,
  };
}

/**
 * Applies an event to a fold that may have seen it already: one at or below the state's version
 * is skipped (a redelivery, or an event a snapshot already holds); a version gap means events
 * are missing, which no fold can repair.
 */
export function applyInOrder(state: AccountState, event: AccountEvent): AccountState | 'seen' {
  if (event.version <= state.version) return 'seen';
  if (event.version !== state.version + 1)
    throw new EventGapError(
      `Account "${event.accountId}" is at version ${state.version} but its next event has version ${event.version}: events ${state.version + 1}..${event.version - 1} are missing from the events topic (deleted by retention, or written by another writer)`,
    );
  return evolve(state, event);
}

/** An account's events are not contiguous: its balance cannot be rebuilt from them. */
export class EventGapError extends Error {
  override readonly name = 'EventGapError';
}

const COMMAND_TYPES: ReadonlySet<string> = new Set<CommandType>(['Deposit', 'Withdraw']);

/**
 * Checks a command read from bytes at the boundary. A command without an id cannot be answered:
 * it throws (and goes to the dead-letter topic); a wrong amount is a rejection with a reason.
 */
export function assertCommand(value: unknown): asserts value is AccountCommand {
  const c = value as Partial<Record<keyof AccountCommand, unknown>> | null;
  const problem =
    typeof c !== 'object' || c === null
      ? 'it is not a JSON object'
      : typeof c.commandId !== 'string' || c.commandId === ''
        ? 'commandId must be a non-empty string'
        : typeof c.accountId !== 'string' || c.accountId === ''
          ? 'accountId must be a non-empty string'
          : typeof c.type !== 'string' || !COMMAND_TYPES.has(c.type)
            ? `type must be "Deposit" or "Withdraw", got ${JSON.stringify(c.type)}`
            : typeof c.amount !== 'number'
              ? 'amount must be a number'
              : !Number.isSafeInteger(c.expectedVersion) || (c.expectedVersion as number) < 0
                ? `expectedVersion must be a whole number of at least 0, got ${JSON.stringify(c.expectedVersion)}`
                : undefined;
  if (problem !== undefined) throw new InvalidCommandError(`Not an account command: ${problem}`);
}

export class InvalidCommandError extends Error {
  override readonly name = 'InvalidCommandError';
}
