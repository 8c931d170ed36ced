/**
 * Application metrics: a snapshot object and the Prometheus text exposition of it. Counters
 * come from the tasks; rates and latencies from the stream thread.
 */
import type { TaskMetrics } from '../processor/internals/task-metrics.ts';
import type { StoreOperationsSnapshot } from '../state/store-operations.ts';

export interface TaskMetricsSnapshot {
  processedRecords: number;
  droppedRecords: number;
  lateRecords: number;
  deadLetteredRecords: number;
  skippedRecords: number;
  punctuations: number;
}

export interface StreamsMetrics {
  applicationId: string;
  state: string;
  tasks: Record<string, TaskMetricsSnapshot>;
  /** Records each processor node was given, by task id and then node name (active tasks only). */
  processorRecords: Record<string, Record<string, number>>;
  /** Gets, puts, deletes and scans of each state store, by task id and then store name (active tasks only). */
  storeOperations: Record<string, Record<string, StoreOperationsSnapshot>>;
  totals: TaskMetricsSnapshot;
  /** Records processed per second over the last measurement interval. */
  processRate: number;
  commits: number;
  commitLatencyAvgMs: number;
  commitLatencyMaxMs: number;
  /** Records behind the end of each input partition, by `topic:partition`, as of the last lag check. */
  consumerLag: Record<string, number>;
  totalLag: number;
  restoredRecords: number;
  /** Changelog records applied to standby replicas. */
  standbyRecords: number;
  restoreRatePerSec: number;
  producedRecords: number;
  /** Records dropped after the broker refused them (productionExceptionHandler 'continue'). */
  productionErrors: number;
  /** Transient broker failures the stream thread retried (see `taskTimeoutMs`). */
  transientFailures: number;
  /** While the thread is riding out a broker outage: how long so far, and the last error. */
  outage: { durationMs: number; lastError: string } | undefined;
}

export function emptyTaskMetrics(): TaskMetricsSnapshot {
  return {
    processedRecords: 0,
    droppedRecords: 0,
    lateRecords: 0,
    deadLetteredRecords: 0,
    skippedRecords: 0,
    punctuations: 0,
  };
}

export function addTaskMetrics(into: TaskMetricsSnapshot, m: TaskMetrics | TaskMetricsSnapshot): void {
  into.processedRecords += m.processedRecords;
  into.droppedRecords += m.droppedRecords;
  into.lateRecords += m.lateRecords;
  into.deadLetteredRecords += m.deadLetteredRecords;
  into.skippedRecords += m.skippedRecords;
  into.punctuations += m.punctuations;
}

/**
 * The metrics of an instance with several stream threads: counters and rates add up, per-task
 * and per-partition figures are joined (each task runs in one thread), latencies are the
 * commit-weighted average and the maximum.
 */
export function mergeThreadMetrics(state: string, threads: readonly StreamsMetrics[]): StreamsMetrics {
  const [first, ...rest] = threads;
  if (!first) throw new Error('mergeThreadMetrics needs the metrics of one thread at least');
  const out: StreamsMetrics = {
    ...first,
    state,
    tasks: { ...first.tasks },
    processorRecords: { ...first.processorRecords },
    storeOperations: { ...first.storeOperations },
    totals: { ...first.totals },
    consumerLag: { ...first.consumerLag },
  };
  let latencyTotal = first.commitLatencyAvgMs * first.commits;
  for (const m of rest) {
    Object.assign(out.tasks, m.tasks);
    Object.assign(out.processorRecords, m.processorRecords);
    Object.assign(out.storeOperations, m.storeOperations);
    Object.assign(out.consumerLag, m.consumerLag);
    addTaskMetrics(out.totals, m.totals);
    out.processRate += m.processRate;
    out.commits += m.commits;
    latencyTotal += m.commitLatencyAvgMs * m.commits;
    out.commitLatencyMaxMs = Math.max(out.commitLatencyMaxMs, m.commitLatencyMaxMs);
    out.totalLag += m.totalLag;
    out.restoredRecords += m.restoredRecords;
    out.standbyRecords += m.standbyRecords;
    out.restoreRatePerSec += m.restoreRatePerSec;
    out.producedRecords += m.producedRecords;
    out.productionErrors += m.productionErrors;
    out.transientFailures += m.transientFailures;
    if (m.outage && (!out.outage || m.outage.durationMs > out.outage.durationMs)) out.outage = m.outage;
  }
  out.commitLatencyAvgMs = out.commits ? latencyTotal / out.commits : 0;
  return out;
}

const TASK_COUNTERS: Array<[keyof TaskMetricsSnapshot, string, string]> = [
  ['processedRecords', 'records_processed_total', 'Records processed'],
  ['droppedRecords', 'records_dropped_total', 'Records dropped (negative timestamp, null key, late)'],
  ['lateRecords', 'records_late_total', 'Records dropped because their window had closed'],
  ['deadLetteredRecords', 'records_dead_lettered_total', 'Records sent to a dead-letter topic'],
  ['skippedRecords', 'records_skipped_total', 'Records skipped by an exception handler'],
  ['punctuations', 'punctuations_total', 'Punctuator runs'],
];

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Prometheus text format (version 0.0.4). */
export function toPrometheus(m: StreamsMetrics): string {
  const app = `application_id="${esc(m.applicationId)}"`;
  const lines: string[] = [];
  for (const [field, name, help] of TASK_COUNTERS) {
    lines.push(`# HELP kafka_pattern_${name} ${help}`, `# TYPE kafka_pattern_${name} counter`);
    for (const [taskId, t] of Object.entries(m.tasks))
      lines.push(`kafka_pattern_${name}{${app},task_id="${esc(taskId)}"} ${t[field]}`);
  }
  const gauge = (name: string, help: string, value: number, labels = '') => {
    lines.push(
      `# HELP kafka_pattern_${name} ${help}`,
      `# TYPE kafka_pattern_${name} gauge`,
      `kafka_pattern_${name}{${app}${labels}} ${value}`,
    );
  };
  gauge('process_rate', 'Records processed per second', m.processRate);
  gauge('commit_latency_avg_ms', 'Average commit latency in ms', m.commitLatencyAvgMs);
  gauge('commit_latency_max_ms', 'Largest commit latency in ms', m.commitLatencyMaxMs);
  gauge('consumer_lag_total', 'Records behind the end of the input partitions', m.totalLag);
  gauge(
    'restore_rate',
    'Changelog records restored per second during the last restoration',
    m.restoreRatePerSec,
  );
  lines.push(
    '# HELP kafka_pattern_consumer_lag Records behind the end of an input partition',
    '# TYPE kafka_pattern_consumer_lag gauge',
  );
  for (const [tp, lag] of Object.entries(m.consumerLag)) {
    const at = tp.lastIndexOf(':');
    lines.push(
      `kafka_pattern_consumer_lag{${app},topic="${esc(tp.slice(0, at))}",partition="${tp.slice(at + 1)}"} ${lag}`,
    );
  }
  lines.push(
    '# HELP kafka_pattern_store_operations_total Operations on a state store: get, put, delete or scan',
    '# TYPE kafka_pattern_store_operations_total counter',
  );
  for (const [taskId, stores] of Object.entries(m.storeOperations))
    for (const [store, ops] of Object.entries(stores))
      for (const [operation, n] of [
        ['get', ops.gets],
        ['put', ops.puts],
        ['delete', ops.deletes],
        ['scan', ops.scans],
      ] as const)
        lines.push(
          `kafka_pattern_store_operations_total{${app},task_id="${esc(taskId)}",store="${esc(store)}",operation="${operation}"} ${n}`,
        );
  lines.push(
    '# HELP kafka_pattern_commits_total Commits',
    '# TYPE kafka_pattern_commits_total counter',
    `kafka_pattern_commits_total{${app}} ${m.commits}`,
  );
  lines.push(
    '# HELP kafka_pattern_records_produced_total Records produced (outputs, changelogs, dead letters)',
    '# TYPE kafka_pattern_records_produced_total counter',
    `kafka_pattern_records_produced_total{${app}} ${m.producedRecords}`,
  );
  lines.push(
    '# HELP kafka_pattern_standby_records_total Changelog records applied to standby replicas',
    '# TYPE kafka_pattern_standby_records_total counter',
    `kafka_pattern_standby_records_total{${app}} ${m.standbyRecords}`,
  );
  lines.push(
    '# HELP kafka_pattern_production_errors_total Records dropped after the broker refused them',
    '# TYPE kafka_pattern_production_errors_total counter',
    `kafka_pattern_production_errors_total{${app}} ${m.productionErrors}`,
  );
  lines.push(
    '# HELP kafka_pattern_transient_failures_total Transient broker failures the stream thread retried',
    '# TYPE kafka_pattern_transient_failures_total counter',
    `kafka_pattern_transient_failures_total{${app}} ${m.transientFailures}`,
  );
  gauge(
    'broker_outage_seconds',
    'How long the stream thread has been riding out a broker outage (0 when there is none)',
    m.outage ? m.outage.durationMs / 1000 : 0,
  );
  lines.push(
    '# HELP kafka_pattern_records_restored_total Changelog records restored',
    '# TYPE kafka_pattern_records_restored_total counter',
    `kafka_pattern_records_restored_total{${app}} ${m.restoredRecords}`,
  );
  return `${lines.join('\n')}\n`;
}
