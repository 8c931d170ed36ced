/**
 * The benchmark registry: each scenario is one piece of work, run by the framework and by the
 * baselines a user would otherwise pick, side by side in one run on the same broker.
 *
 * To add a scenario: put its workload and one module per implementation in `src/<scenario>/`
 * (each module exports `start: StartPipe`, see harness/pipe.ts), and append it to SCENARIOS.
 * The harness pre-fills the inputs, runs every subject (warm-up, then the timed runs, then the
 * paced latency run), and divides each subject's records/s by each baseline's with the same
 * guarantee; a baseline may be a subject of an earlier scenario of the same run.
 */

import { SERVICE_DELAY_MS } from './async-step/workload.ts';
import type { InputRecord } from './harness/broker.ts';
import type { OutputCheck } from './harness/check.ts';
import type { Guarantee, PipeParams } from './harness/pipe.ts';
import { joinOutput, onePerPair, orderSide, paymentSide } from './join/workload.ts';
import { COUNT_STORE } from './stateful/topology.ts';
import { countOutput, keyedRecord, oneOutputPerRecord, windowedCountOutput } from './stateful/workload.ts';
import { approvalOutput, expectedOutputs, orderRecord, statelessOutput } from './stateless/workload.ts';
import { WINDOW_MS } from './windowed/kafka-streams.ts';

export interface Subject {
  /** Row label: the implementation, e.g. "kafka-pattern" or "raw pipe". */
  readonly name: string;
  readonly guarantee: Guarantee;
  /** Module exporting `start: StartPipe`. */
  readonly module: URL;
  /** The framework's own implementation: the one `--profile` profiles. */
  readonly framework: boolean;
  readonly params: PipeParams;
  /** Whether the paced latency run applies. */
  readonly latency: boolean;
  /**
   * Set on a twin added by `--compare`: the name of the subject of this commit whose module it
   * runs as of the other commit.
   */
  readonly twinOf?: string;
  /**
   * Untimed drains before the timed ones (default 1): a JVM needs more than one before its
   * code is compiled.
   */
  readonly warmups?: number;
  /**
   * The share of the scenario's records this subject drains (default 1), from inputs of its
   * own: for one too slow to drain the whole input several times in a run. Its records/s are
   * still records over the time to drain them.
   */
  readonly recordsShare?: number;
}

/** Whose records/s a row is divided by: a subject with the same guarantee, in this scenario or another. */
export interface Baseline {
  readonly scenario?: string;
  readonly subject: string;
  /** How the ratio is labelled in the table. */
  readonly label: string;
}

interface ScenarioBase {
  readonly name: string;
  /** One line for the README: what the records/s of this scenario measure. */
  readonly summary: string;
  readonly inputPartitions: number;
  /** One generator per input topic; a drain writes the same number of records to each. */
  readonly inputs: readonly ((i: number) => InputRecord)[];
  /**
   * Records per input topic and drain, as a multiple of `--records`: the slower scenarios drain
   * fewer, so a drain takes a few seconds everywhere and the whole run stays within minutes.
   */
  readonly recordsFactor: number;
  readonly baselines: readonly Baseline[];
  readonly subjects: readonly Subject[];
}

/** Records/s = input records (of all input topics) over the time to drain them. */
export interface DrainScenario extends ScenarioBase {
  readonly kind: 'drain';
  /** How many output records the first `count` inputs (of each topic) produce: how the driver knows a drain ended. */
  readonly expectedOutputs: (count: number) => number;
  /** What every subject's first drain must have written, record for record (harness/check.ts). */
  readonly output: OutputCheck;
}

/**
 * Records/s = changelog records restored over the restoration's duration, as the pipe reports
 * it. The changelog is written once, untimed, by `writer` draining the input.
 */
export interface RestoreScenario extends ScenarioBase {
  readonly kind: 'restore';
  readonly writer: Subject;
  readonly writerOutputs: (count: number) => number;
  /** Names the changelog of the writer's application. */
  readonly store: string;
}

export type Scenario = DrainScenario | RestoreScenario;

/** Kafka Streams' defaults, which the framework keeps: every subject of a run gets the same. */
export const COMMIT_INTERVAL_MS: Record<Guarantee, number> = {
  at_least_once: 30_000,
  exactly_once_v2: 100,
};

const GUARANTEES: readonly Guarantee[] = ['at_least_once', 'exactly_once_v2'];

function module(path: string): URL {
  return new URL(path, import.meta.url);
}

function subjects(
  name: string,
  path: string,
  o: {
    framework: boolean;
    params?: PipeParams;
    latency?: boolean;
    guarantees?: readonly Guarantee[];
    warmups?: number;
  },
): Subject[] {
  return (o.guarantees ?? GUARANTEES).map((guarantee) => ({
    name,
    guarantee,
    module: module(path),
    framework: o.framework,
    params: o.params ?? {},
    latency: o.latency ?? true,
    ...(o.warmups === undefined ? {} : { warmups: o.warmups }),
  }));
}

/** Kafka Streams itself, the baseline of every scenario it runs: bench/java, driven by peers/kafka-streams-java.ts. */
export const KAFKA_STREAMS_JAVA = 'Kafka Streams (Java)';
const KAFKA_STREAMS_BASELINE: Baseline = { subject: KAFKA_STREAMS_JAVA, label: 'Kafka Streams' };

/** A hand-written KafkaJS loop (baseline/kafkajs-loop.ts), and @kafkats/flow's DSL (peers/kafkats-flow.ts). */
export const KAFKAJS = 'KafkaJS';
export const KAFKATS_FLOW = '@kafkats/flow';

/**
 * @kafkats/flow processes and produces one record at a time, at a few hundred to a thousand
 * records/s here: it drains a twentieth of the input, and its throughput is below the latency
 * run's rate, so it gets none. Its join runs at about a hundred records/s: it drains a
 * thousandth, so that its drains too take seconds, not minutes.
 */
const FLOW_RECORDS_SHARE = 0.05;
const FLOW_JOIN_RECORDS_SHARE = 0.001;

function kafkatsFlow(topology: 'stateless' | 'count' | 'windowed' | 'join'): Subject[] {
  const recordsShare = topology === 'join' ? FLOW_JOIN_RECORDS_SHARE : FLOW_RECORDS_SHARE;
  return subjects(KAFKATS_FLOW, './peers/kafkats-flow.ts', {
    framework: false,
    params: { topology },
    latency: false,
  }).map((s) => ({ ...s, recordsShare }));
}

/** Its JVM compiles the hot code during the first drains: two are untimed. */
export const JVM_WARMUPS = 2;

function kafkaStreamsJava(
  topology: 'stateless' | 'count' | 'windowed' | 'join',
  o: { latency?: boolean; guarantees?: readonly Guarantee[] } = {},
): Subject[] {
  return subjects(KAFKA_STREAMS_JAVA, './peers/kafka-streams-java.ts', {
    framework: false,
    params: { topology },
    warmups: JVM_WARMUPS,
    ...o,
  });
}

// The record cache off: every update of a count is written to the output and the changelog,
// so the number of outputs is known (the driver's end of an at_least_once drain, whose 30 s
// commit interval would otherwise hold the cached counts back past the drain) and the work per
// record is the same in every run, the hand-rolled Map pipe's included.
const NO_CACHE = { cacheMaxBytes: 0 };

/** Calls in flight per task (partition) in the async-step scenario. */
const ASYNC_CONCURRENCY = [1, 16, 64] as const;

export const SCENARIOS: readonly Scenario[] = [
  {
    kind: 'drain',
    name: 'stateless',
    summary:
      'stream(in).mapValues(parse JSON, price the order).filter(total >= 100).to(out): ~100-byte JSON values, about 81% of records pass',
    inputPartitions: 3,
    inputs: [orderRecord],
    recordsFactor: 1,
    expectedOutputs,
    output: statelessOutput,
    baselines: [KAFKA_STREAMS_BASELINE, { subject: 'raw pipe', label: 'raw pipe' }],
    subjects: [
      ...kafkaStreamsJava('stateless'),
      ...subjects('kafka-pattern', './stateless/kafka-streams.ts', { framework: true }),
      ...subjects('kafka-pattern 2 threads', './stateless/kafka-streams.ts', {
        framework: true,
        params: { threads: 2 },
      }),
      ...subjects('raw pipe', './stateless/raw-pipe.ts', { framework: false }),
      ...subjects('RxJS receiver → sender', './stateless/rx.ts', { framework: false }),
      ...subjects(KAFKAJS, './stateless/kafkajs.ts', { framework: false }),
      ...kafkatsFlow('stateless'),
    ],
  },
  {
    kind: 'drain',
    name: 'stateful count',
    summary:
      'stream(in).groupByKey().count().toStream().to(out): the same ~100-byte values under 9,999 keys, record cache off (one output and one changelog record per input)',
    inputPartitions: 3,
    inputs: [keyedRecord],
    recordsFactor: 0.5,
    expectedOutputs: oneOutputPerRecord,
    output: countOutput,
    baselines: [
      KAFKA_STREAMS_BASELINE,
      { scenario: 'stateless', subject: 'kafka-pattern', label: 'stateless' },
      { subject: 'raw pipe + Map', label: 'Map pipe' },
    ],
    subjects: [
      ...kafkaStreamsJava('count'),
      ...subjects('kafka-pattern SQLite', './stateful/kafka-streams.ts', {
        framework: true,
        params: { storeType: 'persistent', ...NO_CACHE },
      }),
      ...subjects('kafka-pattern in-memory', './stateful/kafka-streams.ts', {
        framework: true,
        params: { storeType: 'in-memory', ...NO_CACHE },
      }),
      ...subjects('kafka-pattern SQLite 2 threads', './stateful/kafka-streams.ts', {
        framework: true,
        params: { storeType: 'persistent', threads: 2, ...NO_CACHE },
      }),
      ...subjects('raw pipe + Map', './stateful/raw-map-pipe.ts', { framework: false }),
      ...subjects(`${KAFKAJS} + Map`, './stateful/kafkajs-map.ts', { framework: false }),
      ...kafkatsFlow('count'),
    ],
  },
  {
    kind: 'restore',
    name: 'restoration',
    summary:
      "a new instance with an empty state directory restores the count store from its changelog (one record per input of an at_least_once count run with the cache off, 9,999 keys); records/s from the restore listener: records restored over the restoration's duration",
    inputPartitions: 3,
    inputs: [keyedRecord],
    recordsFactor: 3,
    writer: subjects('kafka-pattern SQLite', './stateful/kafka-streams.ts', {
      framework: true,
      params: { storeType: 'persistent', ...NO_CACHE },
      guarantees: ['at_least_once'],
    })[0]!,
    writerOutputs: oneOutputPerRecord,
    store: COUNT_STORE,
    baselines: [KAFKA_STREAMS_BASELINE, { subject: 'partition reader', label: 'reader' }],
    subjects: [
      ...kafkaStreamsJava('count', { latency: false, guarantees: ['at_least_once'] }),
      ...subjects('kafka-pattern SQLite', './restoration/kafka-streams.ts', {
        framework: true,
        params: { storeType: 'persistent' },
        latency: false,
        guarantees: ['at_least_once'],
      }),
      ...subjects('kafka-pattern in-memory', './restoration/kafka-streams.ts', {
        framework: true,
        params: { storeType: 'in-memory' },
        latency: false,
        guarantees: ['at_least_once'],
      }),
      ...subjects('partition reader', './restoration/partition-reader.ts', {
        framework: false,
        latency: false,
        guarantees: ['at_least_once'],
      }),
    ],
  },
  {
    kind: 'drain',
    name: 'windowed count',
    summary:
      'groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(60 s)).count() → toStream → key@windowStart → to(out) on the stateful count input, event times 2 ms apart (30,000 records per window, each key about 3 times), SQLite window store, record cache off',
    inputPartitions: 3,
    inputs: [keyedRecord],
    recordsFactor: 0.5,
    expectedOutputs: oneOutputPerRecord,
    output: windowedCountOutput(WINDOW_MS),
    baselines: [
      KAFKA_STREAMS_BASELINE,
      { scenario: 'stateful count', subject: 'kafka-pattern SQLite', label: 'count' },
    ],
    subjects: [
      ...kafkaStreamsJava('windowed'),
      ...subjects('kafka-pattern SQLite', './windowed/kafka-streams.ts', {
        framework: true,
        params: NO_CACHE,
      }),
      ...kafkatsFlow('windowed'),
    ],
  },
  {
    kind: 'drain',
    name: 'stream-stream join',
    summary: `orders.join(payments, joiner, JoinWindows.ofTimeDifferenceWithNoGrace(5 s)).to(out): two co-partitioned topics, each order meets its one payment (same key and event time); records/s counts the records of both topics; SQLite join stores`,
    inputPartitions: 3,
    inputs: [orderSide, paymentSide],
    recordsFactor: 0.5,
    expectedOutputs: onePerPair,
    output: joinOutput,
    baselines: [
      KAFKA_STREAMS_BASELINE,
      { scenario: 'stateless', subject: 'kafka-pattern', label: 'stateless' },
    ],
    subjects: [
      ...kafkaStreamsJava('join'),
      ...subjects('kafka-pattern SQLite', './join/kafka-streams.ts', { framework: true }),
      ...kafkatsFlow('join'),
    ],
  },
  {
    kind: 'drain',
    name: 'async step',
    summary: `stream(in).mapValuesAsync(POST the value to a local HTTP service that answers after ${SERVICE_DELAY_MS} ms).to(out), per-key order, concurrency 1, 16 or 64 per task (partition); the baseline is a hand-written Promise-per-record loop on the raw client with the same calls, per-key order and per-partition concurrency`,
    inputPartitions: 3,
    inputs: [orderRecord],
    recordsFactor: 0.01,
    expectedOutputs: (count) => count,
    output: approvalOutput,
    baselines: ASYNC_CONCURRENCY.map((c) => ({ subject: `Promise loop c=${c}`, label: `loop c=${c}` })),
    subjects: ASYNC_CONCURRENCY.flatMap((c) => [
      ...subjects(`kafka-pattern c=${c}`, './async-step/kafka-streams.ts', {
        framework: true,
        params: { concurrency: c },
        latency: false,
        guarantees: ['at_least_once'],
      }),
      ...subjects(`Promise loop c=${c}`, './async-step/raw-promise-loop.ts', {
        framework: false,
        params: { concurrency: c },
        latency: false,
        guarantees: ['at_least_once'],
      }),
    ]),
  },
];

/**
 * The scenarios `names` ask for, in registry order (a baseline may be a subject of an earlier
 * scenario): each name is a scenario's name or the start of exactly one (case-insensitive), so
 * `stateful` is the stateful count. None asks for all of them.
 */
export function selectScenarios(names: readonly string[]): Scenario[] {
  if (names.length === 0) return [...SCENARIOS];
  const wanted = new Set<Scenario>();
  for (const name of names) {
    const n = name.trim().toLowerCase();
    const exact = SCENARIOS.filter((s) => s.name.toLowerCase() === n);
    const matches = exact.length > 0 ? exact : SCENARIOS.filter((s) => s.name.toLowerCase().startsWith(n));
    if (matches.length !== 1) {
      const known = SCENARIOS.map((s) => `'${s.name}'`).join(', ');
      throw new Error(
        matches.length === 0
          ? `No scenario named '${name}': known are ${known}`
          : `'${name}' names ${matches.map((s) => `'${s.name}'`).join(' and ')}: say which`,
      );
    }
    wanted.add(matches[0]!);
  }
  return SCENARIOS.filter((s) => wanted.has(s));
}

/**
 * The scenarios with only the subjects whose names start with one of `prefixes`
 * (case-insensitive); a scenario left with none is dropped, and none left at all is an error.
 */
export function selectSubjects(scenarios: readonly Scenario[], prefixes: readonly string[]): Scenario[] {
  const wanted = prefixes.map((p) => p.trim().toLowerCase()).filter((p) => p !== '');
  const keep = (s: Subject) => wanted.some((p) => s.name.toLowerCase().startsWith(p));
  const kept = scenarios
    .map((sc) => ({ ...sc, subjects: sc.subjects.filter(keep) }))
    .filter((sc) => sc.subjects.length > 0);
  if (kept.length === 0)
    throw new Error(`No subject of the selected scenarios starts with ${prefixes.join(' or ')}`);
  return kept;
}
