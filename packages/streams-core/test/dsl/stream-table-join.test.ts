import { Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { afterEach, describe, expect, it } from 'vitest';

const S = Serdes.String();

let driver: TopologyTestDriver | undefined;
afterEach(() => {
  driver?.close();
  driver = undefined;
});

function enrich(kind: 'join' | 'leftJoin') {
  const builder = new StreamsBuilder();
  const customers = builder.table('customers', { key: S, value: S });
  const orders = builder.stream('orders', { key: S, value: S });
  const joiner = (order: string, customer: string | null) => `${order} for ${customer}`;
  (kind === 'join' ? orders.join(customers, joiner) : orders.leftJoin(customers, joiner)).to('enriched', {
    value: S,
  });
  driver = new TopologyTestDriver(builder.build());
  return {
    customers: driver.createInputTopic('customers', S, S),
    orders: driver.createInputTopic('orders', S, S),
    output: driver.createOutputTopic('enriched', S, S),
  };
}

const triples = (records: Array<{ key: unknown; value: unknown; timestamp: number }>) =>
  records.map((r) => [r.key, r.value, r.timestamp]);

describe('KStream-KTable join', () => {
  it('joins each stream record with the current table row, at the stream record timestamp', () => {
    const { customers, orders, output } = enrich('join');
    customers.pipeInput('c1', 'Ann', 100);
    orders.pipeInput('c1', 'book', 50);
    customers.pipeInput('c1', 'Ann B.', 200);
    orders.pipeInput('c1', 'pen', 60);
    expect(triples(output.readRecordsToList())).toEqual([
      ['c1', 'book for Ann', 50],
      ['c1', 'pen for Ann B.', 60],
    ]);
  });

  it('inner join drops stream records with no table row; a deleted row no longer joins', () => {
    const { customers, orders, output } = enrich('join');
    orders.pipeInput('c1', 'early', 1);
    customers.pipeInput('c1', 'Ann', 2);
    orders.pipeInput('c1', 'on-time', 3);
    customers.pipeInput('c1', null, 4);
    orders.pipeInput('c1', 'late', 5);
    orders.pipeInput(null, 'keyless', 6);
    expect(output.readValuesToList()).toEqual(['on-time for Ann']);
  });

  it('left join joins stream records with no table row with null', () => {
    const { customers, orders, output } = enrich('leftJoin');
    orders.pipeInput('c1', 'early', 1);
    customers.pipeInput('c1', 'Ann', 2);
    orders.pipeInput('c1', 'on-time', 3);
    customers.pipeInput('c1', null, 4);
    orders.pipeInput('c1', 'late', 5);
    expect(triples(output.readRecordsToList())).toEqual([
      ['c1', 'early for null', 1],
      ['c1', 'on-time for Ann', 3],
      ['c1', 'late for null', 5],
    ]);
  });

  it('left join keeps a stream record without a key, joined with null; inner join drops and counts it (KIP-962)', () => {
    for (const kind of ['join', 'leftJoin'] as const) {
      const { customers, orders, output } = enrich(kind);
      customers.pipeInput('c1', 'Ann', 1);
      orders.pipeInput(null, 'keyless', 2);
      expect(output.readKeyValuesToList()).toEqual(
        kind === 'join' ? [] : [{ key: null, value: 'keyless for null' }],
      );
      expect(Object.values(driver!.metrics())[0]!.droppedRecords).toBe(kind === 'join' ? 1 : 0);
      driver!.close();
    }
  });

  it('table updates alone emit nothing', () => {
    for (const kind of ['join', 'leftJoin'] as const) {
      const { customers, output } = enrich(kind);
      customers.pipeInput('c1', 'Ann', 1);
      customers.pipeInput('c1', 'Bob', 2);
      customers.pipeInput('c1', null, 3);
      expect(output.isEmpty()).toBe(true);
      driver!.close();
    }
  });

  it('passes the key to the joiner and joins with a filtered, unmaterialized table through its parent', () => {
    const builder = new StreamsBuilder();
    const vip = builder.table('customers', { key: S, value: S }).filter((_k, v) => v.startsWith('VIP'));
    builder
      .stream('orders', { key: S, value: S })
      .join(vip, (order, customer, key) => `${key}:${order}:${customer}`)
      .to('out', { value: S });
    driver = new TopologyTestDriver(builder.build());
    const customers = driver.createInputTopic('customers', S, S);
    const orders = driver.createInputTopic('orders', S, S);
    customers.pipeInput('c1', 'VIP Ann', 1);
    customers.pipeInput('c2', 'Bob', 2);
    orders.pipeInput('c1', 'o1', 3);
    orders.pipeInput('c2', 'o2', 4);
    expect(driver.createOutputTopic('out', S, S).readKeyValuesToList()).toEqual([
      { key: 'c1', value: 'c1:o1:VIP Ann' },
    ]);
  });

  it('joins with a table-table join result, reading both sides on demand', () => {
    const builder = new StreamsBuilder();
    const names = builder.table('names', { key: S, value: S });
    const cities = builder.table('cities', { key: S, value: S });
    const profiles = names.leftJoin(cities, (n, c) => `${n}@${c ?? '?'}`);
    builder
      .stream('events', { key: S, value: S })
      .join(profiles, (e, p) => `${e} by ${p}`)
      .to('out', { value: S });
    driver = new TopologyTestDriver(builder.build());
    driver.createInputTopic('cities', S, S).pipeInput('u', 'Paris', 1);
    const events = driver.createInputTopic('events', S, S);
    events.pipeInput('u', 'before', 2);
    driver.createInputTopic('names', S, S).pipeInput('u', 'Ann', 3);
    events.pipeInput('u', 'after', 4);
    expect(driver.createOutputTopic('out', S, S).readValuesToList()).toEqual(['after by Ann@Paris']);
  });

  it('repartitions the stream first when its key changed, so that it meets the table by the new key', () => {
    const builder = new StreamsBuilder();
    const customers = builder.table('customers', { key: S, value: S });
    builder
      .stream('orders', { key: S, value: Serdes.JSON<{ customer: string; item: string }>() })
      .selectKey((_id, o) => o.customer)
      .join(customers, (o, c) => `${o.item} for ${c}`, { key: S, name: 'orders-by-customer' })
      .to('out', { value: S });
    driver = new TopologyTestDriver(builder.build(), { config: { applicationId: 'shop' } });
    driver.createInputTopic('customers', S, S).pipeInput('c1', 'Ann', 1);
    driver
      .createInputTopic('orders', S, Serdes.JSON<{ customer: string; item: string }>())
      .pipeInput('o1', { customer: 'c1', item: 'book' }, 2);
    expect(driver.createOutputTopic('out', S, S).readKeyValuesToList()).toEqual([
      { key: 'c1', value: 'book for Ann' },
    ]);
    expect(driver.producedTopicNames()).toContain('shop-orders-by-customer-repartition');
  });
});
