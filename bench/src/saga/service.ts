/**
 * One service of `@kafka-pattern/topologies/saga` as a KafkaStreams application in a bench child
 * process of its own: `params.service` is `orders`, `payments` or `inventory`, `params.prefix`
 * the run's topic prefix, `params.timeoutMs` the saga's timeout.
 */
import { join } from 'node:path';
import { KafkaStreams } from '@kafka-pattern/streams-core';
import { orderSaga } from '@kafka-pattern/topologies/saga';
import type { StartPipe } from '../harness/pipe.ts';

export const start: StartPipe = async (run) => {
  const service = String(run.params.service);
  const saga = orderSaga({ prefix: String(run.params.prefix), timeoutMs: Number(run.params.timeoutMs) });
  const topology =
    service === 'orders'
      ? saga.orderService
      : service === 'payments'
        ? saga.paymentService
        : service === 'inventory'
          ? saga.inventoryService
          : undefined;
  if (!topology) throw new Error(`saga service: orders, payments or inventory, not ${service}`);
  const app = new KafkaStreams(topology, {
    applicationId: run.groupId,
    bootstrapServers: run.bootstrapServers,
    processingGuarantee: run.guarantee,
    commitIntervalMs: run.commitIntervalMs,
    stateDir: join(run.stateDir, service),
  });
  await app.start();
  await app.waitForRunning();
  // A service that fails would otherwise leave the driver waiting for orders that never end.
  const watch = setInterval(() => {
    if (app.state === 'ERROR') throw new Error(`the ${service} service failed: ${String(app.error)}`);
  }, 500);
  return {
    close: () => {
      clearInterval(watch);
      return app.close();
    },
    report: () => ({ processedRecords: app.metrics().totals.processedRecords }),
  };
};
