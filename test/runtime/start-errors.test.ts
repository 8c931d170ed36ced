/**
 * start() against the real broker when the internal topics cannot be created: the rejection
 * names the topics, the broker's reason and the fix, the state listener is told
 * PENDING_ERROR then ERROR, and nothing is left behind on the cluster.
 */
import {
  ConfigException,
  KafkaStreams,
  Serdes,
  StreamsBuilder,
  type StreamsState,
} from '@kafka-pattern/streams-core';
import { TopicCreationError } from '@kafka-pattern/streams-core/client';
import { describe, expect, it } from 'vitest';
import { bootstrapServers, clientFactory, createTopic, deleteTopics, uniqueName } from '../support/kafka.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';

const cleanups = teardownAfterEach();

async function countingApp(applicationId: string, replicationFactor?: number) {
  const input = await createTopic(uniqueName('start-err-in'), 1);
  const output = await createTopic(uniqueName('start-err-out'), 1);
  cleanups.push(() => deleteTopics([input, output]));
  const builder = new StreamsBuilder();
  builder
    .stream(input, { key: Serdes.String(), value: Serdes.String() })
    .groupByKey()
    .count({ name: 'counts' })
    .toStream()
    .to(output, { key: Serdes.String(), value: Serdes.Long() });
  const app = new KafkaStreams(builder.build(), {
    applicationId,
    bootstrapServers: bootstrapServers(),
    stateDir: tempStateDir(cleanups, 'kp-start-err-'),
    processingExceptionHandler: 'log-and-fail',
    deserializationExceptionHandler: 'log-and-fail',
    ...(replicationFactor === undefined ? {} : { replicationFactor }),
  });
  cleanups.push(() => app.close());
  const states: string[] = [];
  app.onStateChange((next: StreamsState, old: StreamsState) => states.push(`${old}->${next}`));
  const error = await app.start().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { app, states, error };
}

async function exists(topic: string): Promise<boolean> {
  const admin = clientFactory().admin();
  try {
    return (await admin.describeTopics([topic])).get(topic) !== undefined;
  } finally {
    await admin.close();
  }
}

describe('start() when internal topics cannot be created', () => {
  it('a replicationFactor above the brokers of the cluster', async () => {
    const applicationId = uniqueName('start-err-rf');
    const changelog = `${applicationId}-counts-changelog`;
    const { app, states, error } = await countingApp(applicationId, 3);
    expect(error).toBeInstanceOf(TopicCreationError);
    const message = (error as Error).message;
    const m =
      /^Cannot create topic "(.+)": replicationFactor 3 is more than the (\d+) broker\(s\) of the cluster \(INVALID_REPLICATION_FACTOR: .+\): set replicationFactor to at most (\d+)$/.exec(
        message,
      );
    expect(m, message).not.toBeNull();
    expect(m![1]).toBe(changelog);
    expect(m![3]).toBe(m![2]);
    expect(Number(m![2])).toBeLessThan(3);
    expect(states).toEqual(['CREATED->PENDING_ERROR', 'PENDING_ERROR->ERROR']);
    expect(app.state).toBe('ERROR');
    expect(app.error).toBe(error);
    expect(await exists(changelog)).toBe(false);
  });

  it('an applicationId that makes internal topic names longer than Kafka allows', async () => {
    const applicationId = `${uniqueName('start-err-long')}-`.padEnd(240, 'x');
    const changelog = `${applicationId}-counts-changelog`;
    const { app, states, error } = await countingApp(applicationId);
    expect(error).toBeInstanceOf(ConfigException);
    expect((error as Error).message).toBe(
      `Internal topic name is longer than the 249 characters Kafka allows: "${changelog}" (257 characters, store "counts"): shorten applicationId (240 characters) to at most 232, or give store "counts" a shorter name`,
    );
    expect(states).toEqual(['CREATED->PENDING_ERROR', 'PENDING_ERROR->ERROR']);
    expect(app.state).toBe('ERROR');
  });
});
