/**
 * The claim check in a topology, one process: `params.phase` `write` runs
 * `stream(input: index).mapValues(payload).to(output, claimCheckSerde(ByteArray))` (each payload
 * to S3, its reference to Kafka); `read` runs `stream(input, claimCheckSerde).mapValues(digest)
 * .to(output)` (each reference fetched back from S3). `client.maxPollRecords` is
 * `params.concurrency`: a sink encodes a poll's records together and a source decodes up to 32
 * per task, so a poll of that many records bounds the S3 calls in flight.
 */
import { KafkaStreams, Serdes, StreamsBuilder } from '@kafka-pattern/streams-core';
import { claimCheckSerde } from '@kafka-pattern/topologies/claim-check';
import type { StartPipe } from '../harness/pipe.ts';
import { digest, payload, s3Client } from './payloads.ts';

const s3 = s3Client();

export const start: StartPipe = async (run) => {
  const size = Number(run.params.size);
  const hash = Boolean(run.params.hash);
  const serde = claimCheckSerde(Serdes.ByteArray(), {
    s3,
    bucket: String(run.params.bucket),
    prefix: 'bench/',
  });
  const b = new StreamsBuilder();
  if (run.params.phase === 'write') {
    b.stream(run.input, { key: Serdes.String(), value: Serdes.String() })
      .mapValues((i) => payload(Number(i), size) as Uint8Array)
      .to(run.output, { key: Serdes.String(), value: serde });
  } else {
    b.stream(run.input, { key: Serdes.String(), value: serde })
      .mapValues((p) => digest(p, hash))
      .to(run.output, { key: Serdes.String(), value: Serdes.String() });
  }
  const app = new KafkaStreams(b.build(), {
    applicationId: run.groupId,
    bootstrapServers: run.bootstrapServers,
    processingGuarantee: run.guarantee,
    commitIntervalMs: run.commitIntervalMs,
    stateDir: run.stateDir,
    client: { maxPollRecords: Number(run.params.concurrency) },
  });
  await app.start();
  await app.waitForRunning();
  return { close: () => app.close() };
};
