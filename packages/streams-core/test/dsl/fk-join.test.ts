import { type KTable, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import type { AdminPort } from '../../src/client/port.ts';
import { planTopics } from '../../src/runtime/internal-topics.ts';
import { topologyGraph } from '../../src/topology/topology-graph.ts';

const S = Serdes.String();
interface Order {
  customer: string | null;
  item: string;
}
const O = Serdes.JSON<Order>();

let driver: TopologyTestDriver | undefined;
afterEach(() => {
  driver?.close();
  driver = undefined;
});

type Join = (orders: KTable<string, Order>, customers: KTable<string, string>) => KTable<string, string>;

const inner: Join = (o, c) =>
  o.join(
    c,
    (order) => order.customer,
    (order, name) => `${order.item}@${name}`,
    { name: 'oc', materialized: { name: 'enriched', value: S } },
  );
const left: Join = (o, c) =>
  o.leftJoin(
    c,
    (order) => order.customer,
    (order, name) => `${order.item}@${name}`,
    { name: 'oc', materialized: { name: 'enriched', value: S } },
  );

function joined(join: Join) {
  const builder = new StreamsBuilder();
  const orders = builder.table('orders', { key: S, value: O });
  const customers = builder.table('customers', { key: S, value: S });
  join(orders, customers).toStream().to('out', { key: S, value: S });
  driver = new TopologyTestDriver(builder.build());
  const output = driver.createOutputTopic('out', S, S);
  return {
    orders: driver.createInputTopic('orders', S, O),
    customers: driver.createInputTopic('customers', S, S),
    /** What came out since the last call: [key, value, timestamp]. */
    read: () => output.readRecordsToList().map((r) => [r.key, r.value, r.timestamp]),
    store: () => driver!.getKeyValueStore<string, string>('enriched'),
  };
}

describe('KTable foreign-key join (inner)', () => {
  it('left row first, then the right row it references', () => {
    const t = joined(inner);
    t.orders.pipeInput('o1', { customer: 'c1', item: 'apple' }, 10);
    expect(t.read()).toEqual([]);
    t.customers.pipeInput('c1', 'Alice', 20);
    expect(t.read()).toEqual([['o1', 'apple@Alice', 20]]);
    expect(t.store().get('o1')).toBe('apple@Alice');
  });

  it('right row first, then a left row referencing it; the result has the larger timestamp', () => {
    const t = joined(inner);
    t.customers.pipeInput('c1', 'Alice', 30);
    t.orders.pipeInput('o1', { customer: 'c1', item: 'apple' }, 10);
    expect(t.read()).toEqual([['o1', 'apple@Alice', 30]]);
    t.orders.pipeInput('o1', { customer: 'c1', item: 'pear' }, 40);
    expect(t.read()).toEqual([['o1', 'pear@Alice', 40]]);
  });

  it('a changed foreign key moves the row to another right row, and only that one updates it', () => {
    const t = joined(inner);
    t.customers.pipeInput('c1', 'Alice', 1);
    t.customers.pipeInput('c2', 'Bob', 2);
    t.orders.pipeInput('o1', { customer: 'c1', item: 'apple' }, 3);
    t.orders.pipeInput('o1', { customer: 'c2', item: 'apple' }, 4);
    expect(t.read()).toEqual([
      ['o1', 'apple@Alice', 3],
      ['o1', 'apple@Bob', 4],
    ]);
    t.customers.pipeInput('c1', 'Alicia', 5);
    expect(t.read()).toEqual([]);
    t.customers.pipeInput('c2', 'Robert', 6);
    expect(t.read()).toEqual([['o1', 'apple@Robert', 6]]);
    // To a key with no row: the match is lost, the result deleted.
    t.orders.pipeInput('o1', { customer: 'c9', item: 'apple' }, 7);
    expect(t.read()).toEqual([['o1', null, 7]]);
    expect(t.store().get('o1')).toBeUndefined();
    t.customers.pipeInput('c9', 'Zoe', 8);
    expect(t.read()).toEqual([['o1', 'apple@Zoe', 8]]);
  });

  it('a left delete deletes the result; deleting a row that never joined emits nothing', () => {
    const t = joined(inner);
    t.customers.pipeInput('c1', 'Alice', 1);
    t.orders.pipeInput('o1', { customer: 'c1', item: 'apple' }, 2);
    t.orders.pipeInput('o2', { customer: 'c5', item: 'plum' }, 3);
    t.read();
    t.orders.pipeInput('o1', null, 4);
    t.orders.pipeInput('o2', null, 5);
    expect(t.read()).toEqual([['o1', null, 4]]);
    // The subscription went with the row: a right update finds nobody.
    t.customers.pipeInput('c1', 'Alicia', 6);
    expect(t.read()).toEqual([]);
  });

  it('a right update reaches every left row referencing it; a right delete deletes their results', () => {
    const t = joined(inner);
    t.customers.pipeInput('c1', 'Alice', 1);
    t.customers.pipeInput('c2', 'Bob', 1);
    t.orders.pipeInput('o1', { customer: 'c1', item: 'apple' }, 2);
    t.orders.pipeInput('o2', { customer: 'c1', item: 'pear' }, 3);
    t.orders.pipeInput('o3', { customer: 'c2', item: 'fig' }, 4);
    t.orders.pipeInput('o4', { customer: 'c1', item: 'kiwi' }, 5);
    t.read();
    t.customers.pipeInput('c1', 'Alicia', 10);
    expect(t.read()).toEqual([
      ['o1', 'apple@Alicia', 10],
      ['o2', 'pear@Alicia', 10],
      ['o4', 'kiwi@Alicia', 10],
    ]);
    t.customers.pipeInput('c1', null, 11);
    expect(t.read()).toEqual([
      ['o1', null, 11],
      ['o2', null, 11],
      ['o4', null, 11],
    ]);
    expect(
      t
        .store()
        .all()
        .map((e) => [e.key, e.value]),
    ).toEqual([['o3', 'fig@Bob']]);
    // Still subscribed: the right row coming back restores the results.
    t.customers.pipeInput('c1', 'Al', 12);
    expect(t.read()).toHaveLength(3);
  });

  it("a foreign key that is a prefix of another does not catch the other key's subscribers", () => {
    const t = joined(inner);
    t.orders.pipeInput('o1', { customer: 'c1', item: 'apple' }, 1);
    t.orders.pipeInput('o2', { customer: 'c10', item: 'pear' }, 2);
    t.customers.pipeInput('c1', 'Alice', 3);
    expect(t.read()).toEqual([['o1', 'apple@Alice', 3]]);
  });

  it('a row without a foreign key sends no subscription and has no result', () => {
    const t = joined(inner);
    t.customers.pipeInput('c1', 'Alice', 1);
    t.orders.pipeInput('o1', { customer: null, item: 'apple' }, 2);
    expect(t.read()).toEqual([]);
    expect(driver!.producedTopicNames().has('topology-test-driver-oc-subscription-registration-topic')).toBe(
      false,
    );
    t.orders.pipeInput('o1', { customer: 'c1', item: 'apple' }, 3);
    t.orders.pipeInput('o1', { customer: null, item: 'apple' }, 4);
    expect(t.read()).toEqual([
      ['o1', 'apple@Alice', 3],
      ['o1', null, 4],
    ]);
    t.customers.pipeInput('c1', 'Alicia', 5);
    expect(t.read()).toEqual([]);
  });
});

describe('KTable foreign-key join (left)', () => {
  it('keeps every left row: with null while its right row is missing, deleted, or its foreign key is null', () => {
    const t = joined(left);
    t.orders.pipeInput('o1', { customer: 'c1', item: 'apple' }, 1);
    expect(t.read()).toEqual([['o1', 'apple@null', 1]]);
    t.customers.pipeInput('c1', 'Alice', 2);
    expect(t.read()).toEqual([['o1', 'apple@Alice', 2]]);
    t.customers.pipeInput('c1', null, 3);
    expect(t.read()).toEqual([['o1', 'apple@null', 3]]);
    t.orders.pipeInput('o2', { customer: null, item: 'pear' }, 4);
    expect(t.read()).toEqual([['o2', 'pear@null', 4]]);
    t.customers.pipeInput('c1', 'Alice', 5);
    t.orders.pipeInput('o1', { customer: 'c2', item: 'apple' }, 6);
    expect(t.read()).toEqual([
      ['o1', 'apple@Alice', 5],
      ['o1', 'apple@null', 6],
    ]);
    t.orders.pipeInput('o1', null, 7);
    t.orders.pipeInput('o2', null, 8);
    expect(t.read()).toEqual([
      ['o1', null, 7],
      ['o2', null, 8],
    ]);
  });

  it('a null foreign key in a left join produces its result with no subscription', () => {
    const t = joined(left);
    t.orders.pipeInput('o1', { customer: null, item: 'apple' }, 1);
    expect(t.read()).toEqual([['o1', 'apple@null', 1]]);
    expect(driver!.producedTopicNames().has('topology-test-driver-oc-subscription-registration-topic')).toBe(
      false,
    );
  });
});

describe('KTable foreign-key join: out-of-order responses', () => {
  it('drops the response to a value the left row no longer has', () => {
    // One input record becomes two updates of the same order, so both subscriptions are in the
    // registration topic before the first response comes back: the first response is stale.
    const builder = new StreamsBuilder();
    const orders = builder
      .stream('moves', { key: S, value: S })
      .flatMap((key, value) =>
        value.split(',').map((customer) => [key, { customer, item: 'apple' }] as [string, Order]),
      )
      .toTable({ key: S, value: O });
    const customers = builder.table('customers', { key: S, value: S });
    orders
      .join(
        customers,
        (o) => o.customer,
        (o, c) => `${o.item}@${c}`,
        { materialized: { value: S } },
      )
      .toStream()
      .to('out', { key: S, value: S });
    driver = new TopologyTestDriver(builder.build());
    const moves = driver.createInputTopic('moves', S, S);
    const output = driver.createOutputTopic('out', S, S);
    driver.createInputTopic('customers', S, S).pipeRecordList([
      { key: 'c1', value: 'Alice', timestamp: 1 },
      { key: 'c2', value: 'Bob', timestamp: 1 },
    ]);
    moves.pipeInput('o1', 'c1,c2', 5);
    expect(output.readKeyValuesToList()).toEqual([{ key: 'o1', value: 'apple@Bob' }]);
    moves.pipeInput('o1', 'c2,c1', 6);
    expect(output.readKeyValuesToList()).toEqual([{ key: 'o1', value: 'apple@Alice' }]);
  });
});

describe('KTable foreign-key join: topology', () => {
  it('names its internal topics and stores after the join name, as Kafka Streams does', () => {
    const t = joined(inner);
    t.orders.pipeInput('o1', { customer: 'c1', item: 'apple' }, 1);
    t.customers.pipeInput('c1', 'Alice', 2);
    const produced = driver!.producedTopicNames();
    expect(produced.has('topology-test-driver-oc-subscription-registration-topic')).toBe(true);
    expect(produced.has('topology-test-driver-oc-subscription-response-topic')).toBe(true);
  });

  it('describes the join as a subscription round trip between two sub-topologies', () => {
    const builder = new StreamsBuilder();
    inner(builder.table('orders', { key: S, value: O }), builder.table('customers', { key: S, value: S }));
    const text = builder.build().describe().toString();
    expect(text).toContain(
      'Sink: oc-subscription-registration-sink (topic: oc-subscription-registration-topic)',
    );
    expect(text).toContain(
      'Source: oc-subscription-registration-source (topics: [oc-subscription-registration-topic])',
    );
    expect(text).toContain('Processor: oc-subscription-receive (stores: [oc-subscription-store');
    expect(text).toContain('Processor: oc-result (stores: [enriched])');
    expect(text.match(/Sub-topology: /g)).toHaveLength(2);
  });

  it("creates the subscription topic with the right table's partition count and the response topic with the left's", async () => {
    const builder = new StreamsBuilder();
    const orders = builder.table('orders', { key: S, value: O });
    const customers = builder.table('customers', { key: S, value: S });
    orders
      .join(
        customers,
        (o) => o.customer,
        (o, c) => `${o.item}@${c}`,
        { name: 'oc', materialized: { value: S } },
      )
      .toStream()
      .to('out', { key: S, value: S });
    const counts = new Map([
      ['orders', 6],
      ['customers', 2],
      ['out', 1],
    ]);
    const admin = {
      describeTopics: async (names: string[]) =>
        new Map(names.map((n) => [n, counts.has(n) ? { partitions: counts.get(n)! } : undefined])),
    };
    const plan = await planTopics(topologyGraph(builder.build()), admin as unknown as AdminPort, {
      applicationId: 'app',
      replicationFactor: 1,
      deadLetterTopic: undefined,
    });
    expect(plan.partitions.get('app-oc-subscription-registration-topic')).toBe(2);
    expect(plan.partitions.get('app-oc-subscription-response-topic')).toBe(6);
    expect(plan.partitions.get('app-oc-subscription-store-changelog')).toBe(2);
    expect([...plan.tasksPerSubtopology.values()].sort()).toEqual([2, 6]);
  });

  it('asks for serdes a derived table does not carry, naming the option', () => {
    const builder = new StreamsBuilder();
    const orders = builder.table('orders', { key: S, value: O }).mapValues((o) => o);
    const customers = builder.table('customers', { key: S, value: S });
    expect(() =>
      orders.join(
        customers,
        (o) => o.customer,
        (o, c) => `${o.item}@${c}`,
      ),
    ).toThrow(/left table's value serde.*\{ value: \.\.\. \}/);
    expect(() =>
      orders.join(
        customers,
        (o) => o.customer,
        (o, c) => `${o.item}@${c}`,
        { value: O, materialized: { value: S } },
      ),
    ).not.toThrow();
  });
});

describe('KTable.join / leftJoin overloads', () => {
  it('types a foreign-key join by the left key and the joiner, and a same-key join as before', () => {
    const builder = new StreamsBuilder();
    const orders = builder.table('orders', { key: S, value: O });
    const customers = builder.table('customers', { key: S, value: S });
    const byId = builder.table('customer-ids', { key: Serdes.Long(), value: S });
    expectTypeOf(
      orders.join(
        customers,
        (o) => o.customer,
        (o, c) => ({ o, c }),
      ),
    ).toEqualTypeOf<KTable<string, { o: Order; c: string }>>();
    expectTypeOf(
      orders.leftJoin(
        customers,
        (o) => o.customer,
        (_o, c) => c,
      ),
    ).toEqualTypeOf<KTable<string, string | null>>();
    expectTypeOf(
      orders.leftJoin(
        byId,
        (o) => o.item.length,
        (_o, c) => c?.length ?? 0,
      ),
    ).toEqualTypeOf<KTable<string, number>>();
    expectTypeOf(
      orders.join(
        customers,
        (_o, key) => key,
        (o) => o.item,
      ),
    ).toEqualTypeOf<KTable<string, string>>();
    expectTypeOf(customers.join(customers, (a, b) => a + b)).toEqualTypeOf<KTable<string, string>>();
    const counts = builder.table('counts', { key: S, value: Serdes.Long() });
    expectTypeOf(customers.join(counts, (_a, b) => b)).toEqualTypeOf<KTable<string, number>>();
    expectTypeOf(customers.leftJoin(counts, (_a, b) => b, { name: 'x' })).toEqualTypeOf<
      KTable<string, number | null>
    >();
    expectTypeOf(customers.leftJoin(customers, (_a, b) => b)).toEqualTypeOf<KTable<string, string | null>>();
    // @ts-expect-error the extractor must return the other table's key type
    orders.join(
      byId,
      (o) => o.customer,
      (_o, c) => c,
    );
    // @ts-expect-error a same-key join needs the same key type
    orders.join(byId, (_o, c) => c);
  });
});
