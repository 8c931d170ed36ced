/**
 * The async-step scenario on the framework: `stream → mapValuesAsync(POST to the service) → to`,
 * with the subject's concurrency per task.
 */
import { KafkaStreams, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import type { StartPipe } from '../harness/pipe.ts';
import { startRemoteService } from './workload.ts';

export const start: StartPipe = async (run) => {
  const service = await startRemoteService();
  const builder = new StreamsBuilder();
  builder
    .stream(run.input, { key: Serdes.String(), value: Serdes.String() })
    .mapValuesAsync((value) => service.call(value), { concurrency: Number(run.params.concurrency) })
    .to(run.output, { key: Serdes.String(), value: Serdes.String() });
  const app = new KafkaStreams(builder.build(), {
    applicationId: run.groupId,
    bootstrapServers: run.bootstrapServers,
    processingGuarantee: run.guarantee,
    commitIntervalMs: run.commitIntervalMs,
    stateDir: run.stateDir,
  });
  await app.start();
  await app.waitForRunning();
  return {
    async close() {
      await app.close();
      await service.close();
    },
  };
};
