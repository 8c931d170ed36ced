/**
 * Adds a stream-stream join to the topology: a repartition for a side whose key changed, the
 * windowed and join nodes of both sides, their window stores, the shared store of unmatched
 * records for left and outer joins, and the merge node that emits the results. A join given a
 * name names its nodes and stores with Kafka Streams' suffixes (-this-windowed, -outer-this-join,
 * -left-shared-join, ...): the store names fix the changelog topics, so they are what a restarted
 * application finds its buffered records by.
 */

import type { Serde } from '../../serdes/serde.ts';
import { windowBytesStoreSupplier, windowStoreBuilder } from '../../state/window-store.ts';
import { TopologyException } from '../../topology/topology-errors.ts';
import type { KStream } from '../kstream.ts';
import type { StreamJoined } from '../options.ts';
import { JoinWindows } from '../windows/join-windows.ts';
import type { BuilderContext } from './builder-context.ts';
import { passThroughProcessor } from './stateless.ts';
import { joinWindowProcessor, streamJoinSideProcessor } from './stream-stream-join-processors.ts';
import { outerJoinStoreBuilder } from './stream-stream-join-unmatched.ts';

export type StreamJoinKind = 'inner' | 'left' | 'outer';

interface StreamJoinNodes {
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

/**
 * Joins two streams of one builder; returns the node that emits the results and their key serde.
 * `joiner` is the DSL's, oriented as (this stream's value, the other's value, key).
 */
export function addStreamStreamJoin<K, V, VO, VR>(
  kind: StreamJoinKind,
  stream: KStream<K, V>,
  other: KStream<K, VO>,
  joiner: (value: any, otherValue: any, key: K) => VR,
  windows: unknown,
  streamJoined: StreamJoined<K, V, VO> = {},
): { nodeName: string; keySerde: Serde<K> | undefined } {
  if (!(windows instanceof JoinWindows))
    throw new TopologyException(
      'A stream-stream join needs JoinWindows (e.g. JoinWindows.ofTimeDifferenceWithNoGrace(60_000)) as its third argument',
    );
  if (other.ctx !== stream.ctx)
    throw new TopologyException('Streams from two different StreamsBuilders cannot be joined');
  const key = streamJoined.key ?? stream.keySerde ?? other.keySerde;
  const value = streamJoined.value ?? stream.valueSerde;
  const otherValue = streamJoined.otherValue ?? other.valueSerde;
  // A side whose key changed is repartitioned first, so that equal keys meet in one task.
  const side = <VS>(s: KStream<K, VS>, suffix: string, valueSerde: Serde<VS> | undefined): KStream<K, VS> =>
    s.repartitionRequired
      ? s.repartition({
          ...(streamJoined.name ? { name: `${streamJoined.name}-${suffix}` } : {}),
          ...(key ? { key } : {}),
          ...(valueSerde ? { value: valueSerde } : {}),
        })
      : s;
  const left = side(stream, 'left', value);
  const right = side(other, 'right', otherValue);
  const merge = addJoinNodes(stream.ctx, {
    windows,
    kind,
    leftNode: left.nodeName,
    rightNode: right.nodeName,
    keySerde: key,
    leftSerde: value,
    rightSerde: otherValue,
    name: streamJoined.name,
    storeName: streamJoined.storeName,
    joiner,
  });
  stream.ctx.requireCopartition(left.nodeName, right.nodeName);
  return { nodeName: merge, keySerde: key };
}

/** Adds a stream-stream join's nodes and stores; returns the name of the node that emits its results. */
function addJoinNodes(ctx: BuilderContext, j: StreamJoinNodes): string {
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
