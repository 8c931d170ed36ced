/**
 * The topologies of the differential tests, written with our DSL. Each has a twin of the same
 * name under java/src/main/java/differential/topologies/ written with Kafka Streams' DSL: the
 * two must stay operator for operator the same, down to the lambdas, so that every difference
 * in their outputs is a difference of the engines.
 *
 * Inputs and outputs are declared with their serdes: the harness writes generated records as
 * bytes, and compares outputs as bytes, so both engines see and produce exactly the same wire data.
 */
import {
  BufferConfig,
  JoinWindows,
  type Serde,
  Serdes,
  SessionWindows,
  SlidingWindows,
  StreamsBuilder,
  Suppressed,
  TimeWindows,
  type Topology,
} from '@kafka-pattern/streams-core';

export type Params = Readonly<Record<string, number>>;

/** What the generator writes to an input topic. */
export type ValueKind = 'words' | 'nonEmptyWords' | 'long';

export interface InputSpec {
  readonly key: Serde<string>;
  readonly value: Serde<any>;
  readonly values: ValueKind;
  /** Read as a KTable: a tombstone for a key the table does not hold is a documented deviation (README). */
  readonly table?: boolean;
}

export interface OutputSpec {
  readonly key: Serde<any>;
  readonly value: Serde<any>;
  /**
   * Downstream of a KTable filter: Kafka Streams forwards a tombstone for every row that does
   * not pass, also when the key was never in the result; we do not (README, deviations).
   */
  readonly filteredTable?: boolean;
  /** Timestamps a known, reported bug gets wrong (README): of deletes, or of every record downstream of them. */
  readonly knownBugTimestamps?: 'tombstones' | 'all';
}

export interface StoreSpec {
  readonly name: string;
  readonly value: 'long' | 'string';
}

export interface DiffTopology {
  readonly name: string;
  readonly inputs: Readonly<Record<string, InputSpec>>;
  readonly outputs: Readonly<Record<string, OutputSpec>>;
  /** Kafka Streams configs of the Java twin, over the runner's defaults (in-memory stores). */
  readonly javaConfig?: Readonly<Record<string, string>>;
  /** Key-value stores (String keys) whose final contents are compared too. */
  readonly stores?: readonly StoreSpec[];
  build(params: Params): Topology;
}

const S = Serdes.String();
const L = Serdes.Long();
const words: InputSpec = { key: S, value: S, values: 'words' };
const str: OutputSpec = { key: S, value: S };
const long: OutputSpec = { key: S, value: L };

function p(params: Params, name: string): number {
  const v = params[name];
  if (v === undefined) throw new Error(`Missing parameter "${name}"`);
  return v;
}

/** A null key where the DSL's types want a key: records without one exist at run time all the same. */
const NULL_KEY = null as unknown as string;

/** Keeps the tail of a growing string aggregate, so values stay short whatever the input. */
const tail = (s: string): string => (s.length > 12 ? s.substring(s.length - 12) : s);

const statelessChain: DiffTopology = {
  name: 'stateless-chain',
  inputs: { in: words },
  outputs: { out: str, 'out-peeked': str },
  build() {
    const b = new StreamsBuilder();
    const seen: string[] = [];
    const source = b.stream('in', { key: S, value: S });
    source
      .filter((_k, v) => v !== null)
      .flatMap((k, v) =>
        v
          .split(' ')
          .filter((w) => w.length > 0)
          .map((w): [string, string | null] => [w, k]),
      )
      .mapValues((v, k) => `${k}:${v}`)
      .filterNot((k) => k.length > 2)
      .peek((k) => {
        seen.push(k);
      })
      .flatMapValues((v) => [v, `${v}#${seen.length}`])
      .to('out', { key: S, value: S });
    source
      .map((k, v): [string | null, string] => [v, `${k}`])
      .selectKey((k, v) => (k === null ? null : `${v}/${k.length}`))
      .to('out-peeked', { key: S, value: S });
    return b.build();
  },
};

const splitMerge: DiffTopology = {
  name: 'split-merge',
  inputs: { in: words, in2: words },
  outputs: { out: str, 'out-a': str },
  build() {
    const b = new StreamsBuilder();
    const source = b.stream('in', { key: S, value: S });
    const branches = source.split({
      short: (_k, v) => v !== null && v.length < 4,
      withA: (_k, v) => v !== null && v.includes('a'),
    });
    const upper = branches.short.mapValues((v) => (v === null ? '' : v.toUpperCase()));
    const parts = branches.withA.flatMapValues((v) => (v === null ? [] : v.split(' ')));
    const other = b.stream('in2', { key: S, value: S }).filterNot((k) => k === 'a');
    upper
      .merge(parts)
      .merge(other)
      .selectKey((k, v) => `${v}<${k}`)
      .to('out', { key: S, value: S });
    branches.withA.to('out-a', { key: S, value: S });
    return b.build();
  },
};

const groupByCount: DiffTopology = {
  name: 'group-by-count',
  inputs: { in: words },
  outputs: { out: long },
  stores: [{ name: 'counts', value: 'long' }],
  build() {
    const b = new StreamsBuilder();
    b.stream('in', { key: S, value: S })
      .groupBy((_k, v) => v, { key: S, value: S })
      .count({ name: 'counts' })
      .toStream()
      .to('out', { key: S, value: L });
    return b.build();
  },
};

const groupByKeyAggregate: DiffTopology = {
  name: 'group-by-key-aggregate',
  inputs: { in: words },
  outputs: { 'out-agg': long, 'out-reduce': str, 'out-count': long },
  stores: [
    { name: 'lengths', value: 'long' },
    { name: 'reduced', value: 'string' },
  ],
  build() {
    const b = new StreamsBuilder();
    const grouped = b.stream('in', { key: S, value: S }).groupByKey({ key: S, value: S });
    grouped
      .aggregate(
        () => 0,
        (_k, v, agg: number) => agg + (v === null ? 0 : v.length) + 1,
        { name: 'lengths', key: S, value: L },
      )
      .toStream()
      .to('out-agg', { key: S, value: L });
    grouped
      .reduce((agg, v) => tail(`${agg}|${v}`), { name: 'reduced', key: S, value: S })
      .toStream()
      .to('out-reduce', { key: S, value: S });
    grouped.count().toStream().to('out-count', { key: S, value: L });
    return b.build();
  },
};

const mapGroupAggregate: DiffTopology = {
  name: 'map-group-aggregate',
  inputs: { in: words },
  outputs: { out: str },
  stores: [{ name: 'by-first-letter', value: 'string' }],
  build() {
    const b = new StreamsBuilder();
    b.stream('in', { key: S, value: S })
      .map((k, v): [string | null, string] => [
        v === null || v.length === 0 ? null : v.substring(0, 1),
        k === null ? 'none' : k,
      ])
      .groupByKey({ key: S, value: S })
      .aggregate(
        () => '',
        (_k, v, agg: string) => tail(agg + v),
        { name: 'by-first-letter', key: S, value: S },
      )
      .toStream()
      .to('out', { key: S, value: S });
    return b.build();
  },
};

const tableOps: DiffTopology = {
  name: 'table-ops',
  inputs: { tin: { ...words, table: true } },
  outputs: {
    'out-raw': str,
    out: { ...str, filteredTable: true },
    'out-mat': { ...str, filteredTable: true },
    'out-not': { ...str, filteredTable: true },
  },
  stores: [{ name: 'filtered', value: 'string' }],
  build() {
    const b = new StreamsBuilder();
    const table = b.table('tin', { key: S, value: S });
    table.toStream().to('out-raw', { key: S, value: S });
    table
      .filter((_k, v) => v.length % 2 === 0)
      .mapValues((v, k) => `${k}=${v}!`)
      .toStream()
      .to('out', { key: S, value: S });
    table
      .filter((k, v) => v.length !== k.length, { materialized: { name: 'filtered', key: S, value: S } })
      .toStream()
      .to('out-mat', { key: S, value: S });
    table
      .mapValues((v) => v.length)
      .filterNot((_k, n) => n > 4)
      .toStream()
      .to('out-not', { key: S, value: L });
    return b.build();
  },
};

const tableGroupBy: DiffTopology = {
  name: 'table-group-by',
  inputs: { tin: { key: S, value: L, values: 'long', table: true } },
  outputs: { 'out-count': long, 'out-sum': long, 'out-reduce': long, 'out-agg': str },
  stores: [
    { name: 'group-counts', value: 'long' },
    { name: 'group-sums', value: 'long' },
  ],
  build() {
    const b = new StreamsBuilder();
    const table = b.table('tin', { key: S, value: L });
    const byResidue = table.groupBy((_k, v: number): [string, number] => [`r${v % 3}`, v], {
      key: S,
      value: L,
    });
    byResidue.count({ name: 'group-counts' }).toStream().to('out-count', { key: S, value: L });
    byResidue
      .aggregate(
        () => 0,
        (_k, v, agg: number) => agg + v,
        (_k, v, agg: number) => agg - v,
        { name: 'group-sums', key: S, value: L },
      )
      .toStream()
      .to('out-sum', { key: S, value: L });
    byResidue
      .reduce(
        (agg, v) => agg + v,
        (agg, v) => agg - v,
        { key: S, value: L },
      )
      .toStream()
      .to('out-reduce', { key: S, value: L });
    // Grouping by the row's own key keeps updates on one group key: subtract and add as one record.
    table
      .groupBy((k, v: number): [string, string] => [k.substring(0, 1), `${k}${v}`], { key: S, value: S })
      .aggregate(
        () => '',
        (_k, v, agg: string) => tail(`${agg}+${v}`),
        (_k, v, agg: string) => tail(`${agg}-${v}`),
        { key: S, value: S },
      )
      .toStream()
      .to('out-agg', { key: S, value: S });
    return b.build();
  },
};

const streamTableJoin: DiffTopology = {
  name: 'stream-table-join',
  inputs: { sin: words, tin: { ...words, table: true } },
  outputs: { 'out-join': str, 'out-left': str, 'out-rekeyed': str },
  build() {
    const b = new StreamsBuilder();
    const stream = b.stream('sin', { key: S, value: S });
    const table = b.table('tin', { key: S, value: S });
    stream.join(table, (sv, tv) => `${sv}+${tv}`).to('out-join', { key: S, value: S });
    stream.leftJoin(table, (sv, tv) => `${sv}+${tv}`).to('out-left', { key: S, value: S });
    // A key change before the join: the stream is repartitioned first.
    stream
      .selectKey((_k, v): string => (v === null || v.length === 0 ? NULL_KEY : v.substring(0, 1)))
      .leftJoin(table, (sv, tv) => `${sv}*${tv}`, { key: S, value: S })
      .to('out-rekeyed', { key: S, value: S });
    return b.build();
  },
};

const tableTableJoin: DiffTopology = {
  name: 'table-table-join',
  inputs: { left: { ...words, table: true }, right: { ...words, table: true } },
  outputs: { 'out-inner': str, 'out-left': str, 'out-outer': str, 'out-chained': str },
  stores: [{ name: 'outer-joined', value: 'string' }],
  build() {
    const b = new StreamsBuilder();
    const left = b.table('left', { key: S, value: S });
    const right = b.table('right', { key: S, value: S });
    left
      .join(right, (l, r) => `${l}/${r}`)
      .toStream()
      .to('out-inner', { key: S, value: S });
    left
      .leftJoin(right, (l, r) => `${l}/${r}`)
      .toStream()
      .to('out-left', { key: S, value: S });
    const outer = left.outerJoin(right, (l, r) => `${l}/${r}`, {
      materialized: { name: 'outer-joined', key: S, value: S },
    });
    outer.toStream().to('out-outer', { key: S, value: S });
    // A join of a join: the inner result read through its value getter, without a store of its own.
    left
      .join(right, (l, r) => `${l}${r}`)
      .leftJoin(right, (lr, r) => `${lr}>${r}`)
      .toStream()
      .to('out-chained', { key: S, value: S });
    return b.build();
  },
};

const timeWindowed: OutputSpec = { key: Serdes.TimeWindowed(S), value: L };

const tumblingWindows: DiffTopology = {
  name: 'tumbling-windows',
  inputs: { in: words },
  outputs: { 'out-count': timeWindowed, 'out-reduce': { key: Serdes.TimeWindowed(S), value: S } },
  build(params) {
    const b = new StreamsBuilder();
    const grouped = b.stream('in', { key: S, value: S }).groupByKey({ key: S, value: S });
    const windows = TimeWindows.ofSizeAndGrace(p(params, 'size'), p(params, 'grace'));
    grouped
      .windowedBy(windows)
      .count()
      .toStream()
      .to('out-count', { key: Serdes.TimeWindowed(S), value: L });
    grouped
      .windowedBy(windows)
      .reduce((agg, v) => tail(`${agg},${v}`), { value: S })
      .toStream()
      .to('out-reduce', { key: Serdes.TimeWindowed(S), value: S });
    return b.build();
  },
};

const hoppingCount: DiffTopology = {
  name: 'hopping-count',
  inputs: { in: words },
  outputs: { out: timeWindowed },
  build(params) {
    const b = new StreamsBuilder();
    b.stream('in', { key: S, value: S })
      .groupBy((k, v) => (v === null ? k : `${k}${v.length % 2}`), { key: S, value: S })
      .windowedBy(
        TimeWindows.ofSizeAndGrace(p(params, 'size'), p(params, 'grace')).advanceBy(p(params, 'advance')),
      )
      .count()
      .toStream()
      .to('out', { key: Serdes.TimeWindowed(S), value: L });
    return b.build();
  },
};

const slidingCount: DiffTopology = {
  name: 'sliding-count',
  inputs: { in: words },
  outputs: { out: timeWindowed, 'out-agg': { key: Serdes.TimeWindowed(S), value: S } },
  build(params) {
    const b = new StreamsBuilder();
    const grouped = b.stream('in', { key: S, value: S }).groupByKey({ key: S, value: S });
    const windows = SlidingWindows.ofTimeDifferenceAndGrace(p(params, 'diff'), p(params, 'grace'));
    grouped
      .windowedBy(windows)
      .count()
      .toStream()
      .to('out', { key: Serdes.TimeWindowed(S), value: L });
    grouped
      .windowedBy(windows)
      .aggregate(
        () => '',
        (_k, v, agg: string) => tail(`${agg}${v === null ? '~' : v.length}`),
        { value: S },
      )
      .toStream()
      .to('out-agg', { key: Serdes.TimeWindowed(S), value: S });
    return b.build();
  },
};

const sessionWindows: DiffTopology = {
  name: 'session-windows',
  inputs: { in: words },
  outputs: {
    'out-count': { key: Serdes.SessionWindowed(S), value: L },
    'out-reduce': { key: Serdes.SessionWindowed(S), value: S },
  },
  build(params) {
    const b = new StreamsBuilder();
    const grouped = b.stream('in', { key: S, value: S }).groupByKey({ key: S, value: S });
    const windows = SessionWindows.ofInactivityGapAndGrace(p(params, 'gap'), p(params, 'grace'));
    grouped
      .windowedBy(windows)
      .count()
      .toStream()
      .to('out-count', { key: Serdes.SessionWindowed(S), value: L });
    grouped
      .windowedBy(windows)
      .reduce((agg, v) => tail(`${agg},${v}`), { value: S })
      .toStream()
      .to('out-reduce', { key: Serdes.SessionWindowed(S), value: S });
    return b.build();
  },
};

const suppressedWindows: DiffTopology = {
  name: 'suppressed-windows',
  inputs: { in: words },
  outputs: { 'out-tumbling': timeWindowed, 'out-session': { key: Serdes.SessionWindowed(S), value: L } },
  build(params) {
    const b = new StreamsBuilder();
    const grouped = b.stream('in', { key: S, value: S }).groupByKey({ key: S, value: S });
    grouped
      .windowedBy(TimeWindows.ofSizeAndGrace(p(params, 'size'), p(params, 'grace')))
      .count()
      .suppress(Suppressed.untilWindowCloses())
      .toStream()
      .to('out-tumbling', { key: Serdes.TimeWindowed(S), value: L });
    grouped
      .windowedBy(SessionWindows.ofInactivityGapAndGrace(p(params, 'gap'), p(params, 'grace')))
      .count()
      .suppress(Suppressed.untilWindowCloses())
      .toStream()
      .to('out-session', { key: Serdes.SessionWindowed(S), value: L });
    return b.build();
  },
};

const streamStreamJoin: DiffTopology = {
  name: 'stream-stream-join',
  inputs: { left: words, right: words },
  outputs: { 'out-inner': str, 'out-left': str, 'out-outer': str },
  build(params) {
    const b = new StreamsBuilder();
    const left = b.stream('left', { key: S, value: S });
    const right = b.stream('right', { key: S, value: S });
    const windows = JoinWindows.ofTimeDifferenceAndGrace(p(params, 'diff'), p(params, 'grace')).after(
      p(params, 'after'),
    );
    const serdes = { key: S, value: S, otherValue: S };
    left.join(right, (l, r) => `${l}&${r}`, windows, serdes).to('out-inner', { key: S, value: S });
    left.leftJoin(right, (l, r) => `${l}&${r}`, windows, serdes).to('out-left', { key: S, value: S });
    left.outerJoin(right, (l, r) => `${l}&${r}`, windows, serdes).to('out-outer', { key: S, value: S });
    return b.build();
  },
};

const aggregateJoin: DiffTopology = {
  name: 'aggregate-join',
  inputs: { in: words, labels: { ...words, table: true } },
  outputs: { 'out-joined': str, 'out-enriched': str, 'out-totable': str },
  build() {
    const b = new StreamsBuilder();
    const source = b.stream('in', { key: S, value: S });
    const counts = source.groupByKey({ key: S, value: S }).count();
    const labels = b.table('labels', { key: S, value: S });
    counts
      .join(labels, (c, l) => `${l}:${c}`)
      .toStream()
      .to('out-joined', { key: S, value: S });
    // The count is updated before the join reads it: the aggregation was added to the source first.
    source.join(counts, (v, c) => `${v}#${c}`).to('out-enriched', { key: S, value: S });
    source
      .selectKey((_k, v): string => (v === null || v.length === 0 ? NULL_KEY : v.substring(v.length - 1)))
      .toTable({ key: S, value: S })
      .leftJoin(labels, (v, l) => `${v}~${l}`)
      .toStream()
      .to('out-totable', { key: S, value: S });
    return b.build();
  },
};

const tableFilterGroupBy: DiffTopology = {
  name: 'table-filter-group-by',
  inputs: { tin: { key: S, value: L, values: 'long', table: true } },
  outputs: { 'out-sum': long, 'out-count': long, 'out-mat': long },
  stores: [{ name: 'even-tens', value: 'long' }],
  build() {
    const b = new StreamsBuilder();
    const table = b.table('tin', { key: S, value: L });
    table
      .filter((_k, v) => v % 2 === 0)
      .mapValues((v) => v * 10)
      .groupBy((k, v: number): [string, number] => [k.substring(0, 1), v], { key: S, value: L })
      .reduce(
        (agg, v) => agg + v,
        (agg, v) => agg - v,
        { key: S, value: L },
      )
      .toStream()
      .to('out-sum', { key: S, value: L });
    table
      .filterNot((k, v) => v > k.length * 5)
      .groupBy((_k, v: number): [string, number] => [`${v % 4}`, v], { key: S, value: L })
      .count()
      .toStream()
      .to('out-count', { key: S, value: L });
    table
      .filter((_k, v) => v % 2 === 0, { materialized: { name: 'evens', key: S, value: L } })
      .mapValues((v) => v * 10, { materialized: { name: 'even-tens', key: S, value: L } })
      .groupBy((_k, v: number): [string, number] => ['all', v], { key: S, value: L })
      .aggregate(
        () => 0,
        (_k, v, agg: number) => agg + v,
        (_k, v, agg: number) => agg - v,
        { key: S, value: L },
      )
      .toStream()
      .to('out-mat', { key: S, value: L });
    return b.build();
  },
};

const joinGroupBy: DiffTopology = {
  name: 'join-group-by',
  inputs: { left: { ...words, table: true }, right: { ...words, table: true } },
  outputs: { 'out-left-count': long, 'out-outer-agg': str, 'out-inner-count': long },
  build() {
    const b = new StreamsBuilder();
    const left = b.table('left', { key: S, value: S });
    const right = b.table('right', { key: S, value: S });
    left
      .leftJoin(right, (l, r) => `${l}/${r}`)
      .groupBy((_k, v: string): [string, string] => [`len${v.length % 3}`, v], { key: S, value: S })
      .count()
      .toStream()
      .to('out-left-count', { key: S, value: L });
    left
      .outerJoin(right, (l, r) => `${l}/${r}`)
      .groupBy((k, v: string): [string, string] => [k.substring(0, 1), v], { key: S, value: S })
      .aggregate(
        () => '',
        (_k, v, agg: string) => tail(`${agg}+${v.length}`),
        (_k, v, agg: string) => tail(`${agg}-${v.length}`),
        { key: S, value: S },
      )
      .toStream()
      .to('out-outer-agg', { key: S, value: S });
    left
      .join(right, (l, r) => `${l}${r}`)
      .groupBy((_k, v: string): [string, string] => [v.includes('a') ? 'a' : 'none', v], { key: S, value: S })
      .count()
      .toStream()
      .to('out-inner-count', { key: S, value: L });
    return b.build();
  },
};

const suppressTimeLimit: DiffTopology = {
  name: 'suppress-time-limit',
  inputs: { in: words, tin: { ...words, table: true } },
  outputs: { 'out-counts': long, 'out-table': str, 'out-windowed': timeWindowed },
  build(params) {
    const b = new StreamsBuilder();
    const limit = p(params, 'limit');
    const grouped = b.stream('in', { key: S, value: S }).groupByKey({ key: S, value: S });
    grouped
      .count()
      .suppress(Suppressed.untilTimeLimit(limit, BufferConfig.maxRecords(p(params, 'maxRecords'))))
      .toStream()
      .to('out-counts', { key: S, value: L });
    b.table('tin', { key: S, value: S })
      .suppress(Suppressed.untilTimeLimit(limit, BufferConfig.unbounded()))
      .toStream()
      .to('out-table', { key: S, value: S });
    grouped
      .windowedBy(TimeWindows.ofSizeAndGrace(p(params, 'size'), p(params, 'grace')))
      .count()
      .suppress(Suppressed.untilTimeLimit(limit, BufferConfig.maxRecords(p(params, 'maxRecords'))))
      .toStream()
      .to('out-windowed', { key: Serdes.TimeWindowed(S), value: L });
    return b.build();
  },
};

const repartitionMerge: DiffTopology = {
  name: 'repartition-merge',
  inputs: { in: words, in2: words },
  outputs: { out: long, 'out-repartitioned': str },
  build() {
    const b = new StreamsBuilder();
    const rekeyed = b
      .stream('in', { key: S, value: S })
      .flatMap((k, v) => (v === null ? [] : v.split(' ').map((w): [string, string] => [w, `${k}`])))
      .repartition({ key: S, value: S });
    rekeyed.to('out-repartitioned', { key: S, value: S });
    rekeyed
      .merge(b.stream('in2', { key: S, value: S }))
      .groupByKey({ key: S, value: S })
      .count()
      .toStream()
      .to('out', { key: S, value: L });
    return b.build();
  },
};

/** The first word of a value: a key of the other table, or none for an empty value. */
const firstWord = (v: string): string | null => (v.length === 0 ? null : v.split(' ')[0]!);

const foreignKeyJoin: DiffTopology = {
  name: 'foreign-key-join',
  // A customer whose value serializes to no bytes is a deviation of its own (README), asserted apart.
  inputs: {
    orders: { ...words, table: true },
    customers: { ...words, values: 'nonEmptyWords', table: true },
  },
  outputs: {
    'out-inner': { ...str, filteredTable: true },
    'out-left': { ...str, filteredTable: true },
    'out-grouped': { ...long },
  },
  stores: [
    { name: 'fk-inner', value: 'string' },
    { name: 'fk-left', value: 'string' },
  ],
  build() {
    const b = new StreamsBuilder();
    const orders = b.table('orders', { key: S, value: S });
    const customers = b.table('customers', { key: S, value: S });
    orders
      .join(customers, firstWord, (o, c) => `${o}@${c}`, {
        materialized: { name: 'fk-inner', key: S, value: S },
      })
      .toStream()
      .to('out-inner', { key: S, value: S });
    const left = orders.leftJoin(
      customers,
      (v, k) => (v.length > 4 ? k : firstWord(v)),
      (o, c) => `${o}@${c}`,
      {
        materialized: { name: 'fk-left', key: S, value: S },
      },
    );
    left.toStream().to('out-left', { key: S, value: S });
    left
      .groupBy((_k, v: string): [string, string] => [`${v.length % 3}`, v], { key: S, value: S })
      .count()
      .toStream()
      .to('out-grouped', { key: S, value: L });
    return b.build();
  },
};

const globalTableJoin: DiffTopology = {
  name: 'global-table-join',
  inputs: { in: words, global: words },
  outputs: { 'out-join': str, 'out-left': str },
  build() {
    const b = new StreamsBuilder();
    const global = b.globalTable('global', { key: S, value: S });
    const stream = b.stream('in', { key: S, value: S });
    stream
      .join(
        global,
        (_k, v): string => (v === null ? NULL_KEY : (firstWord(v) ?? NULL_KEY)),
        (v, g) => `${v}^${g}`,
      )
      .to('out-join', { key: S, value: S });
    stream
      .leftJoin(
        global,
        (k, v): string => (v === null ? k : (firstWord(v) ?? NULL_KEY)),
        (v, g) => `${v}^${g}`,
      )
      .to('out-left', { key: S, value: S });
    return b.build();
  },
};

export const topologies: readonly DiffTopology[] = [
  statelessChain,
  splitMerge,
  groupByCount,
  groupByKeyAggregate,
  mapGroupAggregate,
  tableOps,
  tableGroupBy,
  streamTableJoin,
  tableTableJoin,
  tumblingWindows,
  hoppingCount,
  slidingCount,
  sessionWindows,
  suppressedWindows,
  streamStreamJoin,
  aggregateJoin,
  tableFilterGroupBy,
  joinGroupBy,
  suppressTimeLimit,
  repartitionMerge,
  foreignKeyJoin,
  globalTableJoin,
];
