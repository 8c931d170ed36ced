import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigException,
  KafkaStreams,
  Serdes,
  StreamsBuilder,
  type StreamsConfig,
  StreamsException,
  type StreamsState,
} from '@kafka-pattern/streams-core';
import { TopicCreationError } from '@kafka-pattern/streams-core/client';
import { afterEach, describe, expect, it } from 'vitest';
import type { AdminPort, KafkaClientFactory, TopicSpec } from '../../src/client/port.ts';
import { silentLogger } from '../../src/observability/logger.ts';

/**
 * A cluster in memory that answers what start() asks before it opens a consumer: which topics
 * exist, and creating the internal ones. It records the calls, so a test can tell that no
 * request was made and that the admin was closed.
 */
function fakeCluster(topics: Record<string, number>, createTopics?: (specs: TopicSpec[]) => Promise<void>) {
  const calls: string[] = [];
  const existing = new Map(Object.entries(topics));
  const admin = {
    async describeTopics(names: string[]) {
      calls.push('describeTopics');
      return new Map(names.map((n) => [n, existing.has(n) ? { partitions: existing.get(n)! } : undefined]));
    },
    async createTopics(specs: TopicSpec[]) {
      calls.push('createTopics');
      if (createTopics) await createTopics(specs);
      for (const s of specs) existing.set(s.name, s.partitions);
    },
    async close() {
      calls.push('close');
    },
  } as Partial<AdminPort> as AdminPort;
  const unexpected = (what: string) => () => {
    throw new Error(`start() opened a ${what} before failing`);
  };
  const factory: KafkaClientFactory = {
    admin: () => admin,
    producer: unexpected('producer'),
    consumer: unexpected('consumer'),
    partitionReader: unexpected('partition reader'),
  };
  return { factory, calls, existing };
}

function countingTopology(storeName = 'counts') {
  const builder = new StreamsBuilder();
  builder
    .stream('words', { key: Serdes.String(), value: Serdes.String() })
    .groupByKey()
    .count({ name: storeName })
    .toStream()
    .to('counts-out', { key: Serdes.String(), value: Serdes.Long() });
  return builder.build();
}

/** Starts an app that must fail; returns the rejection and the states its listener was told. */
async function failedStart(app: KafkaStreams): Promise<{ error: unknown; states: string[] }> {
  const states: string[] = [];
  app.onStateChange((next: StreamsState, old: StreamsState) => states.push(`${old}->${next}`));
  const error = await app.start().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeDefined();
  expect(app.state).toBe('ERROR');
  expect(app.error).toBe(error);
  return { error, states };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kp-start-errors-'));
  dirs.push(dir);
  return dir;
}

const config = (extra: Partial<StreamsConfig> = {}): StreamsConfig => ({
  applicationId: 'counter',
  bootstrapServers: ['127.0.0.1:9092'],
  logger: silentLogger,
  ...extra,
});

describe('start() with a stateDir it cannot use', () => {
  it('a stateDir under a regular file: rejects naming the stateDir, the OS reason and the fix; ERROR; admin closed', async () => {
    const file = join(tempDir(), 'not-a-dir');
    writeFileSync(file, 'x');
    const stateDir = join(file, 'state');
    const cluster = fakeCluster({ words: 2, 'counts-out': 2 });
    const app = new KafkaStreams(countingTopology(), config({ stateDir }), {
      clientFactory: cluster.factory,
    });
    const { error, states } = await failedStart(app);
    expect(error).toBeInstanceOf(StreamsException);
    expect((error as Error).message).toBe(
      `stateDir "${stateDir}" cannot be used: ${join(stateDir, 'counter')} cannot be created or written (ENOTDIR, a part of the path is a file, not a directory): set stateDir to a directory this process can create and write to`,
    );
    expect((error as Error).cause).toMatchObject({ name: 'StateDirectoryError', code: 'ENOTDIR' });
    expect(states).toEqual(['CREATED->PENDING_ERROR', 'PENDING_ERROR->ERROR']);
    expect(cluster.calls.at(-1)).toBe('close');
    expect(cluster.calls.filter((c) => c === 'close')).toHaveLength(1);
  });

  it('a stateDir whose application directory is a file', async () => {
    const stateDir = tempDir();
    writeFileSync(join(stateDir, 'counter'), 'x');
    const cluster = fakeCluster({ words: 1, 'counts-out': 1 });
    const app = new KafkaStreams(countingTopology(), config({ stateDir }), {
      clientFactory: cluster.factory,
    });
    const { error, states } = await failedStart(app);
    expect((error as Error).message).toBe(
      `stateDir "${stateDir}" cannot be used: ${join(stateDir, 'counter')} cannot be created or written (EEXIST, it exists and is not a directory): set stateDir to a directory this process can create and write to`,
    );
    expect(states).toEqual(['CREATED->PENDING_ERROR', 'PENDING_ERROR->ERROR']);
    expect(cluster.calls.at(-1)).toBe('close');
  });
});

describe('start() with internal topic names Kafka refuses', () => {
  it('an applicationId too long for the changelog name fails before any request, saying how long it may be', async () => {
    const applicationId = 'a'.repeat(235);
    const cluster = fakeCluster({ words: 1, 'counts-out': 1 });
    const app = new KafkaStreams(countingTopology(), config({ applicationId, stateDir: tempDir() }), {
      clientFactory: cluster.factory,
    });
    const { error, states } = await failedStart(app);
    expect(error).toBeInstanceOf(ConfigException);
    const changelog = `${applicationId}-counts-changelog`;
    expect((error as Error).message).toBe(
      `Internal topic name is longer than the 249 characters Kafka allows: "${changelog}" (${changelog.length} characters, store "counts"): shorten applicationId (235 characters) to at most 232, or give store "counts" a shorter name`,
    );
    expect(states).toEqual(['CREATED->PENDING_ERROR', 'PENDING_ERROR->ERROR']);
    expect(cluster.calls).toEqual(['close']);
  });

  it('lists every over-long name and the fix for each kind, dead-letter topics included', async () => {
    const applicationId = 'b'.repeat(240);
    const longSource = `s${'x'.repeat(246)}`;
    const builder = new StreamsBuilder();
    builder
      .stream(longSource, { key: Serdes.String(), value: Serdes.String() })
      .repartition({ name: 'by-user' })
      .foreach(() => {});
    const cluster = fakeCluster({ [longSource]: 1 });
    const app = new KafkaStreams(
      builder.build(),
      { ...config({ applicationId, stateDir: tempDir() }), processingExceptionHandler: 'dead-letter' },
      { clientFactory: cluster.factory },
    );
    const { error } = await failedStart(app);
    const repartition = `${applicationId}-by-user-repartition`;
    expect((error as Error).message).toBe(
      `Internal topic names are longer than the 249 characters Kafka allows: "${repartition}" (${repartition.length} characters, repartition topic "by-user-repartition"), "${longSource}-dlt" (251 characters, the dead-letter topic of "${longSource}"), "${repartition}-dlt" (${repartition.length + 4} characters, the dead-letter topic of "${repartition}"): shorten applicationId (240 characters) to at most 225, or give repartition topic "by-user-repartition" a shorter name; set deadLetter.topic to a function that returns names of at most 249 characters`,
    );
    expect(cluster.calls).toEqual(['close']);
  });

  it('a store name with characters Kafka does not allow in a topic name', async () => {
    const cluster = fakeCluster({ words: 1, 'counts-out': 1 });
    const app = new KafkaStreams(countingTopology('word counts'), config({ stateDir: tempDir() }), {
      clientFactory: cluster.factory,
    });
    const { error, states } = await failedStart(app);
    expect((error as Error).message).toBe(
      `Internal topic name is not legal in Kafka: "counter-word counts-changelog" (store "word counts"): rename store "word counts" with letters, digits, '.', '_' and '-' only`,
    );
    expect(states).toEqual(['CREATED->PENDING_ERROR', 'PENDING_ERROR->ERROR']);
    expect(cluster.calls).toEqual(['close']);
  });

  it('a deadLetter.topic function that returns an illegal name', async () => {
    const cluster = fakeCluster({ words: 1, 'counts-out': 1 });
    const app = new KafkaStreams(
      countingTopology(),
      config({ stateDir: tempDir(), deadLetter: { topic: (t) => `errors/${t}` } }),
      { clientFactory: cluster.factory },
    );
    const { error } = await failedStart(app);
    expect((error as Error).message).toBe(
      `Internal topic name is not legal in Kafka: "errors/words" (the dead-letter topic of "words"): make deadLetter.topic return a name of letters, digits, '.', '_' and '-' only`,
    );
    expect(cluster.calls).toEqual(['close']);
  });
});

describe('the replication factor of the topics the application creates', () => {
  async function createdSpecs(extra: Partial<StreamsConfig>): Promise<TopicSpec[]> {
    let created: TopicSpec[] = [];
    const cluster = fakeCluster({ words: 1, 'counts-out': 1 }, async (specs) => {
      created = specs;
      throw new Error('stop here');
    });
    const app = new KafkaStreams(
      countingTopology(),
      config({ stateDir: tempDir(), deadLetter: { topic: (t) => `${t}-dlt` }, ...extra }),
      { clientFactory: cluster.factory },
    );
    await failedStart(app);
    return created;
  }

  it("is left to the broker's default.replication.factor unless configured, for every topic", async () => {
    for (const extra of [{}, { replicationFactor: -1 }]) {
      const specs = await createdSpecs(extra);
      expect(specs.map((s) => s.name).sort()).toEqual(['counter-counts-changelog', 'words-dlt']);
      expect(specs.map((s) => s.replicationFactor)).toEqual([undefined, undefined]);
    }
  });

  it('is the configured one for changelogs and dead-letter topics alike', async () => {
    const specs = await createdSpecs({ replicationFactor: 3 });
    expect(specs.map((s) => s.name).sort()).toEqual(['counter-counts-changelog', 'words-dlt']);
    expect(specs.map((s) => s.replicationFactor)).toEqual([3, 3]);
  });
});

describe('start() when the broker refuses to create an internal topic', () => {
  it('rejects with the client error and goes to ERROR, the admin closed', async () => {
    const refusal = new TopicCreationError(
      ['counter-counts-changelog'],
      'INVALID_REPLICATION_FACTOR',
      'Unable to replicate the partition 3 time(s)',
      'replicationFactor 3 is more than the 1 broker(s) of the cluster',
      'set replicationFactor to at most 1',
    );
    const cluster = fakeCluster({ words: 1, 'counts-out': 1 }, async (specs) => {
      expect(specs.every((s) => s.replicationFactor === 3)).toBe(true);
      throw refusal;
    });
    const app = new KafkaStreams(countingTopology(), config({ stateDir: tempDir(), replicationFactor: 3 }), {
      clientFactory: cluster.factory,
    });
    const { error, states } = await failedStart(app);
    expect(error).toBe(refusal);
    expect(states).toEqual(['CREATED->PENDING_ERROR', 'PENDING_ERROR->ERROR']);
    expect(cluster.calls).toEqual(['describeTopics', 'describeTopics', 'createTopics', 'close']);
  });
});
