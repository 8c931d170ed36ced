/**
 * The stateful count on the framework: `stream → groupByKey → count → toStream → to`, with the
 * store type, record cache size and stream threads the scenario gives (params `storeType`,
 * `cacheMaxBytes`, `threads`, default 1).
 */
import { KafkaStreams } from '@kafka-pattern/streams-core';
import type { StartPipe } from '../harness/pipe.ts';
import { countTopology, storeTypeOf } from './topology.ts';

export const start: StartPipe = async (run) => {
  const args = [run.input, run.output, storeTypeOf(run.params.storeType)] as const;
  const app = new KafkaStreams(
    countTopology(...args),
    {
      applicationId: run.groupId,
      bootstrapServers: run.bootstrapServers,
      processingGuarantee: run.guarantee,
      commitIntervalMs: run.commitIntervalMs,
      stateDir: run.stateDir,
      cacheMaxBytes: Number(run.params.cacheMaxBytes),
      numStreamThreads: Number(run.params.threads ?? 1),
    },
    { topologyModule: new URL('./topology.ts', import.meta.url), topologyArgs: args },
  );
  await app.start();
  await app.waitForRunning();
  return { close: () => app.close() };
};
