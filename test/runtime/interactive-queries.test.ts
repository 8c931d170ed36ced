import { createServer } from 'node:net';
import {
  InvalidStateStoreException,
  KafkaStreams,
  Serdes,
  StreamsBuilder,
  startQueryServer,
} from '@kafka-pattern/streams-core';
import { describe, expect, it } from 'vitest';
import {
  bootstrapServers,
  clientFactory,
  createTopic,
  eventually,
  produce,
  record,
  uniqueName,
} from '../support/kafka.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';

const cleanups = teardownAfterEach();

function topology(input: string) {
  const builder = new StreamsBuilder();
  builder
    .stream(input, { key: Serdes.String(), value: Serdes.String() })
    .groupBy((_k, word) => word, { key: Serdes.String(), value: Serdes.String() })
    .count({ name: 'counts' });
  return builder.build();
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The local answer, or undefined while the instance is rebalancing. */
function localCount(app: KafkaStreams, word: string): number | undefined {
  try {
    return app.store<string, number>('counts').get(word);
  } catch (error) {
    if (error instanceof InvalidStateStoreException) return undefined;
    throw error;
  }
}

describe('interactive queries across two instances', () => {
  it('answer every key on its owner, name the owner of every key, and forward over HTTP', async () => {
    const input = await createTopic(uniqueName('iq-in'), 4);
    const applicationId = uniqueName('iq');
    const start = async () => {
      const stateDir = tempStateDir(cleanups, 'kp-iq-');
      const port = await freePort();
      const app = new KafkaStreams(topology(input), {
        applicationId,
        bootstrapServers: bootstrapServers(),
        stateDir,
        applicationServer: `127.0.0.1:${port}`,
        commitIntervalMs: 200,
        client: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 },
      });
      cleanups.push(() => app.close());
      await app.start();
      const server = await startQueryServer(app);
      cleanups.push(() => server.close());
      return { app, port, server };
    };
    const a = await start();
    await a.app.waitForRunning();
    const b = await start();
    // 4 input partitions + 4 repartition partitions = 8 tasks, shared once the group settled.
    await eventually(
      () => {
        const ta = a.app.activeTaskIds();
        const tb = b.app.activeTaskIds();
        return a.app.state === 'RUNNING' &&
          b.app.state === 'RUNNING' &&
          ta.length > 0 &&
          tb.length > 0 &&
          ta.length + tb.length === 8
          ? true
          : undefined;
      },
      60_000,
      'both instances to own tasks',
    );

    // Word w<i> occurs i % 5 + 1 times.
    const expected = new Map(Array.from({ length: 24 }, (_, i) => [`w${i}`, (i % 5) + 1]));
    const words = [...expected].flatMap(([w, n]) => Array.from({ length: n }, () => w));
    await produce(words.map((w, i) => record(input, `k${i}`, w)));

    const instances = [a, b];
    const ownerOf = (partition: number) =>
      instances.find((x) => x.app.activeTaskIds().includes(`1_${partition}`));
    await eventually(
      async () => {
        for (const [word, count] of expected) {
          const meta = await a.app.queryMetadataForKey('counts', word);
          const owner = ownerOf(meta.partition);
          if (!owner || localCount(owner.app, word) !== count) return undefined;
        }
        return true;
      },
      60_000,
      'every count on its owner',
    );

    for (const [word, count] of expected) {
      const fromA = await a.app.queryMetadataForKey('counts', word);
      const fromB = await b.app.queryMetadataForKey('counts', word);
      const owner = ownerOf(fromA.partition)!;
      const other = owner === a ? b : a;
      expect(fromA.activeHost).toEqual({ host: '127.0.0.1', port: owner.port });
      expect(fromB).toEqual({ ...fromA, local: owner === b });
      expect(fromA.local).toBe(owner === a);
      expect(owner.app.store<string, number>('counts').get(word)).toBe(count);
      // The other instance does not hold the key: no answer there, and it says so instead of guessing.
      expect(other.app.store<string, number>('counts').get(word)).toBeUndefined();
    }
    // Both instances' local ranges together are the whole table, each in key-byte order.
    const ranges = [a, b].map((x) => x.app.store<string, number>('counts').all());
    for (const r of ranges)
      expect(r.map((e) => e.key)).toEqual(
        r.map((e) => e.key).sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))),
      );
    expect(new Map(ranges.flat().map((e) => [e.key, e.value]))).toEqual(expected);

    const metadata = await a.app.allMetadata();
    expect(metadata.map((m) => m.applicationServer).sort()).toEqual(
      [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`].sort(),
    );
    expect(metadata.find((m) => m.local)?.applicationServer).toBe(`127.0.0.1:${a.port}`);
    expect(metadata.flatMap((m) => m.tasks).sort()).toEqual([
      '0_0',
      '0_1',
      '0_2',
      '0_3',
      '1_0',
      '1_1',
      '1_2',
      '1_3',
    ]);
    for (const m of metadata)
      expect(m.stores).toEqual(m.tasks.some((t) => t.startsWith('1_')) ? ['counts'] : []);

    // Over HTTP: A answers a key B holds by asking B.
    const onB = [...expected.keys()].find((w) => ownerOf(partitionOfWord(w, a.app))?.app === b.app);
    const onA = [...expected.keys()].find((w) => ownerOf(partitionOfWord(w, a.app))?.app === a.app);
    expect(onB && onA).toBeTruthy();
    const viaA = await fetch(`${a.server.url}/stores/counts/keys/${onB}`);
    expect(viaA.status).toBe(200);
    expect(viaA.headers.get('x-kafka-pattern-served-by')).toBe(`127.0.0.1:${b.port}`);
    expect(await viaA.json()).toBe(expected.get(onB!));
    const local = await fetch(`${a.server.url}/stores/counts/keys/${onA}`);
    expect(await local.json()).toBe(expected.get(onA!));
    expect((await fetch(`${a.server.url}/stores/counts/keys/never-seen`)).status).toBe(404);
    expect((await fetch(`${b.server.url}/stores/nope/keys/x`)).status).toBe(404);
    const metrics = await fetch(`${a.server.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    expect(text).toContain('# TYPE kafka_pattern_');
    expect(text).toMatch(new RegExp(`application_id="${applicationId}"`));
    const httpMetadata = (await (await fetch(`${b.server.url}/metadata`)).json()) as Array<{
      applicationServer: string;
      local: boolean;
    }>;
    expect(httpMetadata.find((m) => m.local)?.applicationServer).toBe(`127.0.0.1:${b.port}`);
  });

  it("the group subscription carries each member's userData, readable through describeGroup", async () => {
    const topic = await createTopic(uniqueName('iq-group'), 2);
    const groupId = uniqueName('iq-group');
    const factory = clientFactory();
    const consumer = factory.consumer({
      groupId,
      clientId: uniqueName('iq-member'),
      topics: [topic],
      isolationLevel: 'read_uncommitted',
      copartitionGroups: [],
      userData: Buffer.from('where-i-serve'),
      maxWaitMs: 100,
    });
    const admin = factory.admin();
    cleanups.push(
      () => admin.close(),
      () => consumer.close(),
    );
    await eventually(
      async () => {
        await consumer.poll();
        return consumer.assignment().length === 2 ? true : undefined;
      },
      30_000,
      'the assignment',
    );
    const group = await eventually(
      async () => {
        const g = await admin.describeGroup(groupId);
        return g?.state === 'Stable' ? g : undefined;
      },
      30_000,
      'a stable group',
    );
    expect(group.members).toHaveLength(1);
    expect(group.members[0]!.userData?.toString()).toBe('where-i-serve');
    expect(group.members[0]!.assignment.sort((x, y) => x.partition - y.partition)).toEqual([
      { topic, partition: 0 },
      { topic, partition: 1 },
    ]);
    expect(await admin.describeGroup(uniqueName('no-such-group'))).toBeUndefined();
  });
});

function partitionOfWord(word: string, app: KafkaStreams): number {
  return app.interactiveQueries.partitionOf(app.interactiveQueries.describeStore('counts'), word);
}
