import { Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { describe, expect, it } from 'vitest';

interface Order {
  product: string;
  qty: number;
}

function topology(left: boolean) {
  const builder = new StreamsBuilder();
  const products = builder.globalTable(
    'products',
    { key: Serdes.String(), value: Serdes.String() },
    { name: 'products-store' },
  );
  const orders = builder.stream('orders', { key: Serdes.String(), value: Serdes.JSON<Order>() });
  const joined = left
    ? orders.leftJoin(
        products,
        (_id, o) => o.product,
        (o, name) => `${o.qty} x ${name ?? '?'}`,
      )
    : orders.join(
        products,
        (_id, o) => o.product,
        (o, name) => `${o.qty} x ${name}`,
      );
  joined.to('lines', { key: Serdes.String(), value: Serdes.String() });
  return builder.build();
}

describe('GlobalKTable', () => {
  it('joins a stream by a key derived from each record, with no repartition', () => {
    const t = topology(false);
    expect(t.describe().toString()).toContain('for global store (will not generate tasks)');
    expect(t.describe().toString()).not.toContain('repartition');
    const driver = new TopologyTestDriver(t);
    const products = driver.createInputTopic('products', Serdes.String(), Serdes.String());
    const orders = driver.createInputTopic('orders', Serdes.String(), Serdes.JSON<Order>());
    const lines = driver.createOutputTopic('lines', Serdes.String(), Serdes.String());
    products.pipeInput('p1', 'coffee', 1);
    orders.pipeInput('o1', { product: 'p1', qty: 2 }, 10);
    orders.pipeInput('o2', { product: 'p2', qty: 1 }, 11); // no such product: an inner join drops it
    products.pipeInput('p1', 'espresso', 12);
    orders.pipeInput('o3', { product: 'p1', qty: 3 }, 13);
    products.pipeInput('p1', null, 14); // deleted
    orders.pipeInput('o4', { product: 'p1', qty: 4 }, 15);
    expect(lines.readRecordsToList().map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['o1', '2 x coffee', 10],
      ['o3', '3 x espresso', 13],
    ]);
    expect(driver.getKeyValueStore('products-store').get('p1')).toBeUndefined();
    driver.close();
  });

  it('left join keeps records without a row, joined with null', () => {
    const driver = new TopologyTestDriver(topology(true));
    const orders = driver.createInputTopic('orders', Serdes.String(), Serdes.JSON<Order>());
    const lines = driver.createOutputTopic('lines', Serdes.String(), Serdes.String());
    orders.pipeInput('o1', { product: 'p9', qty: 1 }, 1);
    expect(lines.readKeyValuesToList()).toEqual([{ key: 'o1', value: '1 x ?' }]);
    driver.close();
  });
});
