import { buildProgram } from '@kafka-pattern/cli';
import { KafkaStreams } from '@kafka-pattern/streams-core';
import { validatedOrders } from '@kafka-pattern/topologies/dead-letter';
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
const silent = { debug() {}, info() {}, warn() {}, error() {} };

async function cli(...args: string[]): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  await buildProgram({ out: (t) => (out += t), err: (t) => (err += t) }).parseAsync(args, { from: 'user' });
  return { out, err };
}

describe('kafka-pattern dlt redrive on the real broker', () => {
  it('re-drives the dead letters the filter picks back to their original topic', async () => {
    const orders = await createTopic(uniqueName('cli-dlt-orders'), 1);
    const valid = await createTopic(uniqueName('cli-dlt-valid'), 1);
    const dlt = `${orders}-dlt`;
    const app = new KafkaStreams(validatedOrders({ orders, validOrders: valid }), {
      applicationId: uniqueName('cli-dlt'),
      bootstrapServers: bootstrapServers(),
      stateDir: tempStateDir(cleanups, 'kp-cli-dlt-'),
      commitIntervalMs: 100,
      logger: silent,
    });
    cleanups.push(() => app.close());
    await app.start();
    await app.waitForRunning();
    await produce([
      record(
        orders,
        'o-1',
        JSON.stringify({ orderId: 'o-1', customerId: 'c-1', amount: 10, currency: 'EUR' }),
      ),
      record(
        orders,
        'o-2',
        JSON.stringify({ orderId: 'o-2', customerId: 'c-1', amount: 10, currency: 'GBP' }),
      ),
      record(orders, 'o-3', 'not json'),
    ]);
    await eventually(
      async () => ((await collect(dlt)).length >= 2 ? true : undefined),
      30_000,
      'two dead letters',
    );
    await app.close();
    expect(await collect(dlt)).toHaveLength(2);

    const common = ['--bootstrap-servers', bootstrapServers().join(','), '--message', 'currency'];
    const dry = await cli('dlt', 'redrive', dlt, ...common, '--group-id', uniqueName('dry'), '--dry-run');
    expect(dry.err).toContain(`Re-driving dead letters from ${dlt} (dry run)...`);
    expect(dry.out).toMatch(/read 2, would re-drive 1, skipped 1/);
    expect(await collect(orders)).toHaveLength(3);

    const real = await cli('dlt', 'redrive', dlt, ...common, '--group-id', uniqueName('real'));
    expect(real.out).toMatch(/read 2, re-drove 1, skipped 1/);
    const back = await eventually(
      async () => {
        const all = await collect(orders, { isolationLevel: 'read_committed' });
        return all.length === 4 ? all : undefined;
      },
      30_000,
      'the re-driven order on the orders topic',
    );
    expect(back.at(-1)?.key?.toString()).toBe('o-2');
  });
});
