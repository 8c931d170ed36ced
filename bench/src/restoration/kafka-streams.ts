/**
 * Restoration on the framework: a new instance of an application whose count store's changelog
 * is already written (params `applicationId`), with an empty state directory, so every task
 * restores its store from the changelog's beginning before it consumes (param `storeType`).
 *
 * The rate is what the restore listener reports: the records restored over the longest
 * partition's duration (the partitions of one assignment are restored together, through one
 * reader, so the longest is the wall time of the whole restoration).
 */
import { KafkaStreams, type RestoreProgress } from '@kafka-pattern/streams-core';
import type { StartPipe } from '../harness/pipe.ts';
import { countTopology, storeTypeOf } from '../stateful/topology.ts';

export const start: StartPipe = async (run) => {
  const app = new KafkaStreams(countTopology(run.input, run.output, storeTypeOf(run.params.storeType)), {
    applicationId: String(run.params.applicationId),
    bootstrapServers: run.bootstrapServers,
    processingGuarantee: run.guarantee,
    commitIntervalMs: run.commitIntervalMs,
    stateDir: run.stateDir,
    cacheMaxBytes: 0,
  });
  const restored: RestoreProgress[] = [];
  app.setRestoreListener({ onRestoreEnd: (p) => restored.push(p) });
  await app.start();
  await app.waitForRunning();
  const records = restored.reduce((sum, p) => sum + p.restored, 0);
  const ms = Math.max(0, ...restored.map((p) => p.durationMs));
  return { close: () => app.close(), measured: { records, ms } };
};
