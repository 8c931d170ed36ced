/**
 * Producer fencing under exactly_once_v2: when another producer takes over the instance's
 * transactional id, the instance's open transaction is aborted by the broker; the instance
 * rejoins with fresh clients and carries on, and the committed output stays exact.
 */
import type { StreamsState } from '@kafka-pattern/streams-core';
import { describe, expect, it } from 'vitest';
import { counting, eventually, Gate, longs, rec, useHarness } from '../support/harness.ts';

const harness = useHarness();

async function running() {
  const h = harness();
  const { kafka } = h;
  kafka.createTopic('in', 1);
  kafka.createTopic('out', 1);
  const app = h.app(counting(), {
    applicationId: 'fence',
    processingGuarantee: 'exactly_once_v2',
    cacheMaxBytes: 0,
    commitIntervalMs: 0,
  });
  const states: StreamsState[] = [];
  app.onStateChange((s) => states.push(s));
  await app.start();
  kafka.produce([rec('in', 'a', '1'), rec('in', 'b', '2')]);
  await eventually(() => kafka.committedOffset('fence', 'in', 0) === 2n, 'first records committed');
  const [transactionalId] = kafka.transactionalIds();
  return { kafka, app, states, transactionalId: transactionalId! };
}

const clientsOf = (kafka: ReturnType<typeof harness>['kafka'], kind: 'producer' | 'consumer') =>
  kafka.clients.filter((c) => c.kind === kind);

describe('ProducerFencedError', () => {
  it('while a transaction is open: the open work is aborted, the instance rejoins with fresh clients, output exact', async () => {
    const { kafka, app, states, transactionalId } = await running();
    const gate = new Gate();
    const release = kafka.intercept('ack', async (send) => {
      if (send.records.some((r) => r.topic === 'out')) await gate.wait();
    });
    kafka.produce([rec('in', 'a', '3')]);
    await eventually(() => gate.waiting > 0, 'a transaction with records open');
    // Another producer registers the same transactional id: the open transaction is aborted.
    kafka.fence(transactionalId);
    expect(kafka.transactions(transactionalId).at(-1)!.state).toBe('aborted');
    gate.open();
    release();
    await eventually(
      () => kafka.committedOffset('fence', 'in', 0) === 3n,
      'the record reprocessed and committed',
    );
    expect(longs(kafka.records('out'))).toEqual([
      ['a', 1],
      ['b', 1],
      ['a', 2],
    ]);
    // Fresh clients: a second producer on the same transactional id, a second consumer, the first ones closed.
    const producers = clientsOf(kafka, 'producer');
    const consumers = clientsOf(kafka, 'consumer');
    expect(producers.map((p) => p.transactionalId)).toEqual([transactionalId, transactionalId]);
    expect(producers.map((p) => p.closed)).toEqual([true, false]);
    expect(consumers.map((c) => c.closed)).toEqual([true, false]);
    expect(kafka.members('fence')).toHaveLength(1);
    await app.waitForRunning();
    expect(app.store<string, number>('counts').get('a')).toBe(2);
    expect(states).toContain('REBALANCING');
    expect(states.at(-1)).toBe('RUNNING');
    expect(app.state).toBe('RUNNING');
  });

  it('between transactions: the next send is fenced and the instance carries on with exact counts', async () => {
    const { kafka, app, transactionalId } = await running();
    kafka.fence(transactionalId);
    kafka.produce([rec('in', 'a', '3'), rec('in', 'b', '4'), rec('in', 'a', '5')]);
    await eventually(() => kafka.committedOffset('fence', 'in', 0) === 5n, 'every record committed');
    expect(longs(kafka.records('out'))).toEqual([
      ['a', 1],
      ['b', 1],
      ['a', 2],
      ['b', 2],
      ['a', 3],
    ]);
    expect(clientsOf(kafka, 'producer')).toHaveLength(2);
    await app.waitForRunning();
    expect(app.store<string, number>('counts').get('a')).toBe(3);
    expect(app.store<string, number>('counts').get('b')).toBe(2);
  });
});
