/**
 * at_least_once on the in-memory cluster: an input offset is committed only after the outputs it
 * caused are acknowledged, and a refused batch of outputs either stops the instance (default) or
 * is counted and skipped (productionExceptionHandler 'continue').
 */

import { Serdes, StreamsBuilder, type StreamsState } from '@kafka-pattern/streams-core';
import { AuthenticationFailedError, KafkaClientError } from '@kafka-pattern/streams-core/client';
import { describe, expect, it } from 'vitest';
import { eventually, Gate, rec, strings, useHarness } from '../support/harness.ts';
import type { KafkaEvent } from '../support/in-memory-kafka.ts';

const S = Serdes.String();
const harness = useHarness();

function upperCase() {
  const builder = new StreamsBuilder();
  builder
    .stream('in', { key: S, value: S })
    .mapValues((v) => v.toUpperCase())
    .to('out', { key: S, value: S });
  return builder.build();
}

function setup(
  config: {
    productionExceptionHandler?: 'fail' | 'continue' | ((e: unknown, n: number) => 'fail' | 'continue');
  } = {},
) {
  const h = harness();
  h.kafka.createTopic('in', 1);
  h.kafka.createTopic('out', 1);
  const app = h.app(upperCase(), { applicationId: 'alos', commitIntervalMs: 0, ...config });
  return { kafka: h.kafka, app };
}

const toOut = (s: { records: ReadonlyArray<{ topic: string }> }) => s.records.some((r) => r.topic === 'out');

describe('at_least_once commits', () => {
  it('an input offset only after the outputs it caused are acknowledged', async () => {
    const { kafka, app } = setup();
    const gate = new Gate();
    kafka.intercept('ack', async (send) => {
      if (toOut(send)) await gate.wait();
    });
    await app.start();
    kafka.produce([rec('in', 'a', 'x'), rec('in', 'b', 'y'), rec('in', 'c', 'z')]);
    await eventually(() => gate.waiting > 0, 'outputs written and held unacknowledged');
    // The outputs are in the log, but not acknowledged: nothing may be committed yet.
    expect(kafka.records('out').length).toBeGreaterThan(0);
    expect(kafka.committed('alos')).toEqual(new Map());
    gate.open();
    await eventually(
      () => kafka.committedOffset('alos', 'in', 0) === 3n,
      'offset 3 committed',
      5_000,
      () => kafka.committed('alos'),
    );
    expect(strings(kafka.records('out'))).toEqual([
      ['a', 'X'],
      ['b', 'Y'],
      ['c', 'Z'],
    ]);
    // Every commit of offset N comes after the acknowledgement of N outputs (one per input).
    let acked = 0;
    const commits: bigint[] = [];
    for (const e of kafka.events as KafkaEvent[]) {
      if (e.type === 'ack') acked += e.records.filter((r) => r.topic === 'out').length;
      if (e.type === 'commit') {
        const offset = e.offsets.find((o) => o.topic === 'in')!.offset;
        commits.push(offset);
        expect(BigInt(acked)).toBeGreaterThanOrEqual(offset);
      }
    }
    expect(commits.at(-1)).toBe(3n);
  });

  it("a refused batch stops the instance in ERROR by default ('fail'), committing nothing past it", async () => {
    const { kafka, app } = setup();
    const states: StreamsState[] = [];
    app.onStateChange((s) => states.push(s));
    await app.start();
    kafka.produce([rec('in', 'a', 'x')]);
    await eventually(() => kafka.committedOffset('alos', 'in', 0) === 1n, 'first record committed');
    const refused = new KafkaClientError('MESSAGE_TOO_LARGE: the broker refused the batch');
    kafka.failNext('send', refused, { when: toOut });
    kafka.produce([rec('in', 'b', 'y')]);
    await eventually(
      () => app.state === 'ERROR',
      'state ERROR',
      5_000,
      () => app.state,
    );
    expect(String(app.error)).toMatch(/Producing 1 records failed: MESSAGE_TOO_LARGE/);
    expect((app.error as Error).cause).toBe(refused);
    expect(states.slice(-2)).toEqual(['PENDING_ERROR', 'ERROR']);
    expect(kafka.committedOffset('alos', 'in', 0)).toBe(1n);
    expect(strings(kafka.records('out'))).toEqual([['a', 'X']]);
    // The stopped instance let go of its clients.
    expect(
      kafka.clients.filter((c) => c.kind === 'consumer' || c.kind === 'producer').every((c) => c.closed),
    ).toBe(true);
  });

  it("with 'continue' a refused batch is counted and dropped, and processing goes on", async () => {
    const { kafka, app } = setup({ productionExceptionHandler: 'continue' });
    await app.start();
    kafka.produce([rec('in', 'a', 'x')]);
    await eventually(() => kafka.committedOffset('alos', 'in', 0) === 1n, 'first record committed');
    kafka.failNext('send', new KafkaClientError('refused'), { when: toOut });
    kafka.produce([rec('in', 'b', 'y')]);
    await eventually(() => app.metrics().productionErrors === 1, 'the refused record counted');
    kafka.produce([rec('in', 'c', 'z')]);
    await eventually(() => kafka.committedOffset('alos', 'in', 0) === 3n, 'all three committed');
    expect(strings(kafka.records('out'))).toEqual([
      ['a', 'X'],
      ['c', 'Z'],
    ]);
    expect(app.state).toBe('RUNNING');
    expect(app.metrics().producedRecords).toBe(2);
    expect(app.metricsText()).toMatch(/kafka_pattern_production_errors_total\{application_id="alos"\} 1/);
  });

  it("a refused login stops the instance even with 'continue': it is not the records' fault", async () => {
    const { kafka, app } = setup({ productionExceptionHandler: 'continue' });
    await app.start();
    kafka.produce([rec('in', 'a', 'x')]);
    await eventually(() => kafka.committedOffset('alos', 'in', 0) === 1n, 'first record committed');
    const refused = new AuthenticationFailedError('SASL authentication failed for user "app"', {
      mechanism: 'SCRAM-SHA-512',
      username: 'app',
      broker: 'b:9094',
    });
    kafka.failNext('send', refused, { when: toOut });
    kafka.produce([rec('in', 'b', 'y')]);
    await eventually(
      () => app.state === 'ERROR',
      'state ERROR',
      5_000,
      () => app.state,
    );
    expect(app.error).toBe(refused);
    expect(app.metrics().productionErrors).toBe(0);
    expect(kafka.committedOffset('alos', 'in', 0)).toBe(1n);
  });

  it('a handler function decides per failure, given the error and the number of records', async () => {
    const seen: Array<[unknown, number]> = [];
    const { kafka, app } = setup({
      productionExceptionHandler: (error, n) => {
        seen.push([error, n]);
        return seen.length === 1 ? 'continue' : 'fail';
      },
    });
    await app.start();
    const first = new KafkaClientError('first');
    const second = new KafkaClientError('second');
    kafka.failNext('send', first, { when: toOut });
    kafka.produce([rec('in', 'a', 'x')]);
    await eventually(
      () => kafka.committedOffset('alos', 'in', 0) === 1n,
      'first record dropped and committed',
    );
    kafka.failNext('send', second, { when: toOut });
    kafka.produce([rec('in', 'b', 'y')]);
    await eventually(() => app.state === 'ERROR', 'state ERROR');
    expect(seen).toEqual([
      [first, 1],
      [second, 1],
    ]);
    expect(kafka.committedOffset('alos', 'in', 0)).toBe(1n);
    expect(kafka.records('out')).toEqual([]);
  });
});
