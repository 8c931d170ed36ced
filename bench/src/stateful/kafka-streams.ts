/**
 * The stateful count on the framework: `stream → groupByKey → count → toStream → to`, with the
 * store type and record cache size the scenario gives (params `storeType`, `cacheMaxBytes`).
 */
import { KafkaStreams } from '@kafka-pattern/streams-core';
import type { StartPipe } from '../harness/pipe.ts';
import { countTopology, storeTypeOf } from './topology.ts';

export const start: StartPipe = async (run) => {
  const app = new KafkaStreams(countTopology(run.input, run.output, storeTypeOf(run.params.storeType)), {
    applicationId: run.groupId,
    bootstrapServers: run.bootstrapServers,
    processingGuarantee: run.guarantee,
    commitIntervalMs: run.commitIntervalMs,
    stateDir: run.stateDir,
    cacheMaxBytes: Number(run.params.cacheMaxBytes),
  });
  await app.start();
  await app.waitForRunning();
  return { close: () => app.close() };
};
