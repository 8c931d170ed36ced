/**
 * The windowed count on the framework: 60 s tumbling windows per key on the records' event
 * time, `groupByKey → windowedBy → count → toStream → map(key@windowStart) → to`. No grace:
 * each partition's records arrive in event-time order, so none is late.
 */
import {
  KafkaStreams,
  Serdes,
  StreamsBuilder,
  TimeWindows,
  type Windowed,
} from '@kafka-pattern/streams-core';
import type { StartPipe } from '../harness/pipe.ts';

export const WINDOW_MS = 60_000;

export const start: StartPipe = async (run) => {
  const builder = new StreamsBuilder();
  builder
    .stream(run.input, { key: Serdes.String(), value: Serdes.String() })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeWithNoGrace(WINDOW_MS))
    .count({ name: 'window-counts' })
    .toStream()
    .map<string, number>((key: Windowed<string>, count) => [`${key.key}@${key.window.start}`, count])
    .to(run.output, { key: Serdes.String(), value: Serdes.Long() });
  const app = new KafkaStreams(builder.build(), {
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
