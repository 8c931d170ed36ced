/**
 * The benchmark registry: each scenario is one piece of work, run by the framework and by the
 * baselines a user would otherwise pick, side by side in one run on the same broker.
 *
 * To add a scenario: put its workload and one module per implementation in `src/<scenario>/`
 * (each module exports `start: StartPipe`, see harness/pipe.ts), and append it to SCENARIOS.
 * The harness pre-fills the input, runs every subject (warm-up, then the timed drains, then the
 * paced latency run), and divides each subject's records/s by the reference subject's with the
 * same guarantee.
 */
import type { InputRecord } from './harness/broker.ts';
import type { Guarantee } from './harness/pipe.ts';
import { expectedOutputs, orderRecord } from './stateless/workload.ts';

export interface Subject {
  /** Row label: the implementation, e.g. "kafka-pattern" or "raw pipe". */
  readonly name: string;
  readonly guarantee: Guarantee;
  /** Module exporting `start: StartPipe`. */
  readonly module: URL;
  /** The framework's own implementation: the one `--profile` profiles. */
  readonly framework: boolean;
}

export interface Scenario {
  readonly name: string;
  /** One line for the README: what the records/s of this scenario measure. */
  readonly summary: string;
  readonly inputPartitions: number;
  readonly record: (i: number) => InputRecord;
  /** How many output records the first `count` inputs produce (how the driver knows a drain ended). */
  readonly expectedOutputs: (count: number) => number;
  /** The subject whose records/s every row of the same guarantee is divided by. */
  readonly reference: string;
  readonly subjects: readonly Subject[];
}

/** Kafka Streams' defaults, which the framework keeps: every subject of a run gets the same. */
export const COMMIT_INTERVAL_MS: Record<Guarantee, number> = {
  at_least_once: 30_000,
  exactly_once_v2: 100,
};

const GUARANTEES: readonly Guarantee[] = ['at_least_once', 'exactly_once_v2'];

function bothGuarantees(name: string, module: URL, framework: boolean): Subject[] {
  return GUARANTEES.map((guarantee) => ({ name, guarantee, module, framework }));
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'stateless',
    summary:
      'stream(in).mapValues(parse JSON, price the order).filter(total >= 100).to(out): ~100-byte JSON values, about 81% of records pass',
    inputPartitions: 3,
    record: orderRecord,
    expectedOutputs,
    reference: 'raw pipe',
    subjects: [
      ...bothGuarantees('kafka-pattern', new URL('./stateless/kafka-streams.ts', import.meta.url), true),
      ...bothGuarantees('raw pipe', new URL('./stateless/raw-pipe.ts', import.meta.url), false),
    ],
  },
  // Next: stateful count (SQLite store vs in-memory), restoration rate, windowed aggregation,
  // stream-stream join. Each brings its own baselines next to the framework's subject.
];
