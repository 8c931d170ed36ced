import { Headers, Serdes, SpringDltHeaders, type StreamsConfig } from '@kafka-pattern/streams-core';
import type { ConsumedRecord } from '@kafka-pattern/streams-core/client';
import { type TestRecord, TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { isDeadLetterHeader, matches, readDeadLetter, redriveRecord } from './redrive.ts';
import { type Order, validatedOrders } from './topology.ts';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
let driver: TopologyTestDriver | undefined;
afterEach(() => {
  driver?.close();
  driver = undefined;
});

function drive(currencies?: string[], config: Partial<StreamsConfig> = {}) {
  driver = new TopologyTestDriver(
    validatedOrders({ orders: 'orders', validOrders: 'valid-orders', ...(currencies ? { currencies } : {}) }),
    { config: { logger: silent, ...config } },
  );
  return {
    input: driver.createInputTopic('orders', Serdes.String(), Serdes.Buffer()),
    valid: driver.createOutputTopic('valid-orders', Serdes.String(), Serdes.JSON<Order>()),
    dlt: driver.createOutputTopic('orders-dlt', Serdes.Buffer(), Serdes.Buffer()),
  };
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const order = (orderId: string, amount: number, currency = 'EUR'): Order => ({
  orderId,
  customerId: 'c-1',
  amount,
  currency,
});

/** A dead letter as the re-drive tool reads it from the dead-letter topic. */
function consumed(r: TestRecord<Buffer | null, Buffer | null>, offset: bigint): ConsumedRecord {
  return {
    topic: 'orders-dlt',
    partition: 0,
    offset,
    timestamp: r.timestamp,
    key: r.key,
    value: r.value,
    headers: r.headers,
  };
}

describe('validated orders: bad bytes and bad values go to the dead-letter topic', () => {
  it('valid orders flow on; undecodable bytes and invalid orders are dead letters with their raw bytes and why', () => {
    const { input, valid, dlt } = drive();
    input.pipeInput('o-1', json(order('o-1', 10)), 1_000, { trace: 't-1' });
    input.pipeInput('o-2', Buffer.from([0xff, 0x00, 0x7b]), 2_000, { trace: 't-2' });
    input.pipeInput('o-3', json(order('o-3', -5)), 3_000);
    input.pipeInput('o-4', json(order('o-4', 20, 'GBP')), 4_000);
    input.pipeInput('o-5', json(order('o-5', 30)), 5_000);

    expect(valid.readValuesToList().map((o) => o.orderId)).toEqual(['o-1', 'o-5']);
    const dead = dlt.readRecordsToList();
    expect(dead.map((r) => r.key!.toString())).toEqual(['o-2', 'o-3', 'o-4']);
    expect(dead[0]!.value).toEqual(Buffer.from([0xff, 0x00, 0x7b]));
    expect(dead[0]!.headers.getString('trace')).toBe('t-2');
    expect(dead.map((r) => r.headers.getString(SpringDltHeaders.exceptionFqcn))).toEqual([
      'SerializationException',
      'InvalidOrderError',
      'InvalidOrderError',
    ]);
    expect(dead[1]!.headers.getString(SpringDltHeaders.exceptionMessage)).toBe(
      'order o-3: amount must be a positive number, got -5',
    );
    expect(dead[2]!.headers.getString(SpringDltHeaders.exceptionMessage)).toBe(
      'order o-4: currency "GBP" is not accepted (accepted: EUR, USD)',
    );
    expect(dead[2]!.timestamp).toBe(4_000);
  });

  it('JSON that is not an order object, and a tombstone, are invalid orders too', () => {
    const { input, valid, dlt } = drive();
    input.pipeInput('a', json([1, 2]));
    input.pipeInput('b', json('text'));
    input.pipeInput('c', json({ orderId: 'c', amount: 1, currency: 'EUR' }));
    input.pipeInput('d', null);
    expect(valid.isEmpty()).toBe(true);
    expect(
      dlt.readRecordsToList().map((r) => r.headers.getString(SpringDltHeaders.exceptionMessage)),
    ).toEqual([
      'an order is a JSON object, got an array',
      'an order is a JSON object, got string',
      'order c: customerId must be a non-empty string, got nothing',
      'an order is a JSON object, got null',
    ]);
  });

  it('the fixed version accepts what the first one rejected', () => {
    const { input, valid, dlt } = drive(['EUR', 'USD', 'GBP']);
    input.pipeInput('o-4', json(order('o-4', 20, 'GBP')));
    expect(valid.readValuesToList()).toEqual([order('o-4', 20, 'GBP')]);
    expect(dlt.isEmpty()).toBe(true);
  });
});

describe('reading dead letters and what a re-drive sends back', () => {
  it('Spring headers: where from, why, and the record as its producer wrote it', () => {
    const { input, dlt } = drive();
    input.pipeInput('o-1', json(order('o-1', 1)));
    input.pipeInput('o-4', json(order('o-4', 20, 'GBP')), 4_000, { trace: 't-4' });
    const d = readDeadLetter(consumed(dlt.readRecordsToList()[0]!, 7n));
    expect(d).toMatchObject({
      convention: 'spring',
      originalTopic: 'orders',
      originalPartition: 0,
      originalOffset: 1n,
      originalTimestamp: 4_000,
      consumerGroup: 'topology-test-driver',
      exceptionClass: 'InvalidOrderError',
      exceptionMessage: 'order o-4: currency "GBP" is not accepted (accepted: EUR, USD)',
    });
    expect(d.stacktrace).toMatch(/^InvalidOrderError: order o-4/);
    expect(d.originalHeaders.map(([k, v]) => [k, v.toString()])).toEqual([['trace', 't-4']]);

    const back = redriveRecord(d, 3);
    expect(back).toEqual({
      topic: 'orders',
      partition: 0,
      key: Buffer.from('o-4'),
      value: json(order('o-4', 20, 'GBP')),
      timestamp: 4_000,
      headers: [['trace', Buffer.from('t-4')]],
    });
    // timestamp 'now': the producer stamps it, for topics whose retention the original has outlived.
    expect(redriveRecord(d, 3, 'now')).not.toHaveProperty('timestamp');
  });

  it('a Spring @RetryableTopic dead letter (kafka_original-*, kafka_exception-*) is read too', () => {
    const int32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeInt32BE(n);
      return b;
    };
    const int64 = (n: number) => {
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(BigInt(n));
      return b;
    };
    const headers = new Headers([
      ['trace', 't-9'],
      ['kafka_original-topic', 'payments'],
      ['kafka_original-partition', int32(2)],
      ['kafka_original-offset', int64(41)],
      ['kafka_original-timestamp', int64(5_000)],
      ['kafka_exception-fqcn', 'ListenerExecutionFailedException'],
      ['kafka_exception-cause-fqcn', 'GatewayUnavailable'],
      ['kafka_exception-message', 'gateway down'],
      ['retry_topic-attempts', int32(3)],
      ['kafka_dlt-original-consumer-group', 'payments-group'],
    ]);
    const d = readDeadLetter({
      topic: 'payments-dlt',
      partition: 2,
      offset: 0n,
      timestamp: 9_000,
      key: Buffer.from('p-1'),
      value: Buffer.from('{}'),
      headers,
    });
    expect(d).toMatchObject({
      convention: 'spring',
      originalTopic: 'payments',
      originalPartition: 2,
      originalOffset: 41n,
      originalTimestamp: 5_000,
      consumerGroup: 'payments-group',
      exceptionClass: 'ListenerExecutionFailedException',
      exceptionCauseClass: 'GatewayUnavailable',
      exceptionMessage: 'gateway down',
    });
    expect(d.originalHeaders.map(([k, v]) => [k, v.toString()])).toEqual([['trace', 't-9']]);
  });

  it("KIP-1034 headers (deadLetter: { headers: 'kip1034' }) are read too, their numbers being text", () => {
    const { input, dlt } = drive(undefined, { deadLetter: { headers: 'kip1034' } });
    input.pipeInput('o-2', Buffer.from('{nope'), 9_000);
    const d = readDeadLetter(consumed(dlt.readRecordsToList()[0]!, 0n));
    expect(d).toMatchObject({
      convention: 'kip1034',
      originalTopic: 'orders',
      originalPartition: 0,
      originalOffset: 0n,
      originalTimestamp: 9_000,
      exceptionClass: 'SerializationException',
    });
    expect(d.originalHeaders).toEqual([]);
    expect(redriveRecord(d, 1)).toMatchObject({ topic: 'orders', partition: 0, timestamp: 9_000 });
  });

  it('keeps the original partition only where the topic still has it, and says why a record cannot go back', () => {
    const headers = new Headers([
      [SpringDltHeaders.originalTopic, 'orders'],
      [SpringDltHeaders.originalPartition, Buffer.from([0, 0, 0, 5])],
    ]);
    const d = readDeadLetter({
      topic: 'orders-dlt',
      partition: 1,
      offset: 3n,
      timestamp: 1,
      key: null,
      value: null,
      headers,
    });
    expect(redriveRecord(d, 6)).toMatchObject({ partition: 5 });
    expect(redriveRecord(d, 2)).not.toHaveProperty('partition');
    expect(redriveRecord(d, undefined)).toEqual({
      unroutable: 'dead letter orders-dlt-1@3 came from topic "orders", which does not exist (any more)',
    });
    const orphan = readDeadLetter({ ...d.record, headers: new Headers([['trace', 'x']]) });
    expect(orphan.convention).toBeUndefined();
    expect(redriveRecord(orphan, 1)).toEqual({
      unroutable:
        'dead letter orders-dlt-1@3 has no kafka_dlt-original-topic or __streams.errors.topic header, so where it came from is unknown: produce it to its topic by hand',
    });
  });

  it('filters: original topic, exception class or message substring, key, predicate; all must hold', () => {
    const { input, dlt } = drive();
    input.pipeInput('o-2', Buffer.from('{nope'));
    input.pipeInput('o-3', json(order('o-3', -5)));
    input.pipeInput('o-4', json(order('o-4', 20, 'GBP')));
    const all = dlt.readRecordsToList().map((r, i) => readDeadLetter(consumed(r, BigInt(i))));
    const keys = (f: Parameters<typeof matches>[1]) =>
      all.filter((d) => matches(d, f)).map((d) => d.record.key!.toString());
    expect(keys(undefined)).toEqual(['o-2', 'o-3', 'o-4']);
    expect(keys({})).toEqual(['o-2', 'o-3', 'o-4']);
    expect(keys({ originalTopic: 'orders' })).toEqual(['o-2', 'o-3', 'o-4']);
    expect(keys({ originalTopic: 'payments' })).toEqual([]);
    expect(keys({ exception: 'InvalidOrder' })).toEqual(['o-3', 'o-4']);
    expect(keys({ exception: 'Serialization' })).toEqual(['o-2']);
    expect(keys({ message: 'currency' })).toEqual(['o-4']);
    expect(keys({ exception: 'InvalidOrderError', message: 'amount' })).toEqual(['o-3']);
    expect(keys({ key: 'o-2' })).toEqual(['o-2']);
    expect(keys({ where: (d) => (d.originalOffset ?? 0n) >= 1n })).toEqual(['o-3', 'o-4']);
  });

  it("strips exactly the headers that say why and where from, Spring retry topics' included", () => {
    expect(
      [
        'kafka_dlt-original-topic',
        'kafka_dlt-key-exception-fqcn',
        '__streams.errors.offset',
        'kafka_original-topic',
        'kafka_exception-message',
        'retry_topic-attempts',
      ].every(isDeadLetterHeader),
    ).toBe(true);
    expect(['trace', '__TypeId__', 'kafka_correlationId', 'retry'].some(isDeadLetterHeader)).toBe(false);
  });
});
