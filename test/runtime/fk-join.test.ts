import { KafkaStreams, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { describe, expect, it } from 'vitest';
import {
  bootstrapServers,
  clientFactory,
  collect,
  createTopic,
  eventually,
  produce,
  record,
  uniqueName,
} from '../support/kafka.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';

interface Order {
  customer: string | null;
  item: string;
}

const cleanups = teardownAfterEach();

const S = Serdes.String();

describe('foreign-key table join on the real broker', () => {
  it('joins orders with their customers: final results exact after FK changes, deletes and fan-out', async () => {
    // Different partition counts on purpose: subscriptions must follow the customers' partitioning.
    const orders = await createTopic(uniqueName('orders'), 3);
    const customers = await createTopic(uniqueName('customers'), 2);
    const output = await createTopic(uniqueName('enriched'), 2);
    const builder = new StreamsBuilder();
    builder
      .table(orders, { key: S, value: Serdes.JSON<Order>() })
      .join(
        builder.table(customers, { key: S, value: S }),
        (o) => o.customer,
        (o, name) => `${o.item}@${name}`,
        {
          name: 'orders-customers',
          materialized: { name: 'enriched-orders', value: S },
        },
      )
      .toStream()
      .to(output, { key: S, value: S });
    const applicationId = uniqueName('fk');
    const stateDir = tempStateDir(cleanups, 'kp-fk-');
    const app = new KafkaStreams(builder.build(), {
      applicationId,
      bootstrapServers: bootstrapServers(),
      processingGuarantee: 'exactly_once_v2',
      stateDir,
      commitIntervalMs: 200,
    });
    cleanups.push(() => app.close());
    await app.start();
    await app.waitForRunning(60_000);

    const order = (id: string, customer: string | null, item: string) =>
      record(orders, id, JSON.stringify({ customer, item }));
    await produce([
      record(customers, 'c1', 'Alice'),
      record(customers, 'c2', 'Bob'),
      record(customers, 'c3', 'Carol'),
    ]);
    await produce([
      order('o1', 'c1', 'apple'),
      order('o2', 'c2', 'pear'),
      order('o3', 'c3', 'fig'),
      order('o4', 'c1', 'kiwi'),
      order('o5', 'c2', 'plum'),
      order('o6', 'c2', 'lime'),
      order('o7', 'c9', 'date'),
      order('o8', null, 'nut'),
    ]);
    await produce([
      order('o5', 'c1', 'plum'),
      record(orders, 'o6', null),
      record(customers, 'c1', 'Alicia'),
      record(customers, 'c3', null),
    ]);

    const expected = new Map([
      ['o1', 'apple@Alicia'],
      ['o2', 'pear@Bob'],
      ['o4', 'kiwi@Alicia'],
      ['o5', 'plum@Alicia'],
    ]);
    const latest = async () => {
      const table = new Map<string, string>();
      for (const r of await collect(output, { isolationLevel: 'read_committed', timeoutMs: 5_000 })) {
        const key = r.key!.toString();
        if (r.value === null) table.delete(key);
        else table.set(key, r.value.toString());
      }
      return table;
    };
    await eventually(
      async () => {
        const table = await latest();
        return [...expected].every(([k, v]) => table.get(k) === v) && table.size === expected.size
          ? table
          : undefined;
      },
      60_000,
      'the final join results',
    );
    await app.close();
    expect(await latest()).toEqual(expected);

    const admin = clientFactory().admin();
    try {
      const topics = await admin.describeTopics([
        `${applicationId}-orders-customers-subscription-registration-topic`,
        `${applicationId}-orders-customers-subscription-response-topic`,
      ]);
      expect([...topics.values()].map((t) => t?.partitions)).toEqual([2, 3]);
    } finally {
      await admin.close();
    }
  }, 120_000);
});
