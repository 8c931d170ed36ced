import { KafkaStreams, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { describe, expect, it } from 'vitest';
import {
  bootstrapServers,
  collect,
  createTopic,
  eventually,
  produce,
  record,
  uniqueName,
} from '../support/kafka.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';

const cleanups = teardownAfterEach();

describe('GlobalKTable on the broker', () => {
  it('joins orders with the full product table and follows its updates', async () => {
    const productsTopic = await createTopic(uniqueName('products'), 2, { 'cleanup.policy': 'compact' });
    const ordersTopic = await createTopic(uniqueName('orders'), 3);
    const linesTopic = await createTopic(uniqueName('lines'), 3);
    await produce(
      ['p1:coffee', 'p2:tea', 'p3:cocoa'].map((kv) =>
        record(productsTopic, kv.split(':')[0]!, kv.split(':')[1]!),
      ),
    );

    const builder = new StreamsBuilder();
    const products = builder.globalTable(
      productsTopic,
      { key: Serdes.String(), value: Serdes.String() },
      { name: 'products' },
    );
    builder
      .stream(ordersTopic, { key: Serdes.String(), value: Serdes.String() })
      .join(
        products,
        (_orderId, productId) => productId,
        (productId, name) => `${productId}=${name}`,
      )
      .to(linesTopic, { key: Serdes.String(), value: Serdes.String() });
    const stateDir = tempStateDir(cleanups, 'kp-global-');
    const app = new KafkaStreams(builder.build(), {
      applicationId: uniqueName('global'),
      bootstrapServers: bootstrapServers(),
      processingGuarantee: 'exactly_once_v2',
      stateDir,
    });
    cleanups.push(() => app.close());
    await app.start();
    await app.waitForRunning();

    await produce([
      record(ordersTopic, 'o1', 'p1'),
      record(ordersTopic, 'o2', 'p2'),
      record(ordersTopic, 'o3', 'p3'),
      record(ordersTopic, 'o4', 'p9'),
    ]);
    const first = await eventually(
      async () => {
        const out = await collect(linesTopic, { timeoutMs: 5_000 });
        return out.length >= 3 ? out : undefined;
      },
      30_000,
      'three joined lines',
    );
    expect(new Map(first.map((r) => [r.key!.toString(), r.value!.toString()]))).toEqual(
      new Map([
        ['o1', 'p1=coffee'],
        ['o2', 'p2=tea'],
        ['o3', 'p3=cocoa'],
      ]),
    );

    await produce([record(productsTopic, 'p1', 'espresso')]);
    // The update reaches the global store while the application runs.
    await eventually(
      () => (app.store('products').get('p1') === 'espresso' ? true : undefined),
      30_000,
      'the product update',
    );
    await produce([record(ordersTopic, 'o5', 'p1')]);
    const all = await eventually(
      async () => {
        const out = await collect(linesTopic, { timeoutMs: 5_000 });
        return out.length >= 4 ? out : undefined;
      },
      30_000,
      'the fourth line',
    );
    expect(all.find((r) => r.key!.toString() === 'o5')!.value!.toString()).toBe('p1=espresso');
  });
});
