/**
 * The four processors of a foreign-key table join (Kafka Streams' KIP-213 design):
 *
 * - left side, on a left update: subscribe the row to its foreign key (and unsubscribe it from the
 *   one it left), through a topic keyed by the foreign key;
 * - right side, on a subscription: store it, answer with the right row's current value;
 * - right side, on a right update: answer every left row subscribed to that key;
 * - left side, on an answer: join it with the left row, unless the row has changed since it asked.
 *
 * A left row without a foreign key, or deleted, needs no answer: its result (the row joined with
 * null, or a deletion) is produced on the left side at once.
 */
import type { ProcessorContext, ProcessorSupplier } from '../../processor/api/processor.ts';
import type { Serde } from '../../serdes/serde.ts';
import type { KeyValueStore } from '../../state/key-value-store.ts';
import type { ValueAndTimestamp } from '../../state/value-and-timestamp.ts';
import type { Change } from '../change.ts';
import {
  combinedKey,
  combinedKeyPrefix,
  leftKeyOf,
  type StoredSubscription,
  type Subscription,
  SubscriptionInstruction,
  type SubscriptionResponse,
  valueHash,
} from './fk-join-wire.ts';
import type { TableValueGetter, TableValueGetterSupplier } from './table-value-getter.ts';

export type ForeignKeyJoinKind = 'inner' | 'left';

type SubscriptionStore = KeyValueStore<Buffer, ValueAndTimestamp<StoredSubscription>>;

function bytesEqual(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

function presentOrNull<T>(value: T | null | undefined): T | null {
  return value === undefined ? null : value;
}

export interface SubscriptionSendOptions<K, V, KO, VO, VR> {
  readonly kind: ForeignKeyJoinKind;
  readonly foreignKeyExtractor: (value: V, key: K) => KO | null | undefined;
  readonly joiner: (value: V, rightValue: VO | null) => VR;
  readonly leftKeySerde: Serde<K>;
  readonly leftValueSerde: Serde<V>;
  readonly foreignKeySerde: Serde<KO>;
  /** The registration topic as written: its resolved name is the serde topic of keys and hashes. */
  readonly registrationTopic: string;
  readonly registrationSink: string;
  readonly resultNode: string;
}

/** Left side: turns each left update into subscriptions, or into a result when no answer is needed. */
export function subscriptionSendProcessor<K, V, KO, VO, VR>(
  o: SubscriptionSendOptions<K, V, KO, VO, VR>,
): ProcessorSupplier<K, Change<V>, unknown, unknown> {
  return () => {
    let ctx: ProcessorContext<unknown, unknown>;
    let topic: string;
    const fkBytes = (fk: KO | null): Buffer | null =>
      fk === null ? null : o.foreignKeySerde.serialize(topic, fk);
    return {
      init(c) {
        ctx = c;
        topic = `${c.applicationId}-${o.registrationTopic}`;
      },
      process(r) {
        const { newValue, oldValue } = r.value;
        if (newValue === null && oldValue === null) return;
        const oldFk = oldValue === null ? null : presentOrNull(o.foreignKeyExtractor(oldValue, r.key));
        const newFk = newValue === null ? null : presentOrNull(o.foreignKeyExtractor(newValue, r.key));
        const fkChanged = !bytesEqual(fkBytes(oldFk), fkBytes(newFk));
        let subscription: Omit<Subscription, 'instruction'> | undefined;
        const send = (fk: KO, instruction: SubscriptionInstruction) => {
          subscription ??= {
            hash: valueHash(newValue === null ? null : o.leftValueSerde.serialize(topic, newValue)),
            leftKey: o.leftKeySerde.serialize(topic, r.key)!,
            leftPartition: ctx.partition,
          };
          ctx.forward(
            { key: fk, value: { ...subscription, instruction }, timestamp: r.timestamp, headers: r.headers },
            o.registrationSink,
          );
        };
        if (oldFk !== null && fkChanged) {
          // An inner join's retraction goes through the foreign side, as Kafka Streams' does, and
          // so carries the later of the two timestamps; a left join answers at once with its own.
          const respond = newFk === null && o.kind === 'inner';
          send(
            oldFk,
            respond ? SubscriptionInstruction.UnsubscribeAndRespond : SubscriptionInstruction.Unsubscribe,
          );
          if (respond) return;
        }
        if (newFk !== null) {
          // An inner join whose foreign key did not change had no result if the right row is
          // missing, so only a found row is worth an answer; anything else may need to retract
          // or replace a result.
          const onlyIfFound = o.kind === 'inner' && (oldFk === null || !fkChanged);
          send(
            newFk,
            onlyIfFound ? SubscriptionInstruction.RespondIfFound : SubscriptionInstruction.RespondAlways,
          );
          return;
        }
        // Deleted, or no foreign key: a left join keeps the row with null, an inner join drops it.
        // An answer still in flight for an earlier value is dropped on arrival (its hash differs).
        const result = newValue !== null && o.kind === 'left' ? o.joiner(newValue, null) : null;
        ctx.forward({ key: r.key, value: result, timestamp: r.timestamp, headers: r.headers }, o.resultNode);
      },
    };
  };
}

/** Right side: keeps each subscription and answers it with the right row's current value. */
export function subscriptionReceiveProcessor<KO, VO>(
  storeName: string,
  right: TableValueGetterSupplier<KO, VO>,
  foreignKeySerde: Serde<KO>,
  registrationTopic: string,
): ProcessorSupplier<KO, Subscription, Buffer, SubscriptionResponse<VO>> {
  return () => {
    let ctx: ProcessorContext<Buffer, SubscriptionResponse<VO>>;
    let store: SubscriptionStore;
    let getter: TableValueGetter<KO, VO>;
    let topic: string;
    return {
      init(c) {
        ctx = c;
        store = c.getStateStore(storeName);
        getter = right.init(c);
        topic = `${c.applicationId}-${registrationTopic}`;
      },
      process(r) {
        const s = r.value;
        if (r.key === null || r.key === undefined || s === null || s === undefined) return;
        const key = combinedKey(foreignKeySerde.serialize(topic, r.key)!, s.leftKey);
        if (s.instruction === SubscriptionInstruction.Unsubscribe) {
          store.delete(key);
          return;
        }
        if (s.instruction === SubscriptionInstruction.UnsubscribeAndRespond) {
          store.delete(key);
          const row = getter.get(r.key);
          ctx.forward({
            key: s.leftKey,
            value: { hash: s.hash, rightValue: null, leftPartition: s.leftPartition },
            timestamp: row === undefined ? r.timestamp : Math.max(r.timestamp, row.timestamp),
            headers: r.headers,
          });
          return;
        }
        store.put(key, { value: { hash: s.hash, leftPartition: s.leftPartition }, timestamp: r.timestamp });
        const found = getter.get(r.key);
        if (found === undefined && s.instruction === SubscriptionInstruction.RespondIfFound) return;
        ctx.forward({
          key: s.leftKey,
          value: { hash: s.hash, rightValue: found?.value ?? null, leftPartition: s.leftPartition },
          timestamp: found === undefined ? r.timestamp : Math.max(r.timestamp, found.timestamp),
          headers: r.headers,
        });
      },
    };
  };
}

/** Right side: a right update answers every left row subscribed to its key. */
export function foreignTableJoinProcessor<KO, VO>(
  storeName: string,
  foreignKeySerde: Serde<KO>,
  registrationTopic: string,
): ProcessorSupplier<KO, Change<VO>, Buffer, SubscriptionResponse<VO>> {
  return () => {
    let ctx: ProcessorContext<Buffer, SubscriptionResponse<VO>>;
    let store: SubscriptionStore;
    let topic: string;
    const identity = { serialize: (_topic: string, b: Buffer | null) => b };
    return {
      init(c) {
        ctx = c;
        store = c.getStateStore(storeName);
        topic = `${c.applicationId}-${registrationTopic}`;
      },
      process(r) {
        if (r.key === null || r.key === undefined) return;
        const { newValue, oldValue } = r.value;
        if (newValue === null && oldValue === null) return;
        const prefix = combinedKeyPrefix(foreignKeySerde.serialize(topic, r.key)!);
        for (const { key, value } of store.prefixScan(prefix, identity)) {
          ctx.forward({
            key: leftKeyOf(key),
            value: { hash: value.value.hash, rightValue: newValue, leftPartition: value.value.leftPartition },
            timestamp: r.timestamp,
            headers: r.headers,
          });
        }
      },
    };
  };
}

/**
 * Left side: joins an answer with the left row, if the row still has the value that asked. A
 * row that changed since has asked again, and only the answer to that newer question counts.
 */
export function responseJoinProcessor<K, V, VO, VR>(
  kind: ForeignKeyJoinKind,
  left: TableValueGetterSupplier<K, V>,
  leftValueSerde: Serde<V>,
  registrationTopic: string,
  joiner: (value: V, rightValue: VO | null) => VR,
): ProcessorSupplier<K, SubscriptionResponse<VO>, K, VR | null> {
  return () => {
    let ctx: ProcessorContext<K, VR | null>;
    let getter: TableValueGetter<K, V>;
    let topic: string;
    return {
      init(c) {
        ctx = c;
        getter = left.init(c);
        topic = `${c.applicationId}-${registrationTopic}`;
      },
      process(r) {
        const response = r.value;
        if (response === null || response === undefined) return;
        const current = getter.get(r.key);
        if (current === undefined) {
          // The row was deleted: the answer to that delete (and only it) retracts the result.
          if (valueHash(null).equals(response.hash))
            ctx.forward({ key: r.key, value: null, timestamp: r.timestamp, headers: r.headers });
          return;
        }
        if (!valueHash(leftValueSerde.serialize(topic, current.value)).equals(response.hash)) return;
        const result =
          response.rightValue === null && kind === 'inner'
            ? null
            : joiner(current.value, response.rightValue);
        ctx.forward({ key: r.key, value: result, timestamp: r.timestamp, headers: r.headers });
      },
    };
  };
}
