import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerStreamsMetrics } from '../../src/prometheus/index.ts';
import { emptyTaskMetrics, type StreamsMetrics } from '../../src/runtime/metrics.ts';

function snapshot(processed: Record<string, number>): StreamsMetrics {
  const tasks = Object.fromEntries(
    Object.entries(processed).map(([task, n]) => [task, { ...emptyTaskMetrics(), processedRecords: n }]),
  );
  return {
    applicationId: 'app-1',
    state: 'RUNNING',
    tasks,
    processorRecords: { '0_0': { 'KSTREAM-MAPVALUES-0000000001': 4 } },
    storeOperations: { '0_0': { counts: { kind: 'keyValue', gets: 4, puts: 3, deletes: 1, scans: 0 } } },
    totals: emptyTaskMetrics(),
    processRate: 12.5,
    commits: 3,
    commitLatencyAvgMs: 20,
    commitLatencyMaxMs: 40,
    consumerLag: { 'in-topic:0': 7, 'in-topic:1': 0 },
    totalLag: 7,
    restoredRecords: 0,
    standbyRecords: 0,
    restoreRatePerSec: 0,
    producedRecords: 5,
    productionErrors: 0,
    transientFailures: 0,
    outage: undefined,
  };
}

describe('registerStreamsMetrics', () => {
  it('registers counters with _total, gauges in base units, and labels per task and partition', async () => {
    const registry = new Registry();
    registerStreamsMetrics({ metrics: () => snapshot({ '0_0': 4, '0_1': 2 }) }, { registry });
    const json = await registry.getMetricsAsJSON();
    const byName = new Map(json.map((m) => [m.name, m]));
    for (const m of json) {
      if (String(m.type) === 'counter') expect(m.name).toMatch(/_total$/);
      else expect(m.name).not.toMatch(/_total$/);
    }
    const processed = byName.get('kafka_streams_records_processed_total');
    expect(String(processed?.type)).toBe('counter');
    expect(processed?.values).toEqual([
      { value: 4, labels: { application_id: 'app-1', task: '0_0' } },
      { value: 2, labels: { application_id: 'app-1', task: '0_1' } },
    ]);
    expect(byName.get('kafka_streams_commit_latency_max_seconds')?.values[0]?.value).toBe(0.04);
    expect(byName.get('kafka_streams_consumer_lag_records')?.values).toContainEqual({
      value: 7,
      labels: { application_id: 'app-1', topic: 'in-topic', partition: '0' },
    });
    expect(byName.get('kafka_streams_processor_records_processed_total')?.values).toEqual([
      {
        value: 4,
        labels: { application_id: 'app-1', task: '0_0', processor: 'KSTREAM-MAPVALUES-0000000001' },
      },
    ]);
    expect(byName.get('kafka_streams_store_operations_total')?.values).toEqual(
      (
        [
          ['get', 4],
          ['put', 3],
          ['delete', 1],
          ['scan', 0],
        ] as const
      ).map(([operation, value]) => ({
        value,
        labels: { application_id: 'app-1', task: '0_0', store: 'counts', operation },
      })),
    );
    const text = await registry.metrics();
    expect(text).toContain('# TYPE kafka_streams_commits_total counter');
    expect(text).toContain('kafka_streams_commits_total{application_id="app-1"} 3');
    expect(text).toContain('kafka_streams_state{application_id="app-1",state="RUNNING"} 1');
  });

  it('reads the snapshot at every scrape, so values move and vanished tasks disappear', async () => {
    const registry = new Registry();
    let current = snapshot({ '0_0': 1, '0_1': 1 });
    registerStreamsMetrics({ metrics: () => current }, { registry, prefix: 'app_' });
    expect(await registry.metrics()).toContain(
      'app_records_processed_total{application_id="app-1",task="0_1"} 1',
    );
    current = snapshot({ '0_0': 9 });
    const text = await registry.metrics();
    expect(text).toContain('app_records_processed_total{application_id="app-1",task="0_0"} 9');
    expect(text).not.toContain('task="0_1"');
  });

  it('refuses a second registration of the same names, and unregister() frees them', () => {
    const registry = new Registry();
    const source = { metrics: () => snapshot({}) };
    const first = registerStreamsMetrics(source, { registry });
    expect(() => registerStreamsMetrics(source, { registry })).toThrow(/already registered.*unregister\(\)/);
    first.unregister();
    expect(registry.getMetricsAsArray()).toHaveLength(0);
    expect(registerStreamsMetrics(source, { registry }).names).toContain(
      'kafka_streams_records_processed_total',
    );
    expect(() => registerStreamsMetrics(source, { registry, prefix: '9x' })).toThrow(
      /not a valid Prometheus name/,
    );
  });
});
