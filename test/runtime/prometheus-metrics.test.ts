import { KafkaStreams, Serdes, StreamsBuilder, startQueryServer } from '@kafka-pattern/streams-core';
import { registerStreamsMetrics } from '@kafka-pattern/streams-core/prometheus';
import { describe, expect, it } from 'vitest';
import { bootstrapServers, createTopic, eventually, produce, record, uniqueName } from '../support/kafka.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';

const cleanups = teardownAfterEach();

describe('prom-client metrics on the query server', () => {
  it('serves the registry on GET /metrics, with records processed per task and store operations equal to the input', async () => {
    const input = await createTopic(uniqueName('prom-in'), 1);
    const output = await createTopic(uniqueName('prom-out'), 1);
    const applicationId = uniqueName('prom');
    const builder = new StreamsBuilder();
    builder
      .stream(input, { key: Serdes.String(), value: Serdes.String() })
      .mapValues((v) => v.toUpperCase())
      .groupByKey()
      .count({ name: 'counts' })
      .toStream()
      .to(output, { key: Serdes.String(), value: Serdes.Long() });
    const app = new KafkaStreams(builder.build(), {
      applicationId,
      bootstrapServers: bootstrapServers(),
      stateDir: tempStateDir(cleanups, 'kp-prom-'),
      commitIntervalMs: 200,
    });
    cleanups.push(() => app.close());
    // No registry given: prom-client's default register, as most applications have it.
    const registered = registerStreamsMetrics(app);
    const { registry } = registered;
    cleanups.push(() => registered.unregister());
    await app.start();
    const server = await startQueryServer(app, { port: 0, host: '127.0.0.1', registry });
    cleanups.push(() => server.close());
    await app.waitForRunning();

    const n = 25;
    await produce(Array.from({ length: n }, (_, i) => record(input, `k${i}`, `v${i}`)));
    const series = `kafka_streams_records_processed_total{application_id="${applicationId}",task="0_0"}`;
    const text = await eventually(
      async () => {
        const res = await fetch(`${server.url}/metrics`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe(registry.contentType);
        const body = await res.text();
        const produced = /^kafka_streams_records_produced_total\{[^}]*\} (\d+)$/m.exec(body)?.[1];
        // Outputs and changelog records are produced when the task commits, after processing.
        return body.includes(`${series} ${n}`) && Number(produced) >= n ? body : undefined;
      },
      30_000,
      `${series} to reach ${n} and ${n} records produced`,
    );
    const lines = text.split('\n');
    console.log(
      lines
        .filter((l) =>
          /records_processed_total|processor_records|store_operations|records_produced_total|commits_total|_state\{|consumer_lag_records\{/.test(
            l,
          ),
        )
        .join('\n'),
    );
    expect(text).toContain('# TYPE kafka_streams_records_processed_total counter');
    expect(text).toContain(`kafka_streams_state{application_id="${applicationId}",state="RUNNING"} 1`);
    // Every record passed the one mapValues node of task 0_0.
    expect(text).toMatch(
      new RegExp(
        `kafka_streams_processor_records_processed_total\\{application_id="${applicationId}",task="0_0",processor="KSTREAM-MAPVALUES-[^"]+"\\} ${n}\n`,
      ),
    );
    // The count read and wrote its store once per record (n distinct keys), and deleted nothing.
    const storeOps = (operation: string) =>
      `kafka_streams_store_operations_total{application_id="${applicationId}",task="0_0",store="counts",operation="${operation}"}`;
    expect(text).toContain(`${storeOps('put')} ${n}\n`);
    expect(text).toContain(`${storeOps('get')} ${n}\n`);
    expect(text).toContain(`${storeOps('delete')} 0\n`);
    const produced = lines.find((l) => l.startsWith('kafka_streams_records_produced_total{'));
    expect(Number(produced?.split(' ').at(-1))).toBeGreaterThanOrEqual(n);
  });
});
