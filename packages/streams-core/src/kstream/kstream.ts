/**
 * KStream: a record stream. Each operator adds a node to the topology and returns a new typed
 * stream; nothing runs until the topology is built and started. Joins add several nodes, stores
 * and repartitions each, so their wiring lives in internals/ beside their processors and this
 * class keeps only the public surface.
 */
import type { Headers } from '../processor/api/headers.ts';
import type { ProcessorSupplier } from '../processor/api/processor.ts';
import type { Serde } from '../serdes/serde.ts';
import type { TopicNameExtractor } from '../topology/extractors.ts';
import { TopologyException } from '../topology/topology-errors.ts';
import { GlobalKTable } from './global-ktable.ts';
import { foreachAsyncProcessor, mapValuesAsyncProcessor } from './internals/async-processors.ts';
import type { BuilderContext } from './internals/builder-context.ts';
import {
  branchProcessor,
  filterProcessor,
  flatMapProcessor,
  flatMapValuesProcessor,
  holdProcessor,
  mapProcessor,
  mapValuesProcessor,
  passThroughProcessor,
  peekProcessor,
  selectKeyProcessor,
  withHeadersProcessor,
} from './internals/stateless.ts';
import { addStreamStreamJoin, type StreamJoinKind } from './internals/stream-stream-join.ts';
import { addStreamGlobalTableJoin, addStreamTableJoin } from './internals/stream-table-join.ts';
import { tableSourceProcessor } from './internals/table-source.ts';
import { KGroupedStream } from './kgrouped-stream.ts';
import { KTable } from './ktable.ts';
import type {
  AsyncOptions,
  Grouped,
  Joined,
  Materialized,
  Named,
  Produced,
  Repartitioned,
  StreamJoined,
} from './options.ts';
import type { JoinWindows } from './windows/join-windows.ts';

/** Predicates of `split`, by branch name. A type-guard predicate narrows its branch's value type. */
export type BranchPredicates<K, V> = Record<string, (key: K, value: V) => boolean>;
export type Branches<K, V, B extends BranchPredicates<K, V>> = {
  [N in keyof B]: B[N] extends (key: K, value: any) => value is infer T
    ? T extends V
      ? KStream<K, T>
      : KStream<K, V>
    : KStream<K, V>;
};

export class KStream<K, V> {
  /** @internal */ readonly ctx: BuilderContext;
  /** @internal */ readonly nodeName: string;
  /** @internal */ readonly keySerde: Serde<K> | undefined;
  /** @internal */ readonly valueSerde: Serde<V> | undefined;
  /** @internal The key changed since the last repartition: grouping or joining must repartition first. */
  readonly repartitionRequired: boolean;

  /** @internal */
  constructor(
    ctx: BuilderContext,
    nodeName: string,
    keySerde: Serde<K> | undefined,
    valueSerde: Serde<V> | undefined,
    repartitionRequired: boolean,
  ) {
    this.ctx = ctx;
    this.nodeName = nodeName;
    this.keySerde = keySerde;
    this.valueSerde = valueSerde;
    this.repartitionRequired = repartitionRequired;
  }

  #next<KR, VR>(
    kind: string,
    supplier: ProcessorSupplier<any, any, any, any>,
    named: Named | undefined,
    keySerde: Serde<KR> | undefined,
    valueSerde: Serde<VR> | undefined,
    keyChanged: boolean,
  ): KStream<KR, VR> {
    const name = this.ctx.addProcessor(kind, supplier, [this.nodeName], named?.name);
    return new KStream<KR, VR>(this.ctx, name, keySerde, valueSerde, this.repartitionRequired || keyChanged);
  }

  filter<T extends V>(
    predicate: (key: K, value: V, headers: Headers) => value is T,
    named?: Named,
  ): KStream<K, T>;
  filter(predicate: (key: K, value: V, headers: Headers) => boolean, named?: Named): KStream<K, V>;
  filter(predicate: (key: K, value: V, headers: Headers) => boolean, named?: Named): KStream<K, V> {
    return this.#next(
      'KSTREAM-FILTER',
      filterProcessor(predicate),
      named,
      this.keySerde,
      this.valueSerde,
      false,
    );
  }

  filterNot(predicate: (key: K, value: V, headers: Headers) => boolean, named?: Named): KStream<K, V> {
    return this.#next(
      'KSTREAM-FILTER',
      filterProcessor(predicate, true),
      named,
      this.keySerde,
      this.valueSerde,
      false,
    );
  }

  /** New key and value from a `[key, value]` tuple; marks the stream for repartitioning. */
  map<KR, VR>(mapper: (key: K, value: V) => readonly [KR, VR], named?: Named): KStream<KR, VR> {
    return this.#next('KSTREAM-MAP', mapProcessor(mapper), named, undefined, undefined, true);
  }

  /** New value per record; the mapper can read the record's headers (write them with `withHeaders`). */
  mapValues<VR>(mapper: (value: V, key: K, headers: Headers) => VR, named?: Named): KStream<K, VR> {
    return this.#next(
      'KSTREAM-MAPVALUES',
      mapValuesProcessor(mapper),
      named,
      this.keySerde,
      undefined,
      false,
    );
  }

  selectKey<KR>(selector: (key: K, value: V) => KR, named?: Named): KStream<KR, V> {
    return this.#next(
      'KSTREAM-KEY-SELECT',
      selectKeyProcessor(selector),
      named,
      undefined,
      this.valueSerde,
      true,
    );
  }

  flatMap<KR, VR>(mapper: (key: K, value: V) => Iterable<readonly [KR, VR]>, named?: Named): KStream<KR, VR> {
    return this.#next('KSTREAM-FLATMAP', flatMapProcessor(mapper), named, undefined, undefined, true);
  }

  flatMapValues<VR>(
    mapper: (value: V, key: K, headers: Headers) => Iterable<VR>,
    named?: Named,
  ): KStream<K, VR> {
    return this.#next(
      'KSTREAM-FLATMAPVALUES',
      flatMapValuesProcessor(mapper),
      named,
      this.keySerde,
      undefined,
      false,
    );
  }

  /** Side effect per record; the stream continues unchanged. */
  peek(action: (key: K, value: V, headers: Headers) => void, named?: Named): KStream<K, V> {
    return this.#next(
      'KSTREAM-PEEK',
      peekProcessor(action, true),
      named,
      this.keySerde,
      this.valueSerde,
      false,
    );
  }

  /** Terminal side effect per record. */
  foreach(action: (key: K, value: V, headers: Headers) => void, named?: Named): void {
    this.ctx.addProcessor('KSTREAM-FOREACH', peekProcessor(action, false), [this.nodeName], named?.name);
  }

  /**
   * Changes a record's headers: `update` gets a copy of them to add, set or remove entries on
   * (the record's siblings in other branches keep theirs), and the record goes on with the copy.
   */
  withHeaders(update: (headers: Headers, key: K, value: V) => void, named?: Named): KStream<K, V> {
    return this.#next(
      'KSTREAM-HEADERS',
      withHeadersProcessor(update),
      named,
      this.keySerde,
      this.valueSerde,
      false,
    );
  }

  /**
   * New value per record from an asynchronous call (HTTP, a database, a cache). Calls of one key
   * run one at a time in offset order; calls of different keys overlap, up to `concurrency` per
   * task. Results go on downstream in the order their records arrived, with the record's key,
   * timestamp and headers. A record's offset is committed only once it and every record before
   * it in its partition are done; under exactly_once_v2 every call in flight finishes before a
   * commit, so its outputs go into the transaction that commits its offset. A rejection or a
   * timeout goes to the processing exception handler (dead letter by default). `signal` aborts
   * when the call timed out or its task closed: pass it on (fetch, pg, ioredis) so that an
   * abandoned call stops rather than having its effect later.
   */
  mapValuesAsync<VR>(
    mapper: (value: V, key: K, headers: Headers, signal: AbortSignal) => Promise<VR>,
    options: AsyncOptions = {},
  ): KStream<K, VR> {
    return this.#next(
      'KSTREAM-MAPVALUES-ASYNC',
      mapValuesAsyncProcessor(mapper, resolveAsyncOptions(options)),
      options,
      this.keySerde,
      undefined,
      false,
    );
  }

  /** Terminal asynchronous side effect per record, with `mapValuesAsync`'s order, commit and failure rules. */
  foreachAsync(
    action: (key: K, value: V, headers: Headers, signal: AbortSignal) => Promise<void>,
    options: AsyncOptions = {},
  ): void {
    this.ctx.addProcessor(
      'KSTREAM-FOREACH-ASYNC',
      foreachAsyncProcessor(action, resolveAsyncOptions(options)),
      [this.nodeName],
      options.name,
    );
  }

  /**
   * Holds a record's source partition until the time `dueTime` returns (wall clock, ms since the
   * epoch), when that is in the future: the partition pauses at this record, which is not
   * committed and is processed again once due; other partitions keep flowing. A record that is
   * due goes on at once. Put it straight after the source, before anything acts on the record.
   */
  holdUntil(dueTime: (key: K, value: V, headers: Headers) => number, named?: Named): KStream<K, V> {
    return this.#next('KSTREAM-HOLD', holdProcessor(dueTime), named, this.keySerde, this.valueSerde, false);
  }

  merge(other: KStream<K, V>, named?: Named): KStream<K, V> {
    if (other.ctx !== this.ctx)
      throw new TopologyException('Streams from two different StreamsBuilders cannot be merged');
    const name = this.ctx.addProcessor(
      'KSTREAM-MERGE',
      passThroughProcessor(),
      [this.nodeName, other.nodeName],
      named?.name,
    );
    return new KStream(
      this.ctx,
      name,
      this.keySerde ?? other.keySerde,
      this.valueSerde ?? other.valueSerde,
      this.repartitionRequired || other.repartitionRequired,
    );
  }

  /**
   * Splits the stream by named predicates; a record goes to the first branch that matches and is
   * dropped when none does. `const { big, rest } = s.split({ big: (k, v) => v > 100, rest: () => true })`.
   */
  split<B extends BranchPredicates<K, V>>(branches: B, named?: Named): Branches<K, V, B> {
    const names = Object.keys(branches);
    if (names.length === 0) throw new TopologyException('split needs at least one branch');
    const prefix = named?.name ?? this.ctx.names.generate('KSTREAM-BRANCH', this.nodeName);
    const children = names.map((n) => ({
      predicate: branches[n]!,
      child: this.ctx.names.claim(`${prefix}-${n}`),
    }));
    if (named?.name) this.ctx.names.claim(prefix);
    this.ctx.topology.addProcessor(prefix, branchProcessor(children), this.nodeName);
    const out: Record<string, KStream<K, V>> = {};
    for (const c of children) {
      this.ctx.topology.addProcessor(c.child, passThroughProcessor(), prefix);
      out[names[children.indexOf(c)]!] = new KStream(
        this.ctx,
        c.child,
        this.keySerde,
        this.valueSerde,
        this.repartitionRequired,
      );
    }
    return out as Branches<K, V, B>;
  }

  /** Writes to a topic, or to a topic chosen per record. */
  to(topic: string | TopicNameExtractor<K, V>, produced: Produced<K, V> = {}): void {
    const name = this.ctx.name(produced.name, 'KSTREAM-SINK', this.nodeName);
    const keySerde = produced.key ?? this.keySerde;
    const valueSerde = produced.value ?? this.valueSerde;
    this.ctx.topology.addSink(
      name,
      topic,
      {
        ...(keySerde ? { keySerde } : {}),
        ...(valueSerde ? { valueSerde } : {}),
        ...(produced.partitioner ? { partitioner: produced.partitioner } : {}),
      },
      this.nodeName,
    );
  }

  /** Routes records through an internal topic, partitioned by their current key. */
  repartition(repartitioned: Repartitioned<K, V> = {}): KStream<K, V> {
    const keySerde = repartitioned.key ?? this.keySerde;
    const valueSerde = repartitioned.value ?? this.valueSerde;
    const base = repartitioned.name ?? this.ctx.names.generate('KSTREAM-REPARTITION', this.nodeName);
    const source = this.ctx.repartition(this.nodeName, base, keySerde, valueSerde, {
      ...(repartitioned.numberOfPartitions !== undefined
        ? { numberOfPartitions: repartitioned.numberOfPartitions }
        : {}),
      ...(repartitioned.partitioner ? { partitioner: repartitioned.partitioner } : {}),
      dropNullKeys: false,
    });
    return new KStream(this.ctx, source, keySerde, valueSerde, false);
  }

  groupByKey(grouped: Grouped<K, V> = {}): KGroupedStream<K, V> {
    return new KGroupedStream(
      this.ctx,
      this.nodeName,
      grouped.key ?? this.keySerde,
      grouped.value ?? this.valueSerde,
      this.repartitionRequired,
      grouped.name,
    );
  }

  groupBy<KR>(selector: (key: K, value: V) => KR, grouped: Grouped<KR, V> = {}): KGroupedStream<KR, V> {
    const name = this.ctx.addProcessor('KSTREAM-KEY-SELECT', selectKeyProcessor(selector), [this.nodeName]);
    return new KGroupedStream(
      this.ctx,
      name,
      grouped.key,
      grouped.value ?? this.valueSerde,
      true,
      grouped.name,
    );
  }

  /**
   * Materializes the stream as a table: the latest value per key; a null value deletes the key.
   * After a key change the stream is repartitioned first, as in Kafka Streams, so that every
   * update of a key lands in the one task that holds its row.
   */
  toTable(materialized: Materialized<K, V> & Named = {}): KTable<K, V> {
    const keySerde = materialized.key ?? this.keySerde;
    const valueSerde = materialized.value ?? this.valueSerde;
    const processorName = this.ctx.names.generate('KSTREAM-TOTABLE', this.nodeName);
    const store = this.ctx.keyValueStore(
      materialized,
      'KSTREAM-TOTABLE-STATE-STORE',
      processorName,
      keySerde,
      valueSerde,
    );
    const upstream = this.repartitionRequired
      ? this.ctx.repartition(this.nodeName, materialized.name ?? processorName, keySerde, valueSerde)
      : this.nodeName;
    this.ctx.topology.addProcessor(processorName, tableSourceProcessor(store.name), upstream);
    this.ctx.topology.addStateStore(store.builder, processorName);
    return KTable.materialized(this.ctx, processorName, keySerde, valueSerde, store.name);
  }

  /**
   * Stream-stream join: records of both streams with the same key whose timestamps are within the
   * join windows, `joiner(value, otherValue, key)` per pair. Stream-table join: each record is
   * joined with the table's current value for its key.
   */
  join<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value: V, otherValue: VO, key: K) => VR,
    windows: JoinWindows,
    streamJoined?: StreamJoined<K, V, VO>,
  ): KStream<K, VR>;
  join<VT, VR>(
    table: KTable<K, VT>,
    joiner: (value: V, tableValue: VT, key: K) => VR,
    joined?: Joined<K, V, VT>,
  ): KStream<K, VR>;
  /** Joins each record with the global table's row for the key `keySelector` derives from it. */
  join<GK, GV, VR>(
    globalTable: GlobalKTable<GK, GV>,
    keySelector: (key: K, value: V) => GK,
    joiner: (value: V, globalValue: GV, key: K) => VR,
    named?: Named,
  ): KStream<K, VR>;
  join<VO, VR>(
    other: KStream<K, VO> | KTable<K, VO> | GlobalKTable<any, VO>,
    joiner: any,
    windowsOrJoined?: any,
    streamJoined?: any,
  ): KStream<K, VR> {
    if (other instanceof GlobalKTable)
      return this.#globalJoin(other, joiner, windowsOrJoined, false, streamJoined);
    if (other instanceof KStream)
      return this.#streamJoin('inner', other, joiner, windowsOrJoined, streamJoined);
    return this.#tableJoin(
      other,
      joiner as (v: V, t: VO | null, k: K) => VR,
      false,
      windowsOrJoined as Joined<K, V, VO> | undefined,
    );
  }

  /**
   * As `join`, but every record of this stream is emitted: a stream-stream left join emits a
   * record without a match (joined with null) once its window has closed; a stream-table left
   * join joins it with null at once.
   */
  leftJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value: V, otherValue: VO | null, key: K) => VR,
    windows: JoinWindows,
    streamJoined?: StreamJoined<K, V, VO>,
  ): KStream<K, VR>;
  leftJoin<VT, VR>(
    table: KTable<K, VT>,
    joiner: (value: V, tableValue: VT | null, key: K) => VR,
    joined?: Joined<K, V, VT>,
  ): KStream<K, VR>;
  /** As the global-table `join`, but records without a row are joined with null. */
  leftJoin<GK, GV, VR>(
    globalTable: GlobalKTable<GK, GV>,
    keySelector: (key: K, value: V) => GK,
    joiner: (value: V, globalValue: GV | null, key: K) => VR,
    named?: Named,
  ): KStream<K, VR>;
  leftJoin<VO, VR>(
    other: KStream<K, VO> | KTable<K, VO> | GlobalKTable<any, VO>,
    joiner: any,
    windowsOrJoined?: any,
    streamJoined?: any,
  ): KStream<K, VR> {
    if (other instanceof GlobalKTable)
      return this.#globalJoin(other, joiner, windowsOrJoined, true, streamJoined);
    if (other instanceof KStream)
      return this.#streamJoin('left', other, joiner, windowsOrJoined, streamJoined);
    return this.#tableJoin(other, joiner, true, windowsOrJoined as Joined<K, V, VO> | undefined);
  }

  /** Stream-stream outer join: records of either side without a match are emitted, joined with null, once their window has closed. */
  outerJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: (value: V | null, otherValue: VO | null, key: K) => VR,
    windows: JoinWindows,
    streamJoined?: StreamJoined<K, V, VO>,
  ): KStream<K, VR> {
    return this.#streamJoin('outer', other, joiner, windows, streamJoined);
  }

  #streamJoin<VO, VR>(
    kind: StreamJoinKind,
    other: KStream<K, VO>,
    joiner: (value: any, otherValue: any, key: K) => VR,
    windows: unknown,
    streamJoined: StreamJoined<K, V, VO> | undefined,
  ): KStream<K, VR> {
    const joined = addStreamStreamJoin(kind, this, other, joiner, windows, streamJoined);
    return new KStream<K, VR>(this.ctx, joined.nodeName, joined.keySerde, undefined, false);
  }

  #tableJoin<VT, VR>(
    table: KTable<K, VT>,
    joiner: (v: V, t: VT | null, k: K) => VR,
    left: boolean,
    joined: Joined<K, V, VT> | undefined,
  ): KStream<K, VR> {
    const join = addStreamTableJoin(this, table, joiner, left, joined);
    return new KStream<K, VR>(this.ctx, join.nodeName, join.keySerde, undefined, false);
  }

  #globalJoin<GK, GV, VR>(
    table: GlobalKTable<GK, GV>,
    keySelector: (key: K, value: V) => GK,
    joiner: (value: V, globalValue: GV | null, key: K) => VR,
    left: boolean,
    named: Named | undefined,
  ): KStream<K, VR> {
    const name = addStreamGlobalTableJoin(this, table, keySelector, joiner, left, named);
    return new KStream<K, VR>(this.ctx, name, this.keySerde, undefined, this.repartitionRequired);
  }

  /**
   * Runs a processor written with the Processor API. Stores it uses must be added with
   * `StreamsBuilder.addStateStore` and named here.
   */
  process<KR, VR>(supplier: ProcessorSupplier<K, V, KR, VR>, ...storeNames: string[]): KStream<KR, VR>;
  process<KR, VR>(
    supplier: ProcessorSupplier<K, V, KR, VR>,
    named: Named,
    ...storeNames: string[]
  ): KStream<KR, VR>;
  process<KR, VR>(
    supplier: ProcessorSupplier<K, V, KR, VR>,
    ...rest: Array<string | Named>
  ): KStream<KR, VR> {
    const named = typeof rest[0] === 'object' ? (rest.shift() as Named) : undefined;
    const name = this.ctx.addProcessor('KSTREAM-PROCESSOR', supplier, [this.nodeName], named?.name);
    for (const s of rest as string[]) this.ctx.topology.connectProcessorAndStateStores(s, name);
    // A processor may change keys: grouping after it repartitions, as after map.
    return new KStream<KR, VR>(this.ctx, name, undefined, undefined, true);
  }
}

function resolveAsyncOptions(options: AsyncOptions): { concurrency: number; timeoutMs: number } {
  const concurrency = options.concurrency ?? 16;
  const timeoutMs = options.timeoutMs ?? 5_000;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new TopologyException(
      `AsyncOptions.concurrency must be a whole number of at least 1, got ${concurrency}`,
    );
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs))
    throw new TopologyException(
      `AsyncOptions.timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`,
    );
  return { concurrency, timeoutMs };
}
