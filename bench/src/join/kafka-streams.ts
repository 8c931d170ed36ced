/**
 * The stream-stream join on the framework: `orders.join(payments, joiner,
 * JoinWindows.ofTimeDifferenceWithNoGrace(5 s)) → to`, both sides keyed by order id.
 */
import { JoinWindows, KafkaStreams, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import type { StartPipe } from '../harness/pipe.ts';
import { joinOrderPayment } from './workload.ts';

export const start: StartPipe = async (run) => {
  const builder = new StreamsBuilder();
  const serdes = { key: Serdes.String(), value: Serdes.String() };
  const orders = builder.stream(run.inputs[0]!, serdes);
  const payments = builder.stream(run.inputs[1]!, serdes);
  orders
    .join(payments, joinOrderPayment, JoinWindows.ofTimeDifferenceWithNoGrace(5_000))
    .to(run.output, serdes);
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
