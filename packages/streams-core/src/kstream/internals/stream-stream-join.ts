/**
 * Stream-stream joins (inner, left, outer) over JoinWindows, as Kafka Streams 3.x/4.x does them.
 *
 * Each side first passes a "windowed" node that buffers its records in a window store (every
 * record kept: retainDuplicates) after forwarding them to that side's join node, which looks up
 * the other side's buffer. Inner results are emitted on each match, with the later of the two
 * timestamps. A left/outer record without a match goes to a store shared by both sides, ordered by
 * (timestamp, side, key), and is emitted joined with null only once its window has closed in
 * stream time (the larger timestamp seen by either side): never spuriously before a match could
 * still arrive. A later match removes it from that store.
 */

import type { KeyValueBytesStore } from '@kafka-pattern/state-store';
import { Headers } from '../../processor/api/headers.ts';
import type { Processor, ProcessorContext, ProcessorSupplier } from '../../processor/api/processor.ts';
import type { StreamRecord } from '../../processor/api/record.ts';
import type { Serde } from '../../serdes/serde.ts';
import type { StoreBuilder, StoreContext, StoreSpec } from '../../state/store-builder.ts';
import { TypedStoreBuilder } from '../../state/typed-store-builder.ts';
import type { WindowStore } from '../../state/window-store.ts';
import { windowBytesStoreSupplier, windowStoreBuilder } from '../../state/window-store.ts';
import { TopologyException } from '../../topology/topology-errors.ts';
import type { JoinWindows } from '../windows/join-windows.ts';
import type { BuilderContext } from './builder-context.ts';
import { countDropped, countLate } from './dropped-records.ts';
import { passThroughProcessor } from './stateless.ts';

export type StreamJoinKind = 'inner' | 'left' | 'outer';

/** Puts each record in its side's buffer after the join node has seen it (a side never joins itself). */
export function joinWindowProcessor<K, V>(storeName: string): ProcessorSupplier<K, V, K, V> {
  return () => {
    let ctx: ProcessorContext<K, V>;
    let store: WindowStore<K, V>;
    return {
      init(c) {
        ctx = c;
        store = c.getStateStore(storeName);
      },
      process(r) {
        ctx.forward(r);
        if (r.key === null || r.key === undefined || r.value === null || r.value === undefined) return;
        if (!store.put(r.key, r.value, r.timestamp)) countLate(ctx);
      },
    };
  };
}

/** One record waiting in the shared store for a match or for its window to close. */
interface Pending<K> {
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
interface TimeTracker {
  streamTime: number;
  minTime: number;
}

/** Keyed by the task's shared store instance, which both sides' nodes of one task see. */
const trackers = new WeakMap<object, TimeTracker>();

export interface JoinSideOptions<K, VThis, VOther, VR> {
  readonly windows: JoinWindows;
  readonly thisIsLeft: boolean;
  /** This side may be emitted without a match (left side of left/outer, right side of outer). */
  readonly outer: boolean;
  readonly otherStoreName: string;
  readonly outerStoreName: string | undefined;
  /** Oriented as (this side, other side); the DSL's joiner is reversed for the right side. */
  readonly joiner: (thisValue: VThis | null, otherValue: VOther | null, key: K) => VR;
}

/**
 * The join node of one side. Kafka Streams throttles the scan for closed windows to once per
 * second of wall-clock time; we scan on every record that advances stream time (as Kafka Streams
 * does with that interval set to 0), so results come as early as the semantics allow.
 */
export function streamJoinSideProcessor<K, VThis, VOther, VR>(
  options: JoinSideOptions<K, VThis, VOther, VR>,
): ProcessorSupplier<K, VThis, K, VR> {
  const { windows, thisIsLeft, outer, joiner } = options;
  // A left record at t joins right records in [t - before, t + after]; the right side looks the other way.
  const joinBeforeMs = thisIsLeft ? windows.beforeMs : windows.afterMs;
  const joinAfterMs = thisIsLeft ? windows.afterMs : windows.beforeMs;
  const graceMs = windows.graceMs;
  return () => {
    let ctx: ProcessorContext<K, VR>;
    let otherStore: WindowStore<K, VOther>;
    let outerStore: OuterJoinStore<K, any, any> | undefined;
    let tracker: TimeTracker = { streamTime: -1, minTime: Number.POSITIVE_INFINITY };

    /** Whether a pending record may still find a match: its window plus grace is not yet past. */
    const windowOpen = (p: Pending<K>): boolean => {
      const lookBack = p.isLeft ? windows.afterMs : windows.beforeMs;
      return tracker.minTime + lookBack + graceMs >= tracker.streamTime;
    };

    const emitClosed = (r: StreamRecord<K, VThis>): void => {
      const store = outerStore!;
      // Nothing can be due while the oldest pending record's window is open (Kafka Streams' shortcut).
      if (
        tracker.minTime !== Number.POSITIVE_INFINITY &&
        tracker.minTime + joinAfterMs + graceMs >= tracker.streamTime
      )
        return;
      tracker.minTime = Number.POSITIVE_INFINITY;
      const due: Pending<K>[] = [];
      let leftOpen = false;
      let rightOpen = false;
      for (const p of store.scan()) {
        tracker.minTime = p.timestamp;
        if (leftOpen && rightOpen) break;
        if (windowOpen(p)) {
          if (p.isLeft) leftOpen = true;
          else rightOpen = true;
          // Kafka Streams visits each value of a key as an entry of its own: the next value of this
          // key meets the stop with minTime still at this timestamp, not at the next key's.
          if (leftOpen && rightOpen && p.values.length > 1) break;
          continue;
        }
        due.push(p);
      }
      for (const p of due) {
        for (const bytes of p.values) {
          // The pending record's own side is "this" when it is on the same side as this node.
          const value = p.isLeft ? store.leftValue(bytes) : store.rightValue(bytes);
          const result =
            p.isLeft === thisIsLeft
              ? joiner(value as VThis, null, p.key)
              : joiner(null, value as VOther, p.key);
          ctx.forward({ key: p.key, value: result, timestamp: p.timestamp, headers: r.headers });
        }
        store.delete(p.keyBytes);
      }
    };

    const p: Processor<K, VThis, K, VR> = {
      init(c) {
        ctx = c;
        otherStore = c.getStateStore(options.otherStoreName);
        if (options.outerStoreName) {
          outerStore = c.getStateStore(options.outerStoreName);
          const shared = trackers.get(outerStore!);
          if (shared) tracker = shared;
          else trackers.set(outerStore!, tracker);
        }
      },
      onStreamTimeAdvance(streamTime) {
        tracker.streamTime = Math.max(tracker.streamTime, streamTime);
        // Unmatched records whose window closed by the advanced time are emitted now, without headers.
        if (outerStore)
          emitClosed({ key: null as K, value: null as VThis, timestamp: streamTime, headers: new Headers() });
      },
      process(r) {
        const t = r.timestamp;
        tracker.streamTime = Math.max(tracker.streamTime, t);
        const keyless = r.key === null || r.key === undefined;
        const valueless = r.value === null || r.value === undefined;
        if (outer && keyless && !valueless) {
          // Without a key there is nothing to join with; left/outer joins keep the record (KIP-962).
          ctx.forward({ key: r.key, value: joiner(r.value, null, r.key), timestamp: t, headers: r.headers });
          return;
        }
        if (keyless || valueless) {
          countDropped(ctx);
          return;
        }
        if (outerStore && t === tracker.streamTime) emitClosed(r);
        const timeFrom = Math.max(0, t - joinBeforeMs);
        const timeTo = Math.max(0, t + joinAfterMs);
        const matches = otherStore.fetch(r.key, timeFrom, timeTo);
        for (const m of matches) {
          outerStore?.removeIfPresent(r.key, m.windowStart, !thisIsLeft);
          ctx.forward({
            key: r.key,
            value: joiner(r.value, m.value, r.key),
            timestamp: Math.max(t, m.windowStart),
            headers: r.headers,
          });
        }
        if (outer && matches.length === 0) {
          // Too old to wait for a match that could still come: emitted at once, as Kafka Streams does.
          if (!outerStore || timeTo < tracker.streamTime) {
            ctx.forward({
              key: r.key,
              value: joiner(r.value, null, r.key),
              timestamp: t,
              headers: r.headers,
            });
          } else {
            tracker.minTime = Math.min(tracker.minTime, t);
            outerStore.add(r.key, t, thisIsLeft, r.value);
          }
        }
      },
    };
    return p;
  };
}

export interface StreamJoinNodes {
  readonly windows: JoinWindows;
  readonly kind: StreamJoinKind;
  readonly leftNode: string;
  readonly rightNode: string;
  readonly keySerde: Serde<any> | undefined;
  readonly leftSerde: Serde<any> | undefined;
  readonly rightSerde: Serde<any> | undefined;
  readonly name: string | undefined;
  readonly storeName: string | undefined;
  readonly joiner: (left: any, right: any, key: any) => any;
}

/** Adds a stream-stream join's nodes and stores; returns the name of the node that emits its results. */
export function addStreamStreamJoin(ctx: BuilderContext, j: StreamJoinNodes): string {
  const { windows, kind } = j;
  if (kind !== 'inner' && (j.leftSerde === undefined) !== (j.rightSerde === undefined)) {
    // The shared store holds both sides' values: one default serde cannot stand for one side only.
    throw new TopologyException(
      `A ${kind} stream-stream join keeps unmatched records of both sides in one store and needs both value serdes: pass { value, otherValue } as its last argument`,
    );
  }
  const leftOuter = kind !== 'inner';
  const rightOuter = kind === 'outer';
  const named = (suffix: string) => (j.name ? `${j.name}${suffix}` : undefined);
  const leftWindowed = ctx.name(named('-this-windowed'), 'KSTREAM-WINDOWED', j.leftNode);
  const rightWindowed = ctx.name(named('-other-windowed'), 'KSTREAM-WINDOWED', j.rightNode);
  const thisSuffix = rightOuter ? '-outer-this-join' : '-this-join';
  const otherSuffix = leftOuter ? '-outer-other-join' : '-other-join';
  const joinThis = ctx.name(
    named(thisSuffix),
    rightOuter ? 'KSTREAM-OUTERTHIS' : 'KSTREAM-JOINTHIS',
    leftWindowed,
  );
  const joinOther = ctx.name(
    named(otherSuffix),
    leftOuter ? 'KSTREAM-OUTEROTHER' : 'KSTREAM-JOINOTHER',
    rightWindowed,
  );
  const storeBase = (suffix: string, generated: string) =>
    ctx.names.claim(j.storeName ? `${j.storeName}${suffix}-store` : `${generated}-store`);
  const leftStore = storeBase(thisSuffix, joinThis);
  const rightStore = storeBase(otherSuffix, joinOther);
  // Kafka Streams keeps each side for the window size plus grace; what is older can no longer join.
  const retentionMs = windows.size() + windows.graceMs;
  const windowStore = (name: string, valueSerde: Serde<any> | undefined) =>
    windowStoreBuilder(
      windowBytesStoreSupplier(name, true, retentionMs, windows.size(), true),
      j.keySerde as Serde<any>,
      valueSerde as Serde<any>,
    );
  ctx.topology.addProcessor(leftWindowed, joinWindowProcessor(leftStore), j.leftNode);
  ctx.topology.addProcessor(rightWindowed, joinWindowProcessor(rightStore), j.rightNode);
  ctx.topology.addStateStore(windowStore(leftStore, j.leftSerde), leftWindowed);
  ctx.topology.addStateStore(windowStore(rightStore, j.rightSerde), rightWindowed);
  let outerStore: string | undefined;
  if (leftOuter) {
    outerStore = storeBase(
      rightOuter ? '-outer-shared-join' : '-left-shared-join',
      `${joinThis}${rightOuter ? '-outer' : '-left'}-shared-join`,
    );
  }
  const joiner = j.joiner;
  ctx.topology.addProcessor(
    joinThis,
    streamJoinSideProcessor({
      windows,
      thisIsLeft: true,
      outer: leftOuter,
      otherStoreName: rightStore,
      outerStoreName: outerStore,
      joiner: (l, r, k) => joiner(l, r, k),
    }),
    leftWindowed,
  );
  ctx.topology.addProcessor(
    joinOther,
    streamJoinSideProcessor({
      windows,
      thisIsLeft: false,
      outer: rightOuter,
      otherStoreName: leftStore,
      outerStoreName: outerStore,
      joiner: (r, l, k) => joiner(l, r, k),
    }),
    rightWindowed,
  );
  ctx.topology.connectProcessorAndStateStores(rightStore, joinThis);
  ctx.topology.connectProcessorAndStateStores(leftStore, joinOther);
  if (outerStore) {
    ctx.topology.addStateStore(
      outerJoinStoreBuilder(outerStore, j.keySerde, j.leftSerde, j.rightSerde),
      joinThis,
      joinOther,
    );
  }
  const merge = ctx.name(named('-merge'), 'KSTREAM-MERGE', `${joinThis}+${joinOther}`);
  ctx.topology.addProcessor(merge, passThroughProcessor(), joinThis, joinOther);
  return merge;
}
