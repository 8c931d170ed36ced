import {
  BrokerUnreachableError,
  createPlatformaticClientFactory,
  TopicCreationError,
  TopicNotFoundError,
  TopicPartitionsMismatchError,
} from '@kafka-pattern/streams-core/client';
import { afterAll, describe, expect, it } from 'vitest';
import { clientFactory, deleteTopics, record, uniqueName } from '../support/kafka.ts';

describe('errors say what to do', () => {
  const topic = uniqueName('err-topic');
  afterAll(() => deleteTopics([topic]));

  it('an unreachable bootstrap server fails fast with how to start Kafka', async () => {
    // Port 1 on loopback: nothing listens, the connection is refused.
    const factory = createPlatformaticClientFactory({
      bootstrapServers: ['127.0.0.1:1'],
      clientId: 'unreachable',
    });
    const admin = factory.admin();
    const producer = factory.producer({ clientId: 'unreachable', idempotent: true });
    try {
      for (const attempt of [
        () => admin.describeTopics(['anything']),
        () => producer.send([record('anything', 'k', 'v')]),
      ]) {
        const started = Date.now();
        const error = await attempt().catch((e: unknown) => e);
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(error).toBeInstanceOf(BrokerUnreachableError);
        expect((error as Error).message).toBe(
          'Kafka at 127.0.0.1:1 is unreachable (ECONNREFUSED): start it with "pnpm stack:up" or set bootstrapServers',
        );
      }
    } finally {
      await Promise.allSettled([admin.close(), producer.close()]);
    }
  });

  it('creating an existing topic with another partition count is an error; with the same count it is not', async () => {
    const admin = clientFactory().admin();
    try {
      await admin.createTopics([{ name: topic, partitions: 2 }]);
      await admin.createTopics([{ name: topic, partitions: 2 }]);
      const error = await admin.createTopics([{ name: topic, partitions: 3 }]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TopicPartitionsMismatchError);
      expect((error as Error).message).toBe(
        `Topic "${topic}" already exists with 2 partitions, not 3: delete it (kafka-topics.sh --delete) or ask for 2 partitions`,
      );
      expect((await admin.describeTopics([topic])).get(topic)).toEqual({ partitions: 2 });
    } finally {
      await admin.close();
    }
  });

  it('a replication factor the cluster cannot hold names every topic of the request and the factor that fits', async () => {
    const names = [uniqueName('err-rf'), uniqueName('err-rf')];
    const admin = clientFactory().admin();
    try {
      const error = await admin
        .createTopics(names.map((name) => ({ name, partitions: 1, replicationFactor: 3 })))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TopicCreationError);
      expect(error).toMatchObject({ topics: names, errorCode: 'INVALID_REPLICATION_FACTOR' });
      expect((error as Error).message).toMatch(
        new RegExp(
          `^Cannot create topics "${names[0]}", "${names[1]}": replicationFactor 3 is more than the (\\d+) broker\\(s\\) of the cluster \\(INVALID_REPLICATION_FACTOR: .+\\): set replicationFactor to at most \\1$`,
        ),
      );
      const described = await admin.describeTopics(names);
      expect([...described.values()]).toEqual([undefined, undefined]);
    } finally {
      await admin.close();
    }
  });

  it('a missing topic is named, for producers, consumers and admin alike', async () => {
    const missing = uniqueName('missing');
    const factory = clientFactory();
    const admin = factory.admin();
    const producer = factory.producer({ clientId: 'missing', idempotent: true });
    const consumer = factory.consumer({
      groupId: uniqueName('missing-group'),
      clientId: 'missing',
      topics: [missing],
      isolationLevel: 'read_committed',
      copartitionGroups: [],
      sessionTimeoutMs: 6000,
      maxWaitMs: 200,
    });
    try {
      expect((await admin.describeTopics([missing])).get(missing)).toBeUndefined();
      const expected = `Topic "${missing}" does not exist: create it (kafka-topics.sh --create, or AdminPort.createTopics) or fix the topic name`;
      for (const attempt of [() => producer.send([record(missing, 'k', 'v')]), () => consumer.poll()]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TopicNotFoundError);
        expect((error as Error).message).toBe(expected);
      }
      // The broker's auto-creation must not have kicked in behind our back.
      expect((await admin.describeTopics([missing])).get(missing)).toBeUndefined();
    } finally {
      await Promise.allSettled([admin.close(), producer.close(), consumer.close()]);
    }
  });
});
