/**
 * The stateless scenario on the framework: `stream → mapValues → filter → to`, run by
 * KafkaStreams with the guarantee and commit interval the harness asks for, on `threads` stream
 * threads (param, default 1).
 */
import { KafkaStreams } from '@kafka-pattern/streams-core';
import type { StartPipe } from '../harness/pipe.ts';
import statelessTopology from './topology.ts';

export const start: StartPipe = async (run) => {
  const numStreamThreads = Number(run.params.threads ?? 1);
  const args = [run.input, run.output] as const;
  const app = new KafkaStreams(
    statelessTopology(...args),
    {
      applicationId: run.groupId,
      bootstrapServers: run.bootstrapServers,
      processingGuarantee: run.guarantee,
      commitIntervalMs: run.commitIntervalMs,
      stateDir: run.stateDir,
      numStreamThreads,
    },
    { topologyModule: new URL('./topology.ts', import.meta.url), topologyArgs: args },
  );
  await app.start();
  await app.waitForRunning();
  return { close: () => app.close() };
};
