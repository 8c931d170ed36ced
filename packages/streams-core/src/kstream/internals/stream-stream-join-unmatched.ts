/**
 * The records of a left or outer stream-stream join that have found no match yet. Both sides'
 * join nodes of a task share one store of them, ordered by (timestamp, side, key), and one stream
 * time: a record waits there until a match removes it or until its window closes in the stream
 * time of either side, and is then emitted joined with null, never before a match could still
 * arrive. The byte layout of the store, the shared time and the emission are one module because
 * the emission's early stop depends on the scan meeting the oldest records first.
 */

import type { KeyValueBytesStore } from '@kafka-pattern/state-store';
import type { Headers } from '../../processor/api/headers.ts';
import type { ProcessorContext } from '../../processor/api/processor.ts';
import type { Serde } from '../../serdes/serde.ts';
import type { StoreBuilder, StoreContext, StoreSpec } from '../../state/store-builder.ts';
import { TypedStoreBuilder } from '../../state/typed-store-builder.ts';
import type { JoinWindows } from '../windows/join-windows.ts';

/** One record waiting in the shared store for a match or for its window to close. */
export interface Pending<K> {
  readonly keyBytes: Buffer;
  readonly key: K;
  readonly timestamp: number;
  readonly isLeft: boolean;
  readonly values: Buffer[];
}

/**
 * The shared store of unmatched left/outer records. Key: 8-byte big-endian timestamp, 1 byte side
 * (1 = left, 0 = right), the key's bytes; so a scan meets the oldest records first. Value: every
 * record with that key, as 4-byte length-prefixed values, oldest first.
 */
export class OuterJoinStore<K, VL, VR> {
  readonly name: string;
  readonly inner: KeyValueBytesStore;
  readonly #keySerde: Serde<K>;
  readonly #leftSerde: Serde<VL>;
  readonly #rightSerde: Serde<VR>;
  readonly #topic: string;

  constructor(
    name: string,
    inner: KeyValueBytesStore,
    keySerde: Serde<K>,
    leftSerde: Serde<VL>,
    rightSerde: Serde<VR>,
    topic: string,
  ) {
    this.name = name;
    this.inner = inner;
    this.#keySerde = keySerde;
    this.#leftSerde = leftSerde;
    this.#rightSerde = rightSerde;
    this.#topic = topic;
  }

  #storeKey(key: K, timestamp: number, isLeft: boolean): Buffer {
    const keyBytes = this.#keySerde.serialize(this.#topic, key);
    if (keyBytes === null) throw new Error(`Join store "${this.name}" cannot hold a null key`);
    const out = Buffer.allocUnsafe(9 + keyBytes.length);
    out.writeBigInt64BE(BigInt(timestamp), 0);
    out.writeUInt8(isLeft ? 1 : 0, 8);
    keyBytes.copy(out, 9);
    return out;
  }

  add(key: K, timestamp: number, isLeft: boolean, value: VL | VR): void {
    const storeKey = this.#storeKey(key, timestamp, isLeft);
    const bytes = isLeft
      ? this.#leftSerde.serialize(this.#topic, value as VL)
      : this.#rightSerde.serialize(this.#topic, value as VR);
    if (bytes === null) return;
    const existing = this.inner.get(storeKey);
    const entry = Buffer.allocUnsafe(4 + bytes.length);
    entry.writeUInt32BE(bytes.length, 0);
    bytes.copy(entry, 4);
    this.inner.put(storeKey, existing ? Buffer.concat([existing, entry]) : entry);
  }

  /** A match arrived: the other side's records at that timestamp are no longer unmatched. */
  removeIfPresent(key: K, timestamp: number, isLeft: boolean): void {
    const storeKey = this.#storeKey(key, timestamp, isLeft);
    if (this.inner.get(storeKey) !== undefined) this.inner.delete(storeKey);
  }

  *scan(): Generator<Pending<K>> {
    for (const e of this.inner.all()) {
      const timestamp = Number(e.key.readBigInt64BE(0));
      const isLeft = e.key.readUInt8(8) === 1;
      const key = this.#keySerde.deserialize(this.#topic, e.key.subarray(9)) as K;
      const values: Buffer[] = [];
      for (let at = 0; at < e.value.length; ) {
        const length = e.value.readUInt32BE(at);
        values.push(e.value.subarray(at + 4, at + 4 + length));
        at += 4 + length;
      }
      yield { keyBytes: Buffer.from(e.key), key, timestamp, isLeft, values };
    }
  }

  leftValue(bytes: Buffer): VL {
    return this.#leftSerde.deserialize(this.#topic, bytes) as VL;
  }

  rightValue(bytes: Buffer): VR {
    return this.#rightSerde.deserialize(this.#topic, bytes) as VR;
  }

  delete(keyBytes: Buffer): void {
    this.inner.delete(keyBytes);
  }
}

/** Without value serdes of its own, both sides' values use the application's default value serde. */
export function outerJoinStoreBuilder<K, VL, VR>(
  name: string,
  keySerde: Serde<K> | undefined,
  leftSerde: Serde<VL> | undefined,
  rightSerde: Serde<VR> | undefined,
): StoreBuilder<OuterJoinStore<K, VL, VR>> {
  const spec: StoreSpec = {
    name,
    kind: 'keyValue',
    persistent: true,
    logging: true,
    changelogConfig: {},
    caching: false,
  };
  return new TypedStoreBuilder(
    spec,
    keySerde as Serde<K>,
    leftSerde as Serde<VL>,
    (ctx: StoreContext, s, k, l) =>
      new OuterJoinStore(
        s.name,
        ctx.keyValueBytesStore(s),
        k,
        l,
        rightSerde ?? (l as unknown as Serde<VR>),
        ctx.serdeTopic(s.name),
      ),
  );
}

/** Stream time and the oldest pending record, shared by both sides' join nodes of one task. */
export interface JoinTimeTracker {
  streamTime: number;
  minTime: number;
}

/** Keyed by the task's shared store instance, which both sides' nodes of one task see. */
const trackers = new WeakMap<object, JoinTimeTracker>();

/** The tracker of the store's task: the first side to open the store registers its own. */
export function sharedTimeTracker(
  store: OuterJoinStore<any, any, any>,
  own: JoinTimeTracker,
): JoinTimeTracker {
  const shared = trackers.get(store);
  if (shared) return shared;
  trackers.set(store, own);
  return own;
}

/**
 * One join node's view of the unmatched records: it holds this side's records that found no
 * match, removes the other side's records it matches, and emits whatever has become due.
 * `joiner` is oriented as (this side, other side), as the node's own.
 */
export class UnmatchedRecords<K, VThis, VOther, VR> {
  readonly #ctx: ProcessorContext<K, VR>;
  readonly #store: OuterJoinStore<K, any, any>;
  readonly #tracker: JoinTimeTracker;
  readonly #windows: JoinWindows;
  readonly #thisIsLeft: boolean;
  readonly #joinAfterMs: number;
  readonly #joiner: (thisValue: VThis | null, otherValue: VOther | null, key: K) => VR;

  constructor(
    ctx: ProcessorContext<K, VR>,
    store: OuterJoinStore<K, any, any>,
    tracker: JoinTimeTracker,
    windows: JoinWindows,
    thisIsLeft: boolean,
    joiner: (thisValue: VThis | null, otherValue: VOther | null, key: K) => VR,
  ) {
    this.#ctx = ctx;
    this.#store = store;
    this.#tracker = tracker;
    this.#windows = windows;
    this.#thisIsLeft = thisIsLeft;
    this.#joinAfterMs = thisIsLeft ? windows.afterMs : windows.beforeMs;
    this.#joiner = joiner;
  }

  /** This side's record found no match but still may: it waits. */
  hold(key: K, timestamp: number, value: VThis): void {
    this.#tracker.minTime = Math.min(this.#tracker.minTime, timestamp);
    this.#store.add(key, timestamp, this.#thisIsLeft, value);
  }

  /** A match arrived: the other side's records at that timestamp are no longer unmatched. */
  matched(key: K, otherTimestamp: number): void {
    this.#store.removeIfPresent(key, otherTimestamp, !this.#thisIsLeft);
  }

  /** Whether a pending record may still find a match: its window plus grace is not yet past. */
  #windowOpen(p: Pending<K>): boolean {
    const lookBack = p.isLeft ? this.#windows.afterMs : this.#windows.beforeMs;
    return this.#tracker.minTime + lookBack + this.#windows.graceMs >= this.#tracker.streamTime;
  }

  /** Emits, joined with null, every pending record whose window has closed; all with `headers`. */
  emitClosed(headers: Headers): void {
    const store = this.#store;
    const tracker = this.#tracker;
    // Nothing can be due while the oldest pending record's window is open (Kafka Streams' shortcut).
    if (
      tracker.minTime !== Number.POSITIVE_INFINITY &&
      tracker.minTime + this.#joinAfterMs + this.#windows.graceMs >= tracker.streamTime
    )
      return;
    tracker.minTime = Number.POSITIVE_INFINITY;
    const due: Pending<K>[] = [];
    let leftOpen = false;
    let rightOpen = false;
    for (const p of store.scan()) {
      tracker.minTime = p.timestamp;
      if (leftOpen && rightOpen) break;
      if (this.#windowOpen(p)) {
        if (p.isLeft) leftOpen = true;
        else rightOpen = true;
        // Kafka Streams visits each value of a key as an entry of its own: the next value of this
        // key meets the stop with minTime still at this timestamp, not at the next key's.
        if (leftOpen && rightOpen && p.values.length > 1) break;
        continue;
      }
      due.push(p);
    }
    const joiner = this.#joiner;
    for (const p of due) {
      for (const bytes of p.values) {
        // The pending record's own side is "this" when it is on the same side as this node.
        const value = p.isLeft ? store.leftValue(bytes) : store.rightValue(bytes);
        const result =
          p.isLeft === this.#thisIsLeft
            ? joiner(value as VThis, null, p.key)
            : joiner(null, value as VOther, p.key);
        this.#ctx.forward({ key: p.key, value: result, timestamp: p.timestamp, headers });
      }
      store.delete(p.keyBytes);
    }
  }
}
