/**
 * Registers the application's metrics on a prom-client Registry. Every series is read from
 * `app.metrics()` at scrape time (prom-client `collect` callbacks), so the processing path
 * pays nothing for it. Import from `@kafka-pattern/streams-core/prometheus`; prom-client is
 * an optional peer dependency of streams-core and only this entry point needs it.
 */
import { Counter, register as defaultRegister, Gauge, type Registry } from 'prom-client';
import type { StreamsMetrics, TaskMetricsSnapshot } from '../runtime/metrics.ts';

/** What the collector reads: a KafkaStreams instance, or anything that gives the same snapshot. */
export interface MetricsSource {
  metrics(): StreamsMetrics;
}

export interface StreamsMetricsOptions {
  /** Where the metrics are registered. Default: prom-client's default `register`. */
  registry?: Registry;
  /** Prefix of every metric name. Default `kafka_streams_`. */
  prefix?: string;
}

export interface RegisteredStreamsMetrics {
  readonly registry: Registry;
  /** The names of the registered metrics. */
  readonly names: readonly string[];
  /** Removes the metrics from the registry again (e.g. before the app is closed and replaced). */
  unregister(): void;
}

const TASK_COUNTERS: Array<[keyof TaskMetricsSnapshot, string, string]> = [
  ['processedRecords', 'records_processed_total', 'Records processed by the task'],
  ['droppedRecords', 'records_dropped_total', 'Records dropped (negative timestamp, null key, late)'],
  ['lateRecords', 'records_late_total', 'Records dropped because their window had closed'],
  ['deadLetteredRecords', 'records_dead_lettered_total', 'Records sent to a dead-letter topic'],
  ['skippedRecords', 'records_skipped_total', 'Records skipped by an exception handler'],
  ['punctuations', 'punctuations_total', 'Punctuator runs'],
];

type AppCounter = Exclude<
  {
    [K in keyof StreamsMetrics]: StreamsMetrics[K] extends number ? K : never;
  }[keyof StreamsMetrics],
  undefined
>;

const APP_COUNTERS: Array<[AppCounter, string, string]> = [
  ['commits', 'commits_total', 'Commits'],
  ['producedRecords', 'records_produced_total', 'Records produced (outputs, changelogs, dead letters)'],
  ['restoredRecords', 'records_restored_total', 'Changelog records restored'],
  ['standbyRecords', 'standby_records_total', 'Changelog records applied to standby replicas'],
  ['productionErrors', 'production_errors_total', 'Records dropped after the broker refused them'],
  ['transientFailures', 'transient_failures_total', 'Transient broker failures the stream thread retried'],
];

const APP_GAUGES: Array<[string, string, (m: StreamsMetrics) => number]> = [
  ['process_rate', 'Records processed per second over the last measurement interval', (m) => m.processRate],
  ['commit_latency_avg_seconds', 'Average commit latency', (m) => m.commitLatencyAvgMs / 1000],
  ['commit_latency_max_seconds', 'Largest commit latency', (m) => m.commitLatencyMaxMs / 1000],
  ['consumer_lag_records_sum', 'Records behind the end of all input partitions', (m) => m.totalLag],
  [
    'restore_rate',
    'Changelog records restored per second during the last restoration',
    (m) => m.restoreRatePerSec,
  ],
  [
    'broker_outage_seconds',
    'How long the stream thread has been riding out a broker outage (0 when there is none)',
    (m) => (m.outage ? m.outage.durationMs / 1000 : 0),
  ],
];

const STORE_OPERATIONS = ['get', 'put', 'delete', 'scan'] as const;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Registers the metrics of `app` on `options.registry` (default: prom-client's `register`).
 * Throws if a metric of the same name is already registered there, e.g. by a second call for
 * the same registry; give each application its own prefix or registry, or `unregister()` first.
 */
export function registerStreamsMetrics(
  app: MetricsSource,
  options: StreamsMetricsOptions = {},
): RegisteredStreamsMetrics {
  const registry = options.registry ?? defaultRegister;
  const prefix = options.prefix ?? 'kafka_streams_';
  if (prefix !== '' && !NAME.test(prefix))
    throw new Error(
      `Metric prefix '${prefix}' is not a valid Prometheus name start: use letters, digits, '_' or ':' and no leading digit`,
    );
  const names: string[] = [];
  const taken = (name: string) => {
    if (registry.getSingleMetric(name))
      throw new Error(
        `A metric named ${name} is already registered: call unregister() on the earlier registration, or pass another prefix or registry`,
      );
    names.push(name);
    return name;
  };
  // One snapshot per scrape: every collect() of the same scrape runs within one tick.
  let cached: StreamsMetrics | undefined;
  const snapshot = (): StreamsMetrics => {
    if (!cached) {
      cached = app.metrics();
      queueMicrotask(() => {
        cached = undefined;
      });
    }
    return cached;
  };

  for (const [field, suffix, help] of TASK_COUNTERS) {
    new Counter({
      name: taken(prefix + suffix),
      help,
      labelNames: ['application_id', 'task'] as const,
      registers: [registry],
      collect() {
        const m = snapshot();
        this.reset();
        for (const [task, t] of Object.entries(m.tasks))
          this.inc({ application_id: m.applicationId, task }, t[field]);
      },
    });
  }
  new Counter({
    name: taken(`${prefix}processor_records_processed_total`),
    help: 'Records given to a processor node of the topology',
    labelNames: ['application_id', 'task', 'processor'] as const,
    registers: [registry],
    collect() {
      const m = snapshot();
      this.reset();
      for (const [task, nodes] of Object.entries(m.processorRecords))
        for (const [processor, n] of Object.entries(nodes))
          this.inc({ application_id: m.applicationId, task, processor }, n);
    },
  });
  new Counter({
    name: taken(`${prefix}store_operations_total`),
    help: 'Operations on a state store: get, put, delete or scan (ranges, fetches of several records)',
    labelNames: ['application_id', 'task', 'store', 'operation'] as const,
    registers: [registry],
    collect() {
      const m = snapshot();
      this.reset();
      for (const [task, stores] of Object.entries(m.storeOperations))
        for (const [store, ops] of Object.entries(stores))
          for (const operation of STORE_OPERATIONS)
            this.inc({ application_id: m.applicationId, task, store, operation }, ops[`${operation}s`]);
    },
  });
  for (const [field, suffix, help] of APP_COUNTERS) {
    new Counter({
      name: taken(prefix + suffix),
      help,
      labelNames: ['application_id'] as const,
      registers: [registry],
      collect() {
        const m = snapshot();
        this.reset();
        this.inc({ application_id: m.applicationId }, m[field]);
      },
    });
  }
  for (const [suffix, help, read] of APP_GAUGES) {
    new Gauge({
      name: taken(prefix + suffix),
      help,
      labelNames: ['application_id'] as const,
      registers: [registry],
      collect() {
        const m = snapshot();
        this.reset();
        this.set({ application_id: m.applicationId }, read(m));
      },
    });
  }
  new Gauge({
    name: taken(`${prefix}consumer_lag_records`),
    help: 'Records behind the end of an input partition, as of the last lag check',
    labelNames: ['application_id', 'topic', 'partition'] as const,
    registers: [registry],
    collect() {
      const m = snapshot();
      this.reset();
      for (const [tp, lag] of Object.entries(m.consumerLag)) {
        const at = tp.lastIndexOf(':');
        this.set(
          { application_id: m.applicationId, topic: tp.slice(0, at), partition: tp.slice(at + 1) },
          lag,
        );
      }
    },
  });
  new Gauge({
    name: taken(`${prefix}state`),
    help: 'The application state: 1 for the current one',
    labelNames: ['application_id', 'state'] as const,
    registers: [registry],
    collect() {
      const m = snapshot();
      this.reset();
      this.set({ application_id: m.applicationId, state: m.state }, 1);
    },
  });

  return {
    registry,
    names,
    unregister() {
      for (const name of names) registry.removeSingleMetric(name);
    },
  };
}
