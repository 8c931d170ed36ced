/**
 * The stateless scenario on the framework: `stream → mapValues → filter → to`, run by
 * KafkaStreams with the guarantee and commit interval the harness asks for.
 */
import { KafkaStreams, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import type { StartPipe } from '../harness/pipe.ts';
import { isWorthShipping, type PricedOrder, priceOrder } from './workload.ts';

export const start: StartPipe = async (run) => {
  const builder = new StreamsBuilder();
  builder
    .stream(run.input, { key: Serdes.String(), value: Serdes.String() })
    .mapValues(priceOrder)
    .filter((_key, order) => isWorthShipping(order))
    .to(run.output, { key: Serdes.String(), value: Serdes.JSON<PricedOrder>() });
  const app = new KafkaStreams(builder.build(), {
    applicationId: run.groupId,
    bootstrapServers: run.bootstrapServers,
    processingGuarantee: run.guarantee,
    commitIntervalMs: run.commitIntervalMs,
    stateDir: run.stateDir,
  });
  await app.start();
  await app.waitForRunning();
  return { close: () => app.close() };
};
