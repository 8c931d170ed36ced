import {
  BrokerUnreachableError,
  KafkaClientError,
  TopicCreationError,
} from '@kafka-pattern/streams-core/client';
import { describe, expect, it } from 'vitest';
import { type TopicCreationContext, toTopicCreationError } from '../../src/client/platformatic/errors.ts';
import type { TopicSpec } from '../../src/client/port.ts';

/**
 * What @platformatic/kafka throws for a CreateTopics the broker refused (as seen from Kafka 4):
 * MultipleErrors → ResponseError → ProtocolError carrying the error name and the broker's text.
 */
function refusal(apiId: string, serverErrorMessage: string): Error {
  const protocol = Object.assign(new Error('protocol error'), {
    code: 'PLT_KFK_PROTOCOL',
    apiId,
    serverErrorMessage,
  });
  const response = Object.assign(
    new AggregateError([protocol], 'Received response with error while executing API CreateTopics(v7)'),
    { code: 'PLT_KFK_RESPONSE' },
  );
  return Object.assign(new AggregateError([response], 'Creating topics failed.'), {
    code: 'PLT_KFK_MULTIPLE',
  });
}

const spec = (name: string, replicationFactor?: number): TopicSpec => ({
  name,
  partitions: 2,
  ...(replicationFactor === undefined ? {} : { replicationFactor }),
});

function map(error: unknown, context: Partial<TopicCreationContext> = {}): Error {
  return toTopicCreationError(error, {
    bootstrapServers: ['127.0.0.1:9092'],
    spec: spec('app-counts-changelog', 3),
    pending: [],
    brokers: 1,
    ...context,
  });
}

const RF_MESSAGE =
  'Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 1 broker(s) are registered.';

describe('topic creation errors', () => {
  it('a replication factor above the brokers names the topics, the broker reason and the highest factor that works', () => {
    const error = map(refusal('INVALID_REPLICATION_FACTOR', RF_MESSAGE), {
      pending: [spec('app-by-user-repartition', 3), spec('words-dlt', 3), spec('other', 1)],
    });
    expect(error).toBeInstanceOf(TopicCreationError);
    expect(error).toMatchObject({
      topics: ['app-counts-changelog', 'app-by-user-repartition', 'words-dlt'],
      errorCode: 'INVALID_REPLICATION_FACTOR',
      brokerMessage: RF_MESSAGE,
    });
    expect(error.message).toBe(
      `Cannot create topics "app-counts-changelog", "app-by-user-repartition", "words-dlt": replicationFactor 3 is more than the 1 broker(s) of the cluster (INVALID_REPLICATION_FACTOR: ${RF_MESSAGE.slice(0, -1)}): set replicationFactor to at most 1`,
    );
    expect(error.cause).toBeInstanceOf(AggregateError);
  });

  it('takes the broker count from the broker when the cluster could not be asked', () => {
    const error = map(refusal('INVALID_REPLICATION_FACTOR', RF_MESSAGE), { brokers: undefined });
    expect(error.message).toMatch(
      /replicationFactor 3 is more than the 1 broker\(s\) of the cluster .*: set replicationFactor to at most 1$/,
    );
    const older = map(
      refusal('INVALID_REPLICATION_FACTOR', 'Replication factor: 3 larger than available brokers: 2.'),
      {
        brokers: undefined,
      },
    );
    expect(older.message).toMatch(/: set replicationFactor to at most 2$/);
    const unknown = map(refusal('INVALID_REPLICATION_FACTOR', ''), { brokers: undefined });
    expect(unknown.message).toBe(
      'Cannot create topic "app-counts-changelog": replicationFactor 3 is more than the number of brokers of the cluster (INVALID_REPLICATION_FACTOR): set replicationFactor to at most the number of brokers',
    );
  });

  it("without a replication factor it is the broker's default that is too high", () => {
    const error = map(refusal('INVALID_REPLICATION_FACTOR', RF_MESSAGE), { spec: spec('t'), brokers: 1 });
    expect(error.message).toMatch(
      /^Cannot create topic "t": the broker's default.replication.factor is more than the 1 broker\(s\) of the cluster \(.*\): set replicationFactor to at most 1$/,
    );
  });

  it('an illegal name, a refused config, a refused partition count, a missing permission', () => {
    const name = map(
      refusal(
        'INVALID_TOPIC_EXCEPTION',
        "Topic name is invalid: 'bad name' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'",
      ),
      { spec: spec('bad name') },
    );
    expect(name.message).toBe(
      `Cannot create topic "bad name": the name is not a legal Kafka topic name (INVALID_TOPIC_EXCEPTION: Topic name is invalid: 'bad name' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'): use at most 249 characters from letters, digits, '.', '_' and '-'`,
    );
    const config = map(
      refusal(
        'INVALID_CONFIG',
        'Invalid value bogus for configuration cleanup.policy: String must be one of: compact, delete',
      ),
    );
    expect(config.message).toBe(
      `Cannot create topic "app-counts-changelog": the broker refused its configuration (INVALID_CONFIG: Invalid value bogus for configuration cleanup.policy: String must be one of: compact, delete): fix the setting the broker names (a changelog's settings come from the store's logging option)`,
    );
    const partitions = map(refusal('INVALID_PARTITIONS', 'Number of partitions must be larger than 0.'), {
      spec: { name: 't', partitions: 0 },
    });
    expect(partitions.message).toBe(
      'Cannot create topic "t": 0 is not a valid partition count (INVALID_PARTITIONS: Number of partitions must be larger than 0): ask for 1 partition or more',
    );
    const denied = map(refusal('TOPIC_AUTHORIZATION_FAILED', ''));
    expect(denied.message).toBe(
      `Cannot create topic "app-counts-changelog": this client is not allowed to create topics (TOPIC_AUTHORIZATION_FAILED): grant the client's principal CREATE on the topic (or the cluster), or create the topic beforehand`,
    );
    const other = map(refusal('SOMETHING_NEW', 'why'));
    expect(other).toBeInstanceOf(TopicCreationError);
    expect(other.message).toBe(
      `Cannot create topic "app-counts-changelog": the broker refused it (SOMETHING_NEW: why): change what the broker's reason names, or create the topic beforehand (kafka-topics.sh --create)`,
    );
  });

  it('a connection failure stays a connection failure', () => {
    const network = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9092'), { code: 'ECONNREFUSED' });
    const error = map(new AggregateError([network], 'Creating topics failed.'));
    expect(error).toBeInstanceOf(BrokerUnreachableError);
    const plain = new KafkaClientError('already mapped');
    expect(map(plain)).toBe(plain);
  });
});
