/**
 * @kafkats/flow, a Kafka Streams-like DSL on its own client (@kafkats/client), as a subject of
 * the scenarios it can express: the same topology as the framework's, written in its DSL, with
 * its defaults (in-memory stores backed by changelog topics, one stream thread) and the run's
 * guarantee (exactly_once_v2 is its `exactly_once`: a transactional producer committing every
 * commit interval) and commit interval (under at_least_once its consumer's auto-commit interval).
 * Param `topology`: stateless, count, windowed or join.
 *
 * Its `start()` resolves once its consumer runs, which can be before the group assigned it
 * anything; the pipe owns its partitions once its consumer reports them assigned, which this
 * module hears by wrapping the client's `consumer()`.
 */
import { KafkaClient } from '@kafkats/client';
import { type Codec, flow, json, string, TimeWindows, type Windowed } from '@kafkats/flow';
import type { StartPipe } from '../harness/pipe.ts';
import { joinOrderPayment } from '../join/workload.ts';
import { isWorthShipping, type PricedOrder, priceOrder } from '../stateless/workload.ts';
import { WINDOW_MS } from '../windowed/kafka-streams.ts';

/** A count as an 8-byte big-endian long, like Serdes.Long(). */
const long: Codec<number> = {
  encode(value) {
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64BE(BigInt(value));
    return b;
  },
  decode: (b) => Number(b.readBigInt64BE()),
};

export const start: StartPipe = async (run) => {
  const client = new KafkaClient({ brokers: [...run.bootstrapServers], clientId: `${run.groupId}-flow` });
  let owned: () => void = () => {};
  const assigned = new Promise<void>((resolve) => {
    owned = resolve;
  });
  const consumer = client.consumer.bind(client);
  client.consumer = (config) => {
    const c = consumer(config);
    c.on('partitionsAssigned', () => owned());
    return c;
  };
  const app = flow({
    applicationId: run.groupId,
    client,
    processingGuarantee: run.guarantee === 'exactly_once_v2' ? 'exactly_once' : 'at_least_once',
    commitIntervalMs: run.commitIntervalMs,
    stateDir: run.stateDir,
    runEach: { autoCommitIntervalMs: run.commitIntervalMs },
  });
  // From the beginning of the pre-filled input, as every subject reads it (its default is latest).
  const strings = { key: string(), value: string(), offsetReset: 'earliest' as const };
  switch (run.params.topology) {
    case 'stateless':
      app
        .stream(run.input, strings)
        .mapValues((value) => priceOrder(value!))
        .filter((_key, order) => isWorthShipping(order!))
        .to(run.output, { key: string(), value: json<PricedOrder>() });
      break;
    case 'count':
      app
        .stream(run.input, strings)
        .groupByKey()
        .count({ storeName: 'counts', key: string(), value: long })
        .toStream()
        .to(run.output, { key: string(), value: long });
      break;
    case 'windowed':
      app
        .stream(run.input, strings)
        .groupByKey()
        .windowedBy(TimeWindows.of(WINDOW_MS))
        .count({ storeName: 'window-counts', value: long })
        .toStream()
        .map((key: Windowed<string> | null, count): readonly [string, number] => [
          `${key!.key}@${key!.window.start}`,
          count!,
        ])
        .to(run.output, { key: string(), value: long });
      break;
    case 'join': {
      const payments = app.stream(run.inputs[1]!, strings);
      app
        .stream(run.inputs[0]!, strings)
        .join(payments, joinOrderPayment, { within: TimeWindows.of(5_000) })
        .to(run.output, { key: string(), value: string() });
      break;
    }
    default:
      throw new Error(`@kafkats/flow: no topology ${String(run.params.topology)}`);
  }
  await app.start();
  await assigned;
  return { close: () => app.close() };
};
