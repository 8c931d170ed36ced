/**
 * The write side: commands in, events and results out. One task owns each commands partition,
 * and the commands of an account are keyed by its id, so one processor instance at a time
 * decides for an account (the single writer), in offset order, against the account's state in
 * a changelogged store. Under exactly_once_v2 the store updates, the events, the results and
 * the command offsets commit in one Kafka transaction: a crash leaves all of them or none.
 */
import {
  type KeyValueStore,
  type Processor,
  type ProcessorContext,
  Serdes,
  Stores,
  type StreamRecord,
  StreamsBuilder,
  type Topology,
} from '@kafka-pattern/streams-core';
import {
  type AccountCommand,
  type AccountEvent,
  type AccountState,
  assertCommand,
  type CommandResult,
  decide,
  EMPTY_ACCOUNT,
} from './ledger.ts';

export interface CommandHandlerNames {
  commands: string;
  events: string;
  results: string;
  /** accountId -> { balance, version }: the state commands are decided against. */
  accountsStore: string;
  /** commandId -> its result: how a resent command is answered the same and applied once. */
  resultsStore: string;
}

/** Topic configs of the events topic: nothing is ever deleted from it. */
export const EVENTS_TOPIC_CONFIGS: Readonly<Record<string, string>> = {
  'cleanup.policy': 'delete',
  'retention.ms': '-1',
  'retention.bytes': '-1',
};

type Output =
  | { readonly kind: 'event'; readonly event: AccountEvent }
  | { readonly kind: 'result'; readonly result: CommandResult };

export function commandHandlerTopology(names: CommandHandlerNames): Topology {
  const builder = new StreamsBuilder();
  builder.addStateStore(
    Stores.keyValueStoreBuilder(
      Stores.persistentKeyValueStore(names.accountsStore),
      Serdes.String(),
      Serdes.JSON<AccountState>(),
    ),
  );
  builder.addStateStore(
    Stores.keyValueStoreBuilder(
      Stores.persistentKeyValueStore(names.resultsStore),
      Serdes.String(),
      Serdes.JSON<CommandResult>(),
    ),
  );
  // Events and results get the commands topic's partition count: an account's events land in
  // the partition number of its commands, which the snapshots follow.
  // The events are the source of truth: they are kept for good, never deleted by age or size.
  builder.addTopic(names.events, { partitionsOf: names.commands, configs: EVENTS_TOPIC_CONFIGS });
  builder.addTopic(names.results, { partitionsOf: names.commands });

  const outputs = builder
    .stream(names.commands, {
      key: Serdes.String(),
      value: Serdes.JSON<AccountCommand>(),
      name: 'ledger-commands',
    })
    .process(
      () => new CommandProcessor(names.accountsStore, names.resultsStore),
      { name: 'ledger-decide' },
      names.accountsStore,
      names.resultsStore,
    );
  const { events, results } = outputs.split(
    { events: (_k, o) => o.kind === 'event', results: () => true },
    { name: 'ledger-outputs' },
  );
  events
    .mapValues((o) => (o as Extract<Output, { kind: 'event' }>).event, { name: 'ledger-event' })
    .to(names.events, { key: Serdes.String(), value: Serdes.JSON<AccountEvent>(), name: 'ledger-events' });
  results
    .mapValues((o) => (o as Extract<Output, { kind: 'result' }>).result, { name: 'ledger-result' })
    .to(names.results, {
      key: Serdes.String(),
      value: Serdes.JSON<CommandResult>(),
      name: 'ledger-results',
    });
  return builder.build();
}

class CommandProcessor implements Processor<string, AccountCommand, string, Output> {
  #ctx!: ProcessorContext<string, Output>;
  #accounts!: KeyValueStore<string, AccountState>;
  #results!: KeyValueStore<string, CommandResult>;

  readonly #accountsStore: string;
  readonly #resultsStore: string;

  constructor(accountsStore: string, resultsStore: string) {
    this.#accountsStore = accountsStore;
    this.#resultsStore = resultsStore;
  }

  init(context: ProcessorContext<string, Output>): void {
    this.#ctx = context;
    this.#accounts = context.getStateStore(this.#accountsStore);
    this.#results = context.getStateStore(this.#resultsStore);
  }

  process(record: StreamRecord<string, AccountCommand>): void {
    const command: unknown = record.value;
    assertCommand(command);
    const answer = (result: CommandResult) =>
      this.#ctx.forward({ ...record, key: result.commandId, value: { kind: 'result', result } });

    const earlier = this.#results.get(command.commandId);
    if (earlier !== undefined) {
      answer(earlier);
      return;
    }

    const state = this.#accounts.get(command.accountId) ?? EMPTY_ACCOUNT;
    const decision =
      record.key !== command.accountId
        ? ({ accepted: false, reason: 'key-mismatch' } as const)
        : decide(state, command);
    let result: CommandResult;
    if (decision.accepted) {
      this.#accounts.put(command.accountId, decision.state);
      this.#ctx.forward({
        ...record,
        key: command.accountId,
        value: { kind: 'event', event: decision.event },
      });
      result = {
        commandId: command.commandId,
        accountId: command.accountId,
        accepted: true,
        version: decision.state.version,
        balance: decision.state.balance,
      };
    } else {
      result = {
        commandId: command.commandId,
        accountId: command.accountId,
        accepted: false,
        reason: decision.reason,
        version: state.version,
        balance: state.balance,
      };
    }
    this.#results.put(command.commandId, result);
    answer(result);
  }
}
