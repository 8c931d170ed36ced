/**
 * The read side: the account balances as a fold of the events topic, in a changelogged store
 * that interactive queries read, and the snapshots that bound a replay.
 *
 * Every `snapshotEvery` events of an account, its state goes to the compacted snapshots topic
 * with the events-topic position just after its last event. A replay from the snapshots must
 * still read every event no snapshot holds, so each snapshot also carries `replayFrom`: the
 * offset of the oldest event of this partition that no snapshot holds yet. An account that goes
 * quiet with a few events short of its next snapshot would hold `replayFrom` back for good; so an
 * account whose oldest unsnapshotted event falls more than `maxEventsBehind` offsets behind the
 * partition's newest event is snapshotted early. A replay from the snapshots thus reads at most
 * about `maxEventsBehind` events per partition, whatever the history's length.
 *
 * Positions come from the record's own offset, which only a reader of the events topic knows:
 * that is why the snapshots are written here and not by the command handler.
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
import { type AccountEvent, type AccountSnapshot, type AccountState, applyInOrder } from './ledger.ts';

/** An account as the view holds it: the fold, and what its next snapshot needs. */
export interface AccountView extends AccountState {
  /** The version its latest snapshot holds (0: none yet). */
  readonly snapshotVersion: number;
  /** Just after its last event. */
  readonly nextOffset: string;
  /** Its oldest event no snapshot holds, or null when the latest snapshot holds them all. */
  readonly pendingFrom: string | null;
}

export interface BalanceViewNames {
  events: string;
  snapshots: string;
  /** accountId -> AccountView: the queryable view. */
  balancesStore: string;
  snapshotEvery: number;
  maxEventsBehind: number;
}

/** Topic configs of the snapshots topic: only each account's latest snapshot matters. */
export const SNAPSHOTS_TOPIC_CONFIGS: Readonly<Record<string, string>> = {
  'cleanup.policy': 'compact',
  'min.compaction.lag.ms': '0',
  'segment.ms': '600000',
};

export function balanceViewTopology(names: BalanceViewNames): Topology {
  const builder = new StreamsBuilder();
  builder.addStateStore(
    Stores.keyValueStoreBuilder(
      Stores.persistentKeyValueStore(names.balancesStore),
      Serdes.String(),
      Serdes.JSON<AccountView>(),
    ),
  );
  builder.addTopic(names.snapshots, { partitionsOf: names.events, configs: SNAPSHOTS_TOPIC_CONFIGS });
  builder
    .stream(names.events, { key: Serdes.String(), value: Serdes.JSON<AccountEvent>(), name: 'ledger-events' })
    .process(() => new ViewProcessor(names), { name: 'ledger-fold' }, names.balancesStore)
    .to(names.snapshots, {
      key: Serdes.String(),
      value: Serdes.JSON<AccountSnapshot>(),
      // Beside the account's events, whatever the key hashes to: a replay of events partition N
      // reads snapshots partition N only.
      partitioner: (_topic, _key, snapshot) => snapshot.position.partition,
      name: 'ledger-snapshots',
    });
  return builder.build();
}

class ViewProcessor implements Processor<string, AccountEvent, string, AccountSnapshot> {
  #ctx!: ProcessorContext<string, AccountSnapshot>;
  #store!: KeyValueStore<string, AccountView>;
  /** Accounts with unsnapshotted events, oldest first (a Map keeps insertion order). */
  readonly #pending = new Map<string, bigint>();
  readonly #every: number;
  readonly #behind: bigint;
  readonly #storeName: string;

  constructor(names: BalanceViewNames) {
    this.#every = names.snapshotEvery;
    this.#behind = BigInt(names.maxEventsBehind);
    this.#storeName = names.balancesStore;
  }

  init(context: ProcessorContext<string, AccountSnapshot>): void {
    this.#ctx = context;
    this.#store = context.getStateStore(this.#storeName);
    // After a restart or a move to this instance: the order is rebuilt from the restored store.
    const pending = this.#store
      .all()
      .filter((e) => e.value.pendingFrom !== null)
      .map((e) => [e.key, BigInt(e.value.pendingFrom!)] as const)
      .sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    for (const [account, from] of pending) this.#pending.set(account, from);
  }

  process(record: StreamRecord<string, AccountEvent>): void {
    const event = record.value;
    const { offset, partition } = this.#ctx.recordMetadata()!;
    const before = this.#store.get(event.accountId) ?? {
      balance: 0,
      version: 0,
      snapshotVersion: 0,
      nextOffset: '0',
      pendingFrom: null,
    };
    const state = applyInOrder(before, event);
    if (state === 'seen') return; // redelivered after a crash under at_least_once: applied already
    const next = offset + 1n;
    const entry: AccountView = {
      ...state,
      snapshotVersion: before.snapshotVersion,
      nextOffset: next.toString(),
      pendingFrom: before.pendingFrom ?? offset.toString(),
    };
    if (before.pendingFrom === null) this.#pending.set(event.accountId, offset);

    const due: Array<[string, AccountView]> = [];
    if (entry.version - entry.snapshotVersion >= this.#every) due.push([event.accountId, entry]);
    else this.#store.put(event.accountId, entry);
    for (const [account, from] of this.#pending) {
      if (offset - from <= this.#behind) break;
      if (account !== event.accountId) due.push([account, this.#store.get(account)!]);
      else if (due.length === 0 || due[0]![0] !== account) due.push([account, entry]);
    }
    if (due.length === 0) return;

    for (const [account] of due) this.#pending.delete(account);
    const first = this.#pending.values().next();
    const replayFrom = (first.done ? next : first.value).toString();
    for (const [account, view] of due) {
      this.#store.put(account, { ...view, snapshotVersion: view.version, pendingFrom: null });
      this.#ctx.forward({
        key: account,
        value: {
          accountId: account,
          balance: view.balance,
          version: view.version,
          position: { partition, offset: view.nextOffset },
          replayFrom,
        },
        timestamp: record.timestamp,
        headers: record.headers,
      });
    }
  }
}
