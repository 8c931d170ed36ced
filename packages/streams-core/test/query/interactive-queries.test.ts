import { createServer } from 'node:net';
import { InMemoryKeyValueStore, InMemorySessionStore, InMemoryWindowStore } from '@kafka-pattern/state-store';
import {
  ConfigException,
  InvalidStateStoreException,
  KafkaStreams,
  parseRecordPosition,
  partitionForKey,
  type RecordPosition,
  Serdes,
  SessionWindows,
  StreamsBuilder,
  startQueryServer,
  TimeWindows,
  UnknownStateStoreException,
} from '@kafka-pattern/streams-core';
import { afterEach, describe, expect, it } from 'vitest';
import type { AdminPort, GroupDescription } from '../../src/client/port.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { KeyParseError, parseKeyText, toJson } from '../../src/query/http-codec.ts';
import { InteractiveQueries } from '../../src/query/interactive-queries.ts';
import type { QueryableStoreInfo } from '../../src/query/store-views.ts';
import {
  decodeSubscriptionInfo,
  encodeSubscriptionInfo,
  parseHostInfo,
} from '../../src/query/subscription-info.ts';
import type { TopicPlan } from '../../src/runtime/internal-topics.ts';
import type { StreamsState } from '../../src/runtime/kafka-streams.ts';
import type { ActiveTask } from '../../src/runtime/task-manager.ts';
import { changelogTopicName, type StoreContext } from '../../src/state/store-builder.ts';
import { topologyGraph } from '../../src/topology/topology-graph.ts';

const PARTITIONS = 4;
const APP = 'iq-unit';

function topology() {
  const builder = new StreamsBuilder();
  const events = builder.stream('events', { key: Serdes.String(), value: Serdes.String() });
  const grouped = events.groupByKey({ key: Serdes.String(), value: Serdes.String() });
  grouped.count({ name: 'counts' });
  grouped.windowedBy(TimeWindows.ofSizeAndGrace(1_000, 60_000)).count({ name: 'per-second' });
  grouped.windowedBy(SessionWindows.ofInactivityGapWithNoGrace(1_000)).count({ name: 'sessions' });
  events
    .groupBy((_k, v) => Number(v.length), { key: Serdes.Long(), value: Serdes.String() })
    .count({ name: 'by-length' });
  return builder.build();
}

const TOPOLOGY = topology();

function plan(): TopicPlan {
  const subs = topologyGraph(TOPOLOGY).subtopologies();
  const sourceTopics = new Map(
    subs.map((s) => [s.id, s.sourceTopics.map((t) => (t.internal ? `${APP}-${t.topic}` : t.topic))]),
  );
  return {
    tasksPerSubtopology: new Map(subs.map((s) => [s.id, PARTITIONS])),
    partitions: new Map(),
    sourceTopics,
    subtopologyOfTopic: new Map(
      [...sourceTopics].flatMap(([id, ts]) => ts.map((t) => [t, id] as [string, number])),
    ),
    internalTopics: [],
    declaredTopics: new Set(),
  };
}

const context = (taskId: string): StoreContext => ({
  applicationId: APP,
  taskId,
  serdeTopic: (name) => changelogTopicName(APP, name),
  keyValueBytesStore: (spec) => new InMemoryKeyValueStore(spec.name),
  windowBytesStore: (spec) =>
    new InMemoryWindowStore(spec.name, {
      windowSizeMs: spec.windowSizeMs ?? 0,
      retentionMs: spec.retentionMs ?? 86_400_000,
      retainDuplicates: false,
    }),
  sessionBytesStore: (spec) =>
    new InMemorySessionStore(spec.name, { retentionMs: spec.retentionMs ?? 86_400_000 }),
});

/** A task as the runtime would have it: the sub-topology's stores, built by the topology's own builders. */
function task(subtopology: number, partition: number): ActiveTask {
  const id = `${subtopology}_${partition}`;
  const stores = new Map<string, unknown>();
  for (const name of topologyGraph(TOPOLOGY).subtopologies()[subtopology]!.stores)
    stores.set(name, topologyGraph(TOPOLOGY).storeBuilder(name)!.build(context(id)));
  return { id, subtopology, partition, task: { stores }, processed: new Map() } as unknown as ActiveTask;
}

interface Instance {
  iq: InteractiveQueries;
  tasks: ActiveTask[];
  setState(state: StreamsState): void;
}

function instance(
  applicationServer: string | undefined,
  partitions: number[],
  admin: () => AdminPort,
): Instance {
  let state: StreamsState = 'RUNNING';
  const listeners: Array<(s: StreamsState) => void> = [];
  const subs = topologyGraph(TOPOLOGY).subtopologies();
  const tasks = subs.flatMap((s) => partitions.map((p) => task(s.id, p)));
  const thePlan = plan();
  const iq = new InteractiveQueries({
    applicationId: APP,
    topology: TOPOLOGY,
    applicationServer,
    defaultKeySerde: undefined,
    logger: silentLogger,
    globalStores: () => undefined,
    state: () => state,
    activeTasks: () => tasks,
    plan: () => thePlan,
    admin,
    onStateChange: (l) => listeners.push(l),
  });
  return {
    iq,
    tasks,
    setState(s) {
      state = s;
      for (const l of listeners) l(s);
    },
  };
}

/** A coordinator that describes the given members, each with its subscription userData and assignment. */
function groupOf(
  members: Array<{ instance: Instance; partitions: number[] }>,
  state = 'Stable',
): () => AdminPort {
  const topics = [...plan().sourceTopics.values()].flat();
  const description = (): GroupDescription => ({
    groupId: APP,
    state,
    members: members.map((m, i) => ({
      memberId: `member-${i}`,
      clientId: `client-${i}`,
      clientHost: '/127.0.0.1',
      userData: m.instance.iq.subscriptionUserData(),
      assignment: topics.flatMap((topic) => m.partitions.map((partition) => ({ topic, partition }))),
    })),
  });
  const admin = { describeGroup: async () => description() } as unknown as AdminPort;
  return () => admin;
}

const partitionOf = (key: string) => partitionForKey(Buffer.from(key, 'utf8'), PARTITIONS);

/** Keys spread over every partition, written to the store of the task that owns their partition. */
function fill(tasks: ActiveTask[], keys: string[]): void {
  for (const key of keys) {
    const t = tasks.find((x) => x.subtopology === 0 && x.partition === partitionOf(key));
    if (!t) continue;
    const counts = t.task.stores.get('counts') as {
      put(k: string, v: { value: number; timestamp: number }): void;
    };
    counts.put(key, { value: key.length, timestamp: 5 });
    const windows = t.task.stores.get('per-second') as {
      put(k: string, v: { value: number; timestamp: number }, start: number): boolean;
    };
    windows.put(key, { value: 1, timestamp: 1_500 }, 1_000);
    windows.put(key, { value: 2, timestamp: 2_500 }, 2_000);
    const sessions = t.task.stores.get('sessions') as {
      put(s: { key: string; window: { start: number; end: number } }, v: number): void;
    };
    sessions.put({ key, window: { start: 100, end: 400 } }, 3);
  }
}

const KEYS = Array.from({ length: 40 }, (_, i) => `key-${i}`);
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

describe('local store views', () => {
  const both = (): { a: Instance; b: Instance } => {
    const members: Array<{ instance: Instance; partitions: number[] }> = [];
    const admin = groupOf(members);
    const a = instance('127.0.0.1:7001', [0, 2], admin);
    const b = instance('127.0.0.1:7002', [1, 3], admin);
    members.push({ instance: a, partitions: [0, 2] }, { instance: b, partitions: [1, 3] });
    fill(a.tasks, KEYS);
    fill(b.tasks, KEYS);
    return { a, b };
  };

  it('get answers keys of local partitions with plain values and undefined for the others', () => {
    const { a } = both();
    const counts = a.iq.store<string, number, 'keyValue'>('counts', 'keyValue');
    for (const key of KEYS) {
      if ([0, 2].includes(partitionOf(key))) expect(counts.get(key)).toBe(key.length);
      else expect(counts.get(key)).toBeUndefined();
    }
    expect(counts.get('absent')).toBeUndefined();
  });

  it('all and range merge the local tasks in key-byte order', () => {
    const { a } = both();
    const counts = a.iq.store<string, number, 'keyValue'>('counts', 'keyValue');
    const local = KEYS.filter((k) => [0, 2].includes(partitionOf(k))).sort(byBytes);
    expect(counts.all().map((e) => e.key)).toEqual(local);
    expect(counts.reverseAll().map((e) => e.key)).toEqual([...local].reverse());
    expect(counts.range('key-1', 'key-3').map((e) => e.key)).toEqual(
      local.filter((k) => byBytes(k, 'key-1') >= 0 && byBytes(k, 'key-3') <= 0),
    );
    expect(counts.approximateNumEntries()).toBe(local.length);
  });

  it('a view stays valid when the tasks change under it', () => {
    const { a } = both();
    const counts = a.iq.store<string, number, 'keyValue'>('counts', 'keyValue');
    const remote = KEYS.find((k) => partitionOf(k) === 1)!;
    expect(counts.get(remote)).toBeUndefined();
    const moved = task(0, 1);
    a.tasks.push(moved);
    fill([moved], [remote]);
    expect(counts.get(remote)).toBe(remote.length);
  });

  it('window and session stores: fetch by key routes, fetchAll merges', () => {
    const { b } = both();
    const windows = b.iq.store<string, number, 'window'>('per-second', 'window');
    const key = KEYS.find((k) => [1, 3].includes(partitionOf(k)))!;
    expect(windows.windowSizeMs).toBe(1_000);
    expect(windows.fetch(key, 0, 10_000)).toEqual([
      { windowStart: 1_000, value: 1 },
      { windowStart: 2_000, value: 2 },
    ]);
    expect(windows.fetch(key, 2_000)).toBe(2);
    expect(windows.fetch(KEYS.find((k) => partitionOf(k) === 0)!, 0, 10_000)).toEqual([]);
    const all = windows.fetchAll(2_000, 2_000);
    expect(all.map((e) => e.key.key)).toEqual(
      KEYS.filter((k) => [1, 3].includes(partitionOf(k))).sort(byBytes),
    );
    expect(all.every((e) => e.key.window.start === 2_000 && e.value === 2)).toBe(true);
    const sessions = b.iq.store<string, number, 'session'>('sessions', 'session');
    expect(sessions.fetch(key)).toEqual([{ key: { key, window: { start: 100, end: 400 } }, value: 3 }]);
  });

  it('names the stores when one does not exist, and says how to ask for another kind', () => {
    const { a } = both();
    expect(() => a.iq.store('nope', 'keyValue')).toThrow(UnknownStateStoreException);
    expect(() => a.iq.store('nope', 'keyValue')).toThrow(
      /No store named "nope" in "iq-unit": its stores are "counts", "per-second", "sessions", "by-length"/,
    );
    expect(() => a.iq.store('per-second', 'keyValue')).toThrow(
      'Store "per-second" is a timestampedWindow store, not a keyValue store: ask for it with store("per-second", "window")',
    );
  });

  it('refuses reads while the instance is not RUNNING', () => {
    const { a } = both();
    const counts = a.iq.store<string, number, 'keyValue'>('counts', 'keyValue');
    a.setState('REBALANCING');
    expect(() => counts.get('key-1')).toThrow(InvalidStateStoreException);
    expect(() => counts.get('key-1')).toThrow(
      'Store "counts" cannot be queried while "iq-unit" is REBALANCING: retry once it is RUNNING',
    );
    a.setState('RUNNING');
    expect(() => counts.all()).not.toThrow();
  });

  it('queryMetadataForKey names the instance of every key; allMetadata lists both', async () => {
    const { a, b } = both();
    for (const key of KEYS) {
      const p = partitionOf(key);
      const fromA = await a.iq.queryMetadataForKey('counts', key);
      const fromB = await b.iq.queryMetadataForKey('counts', key);
      const owner = [0, 2].includes(p) ? 7001 : 7002;
      expect(fromA).toEqual({
        partition: p,
        activeHost: { host: '127.0.0.1', port: owner },
        local: owner === 7001,
      });
      expect(fromB).toEqual({
        partition: p,
        activeHost: { host: '127.0.0.1', port: owner },
        local: owner === 7002,
      });
    }
    // A Long-keyed store in the repartitioned sub-topology: the key's Long bytes pick the partition.
    const bytes = Serdes.Long().serialize('t', 5)!;
    expect((await a.iq.queryMetadataForKey('by-length', 5)).partition).toBe(
      partitionForKey(bytes, PARTITIONS),
    );
    const all = await a.iq.allMetadata();
    expect(all.map((m) => [m.applicationServer, m.local, m.tasks])).toEqual([
      ['127.0.0.1:7001', true, ['0_0', '0_2', '1_0', '1_2']],
      ['127.0.0.1:7002', false, ['0_1', '0_3', '1_1', '1_3']],
    ]);
    expect(all[0]!.stores).toEqual(['by-length', 'counts', 'per-second', 'sessions']);
  });

  it('asks the group again after a rebalance, and does not keep an answer from an unstable group', async () => {
    let calls = 0;
    let state = 'PreparingRebalance';
    const members: Array<{ instance: Instance; partitions: number[] }> = [];
    const described = groupOf(members);
    const admin = {
      describeGroup: async () => {
        calls++;
        const d = await described().describeGroup(APP);
        return state === 'Stable'
          ? d
          : { ...d!, state, members: d!.members.map((m) => ({ ...m, userData: undefined, assignment: [] })) };
      },
    } as unknown as AdminPort;
    const a = instance('127.0.0.1:7001', [0, 1, 2, 3], () => admin);
    members.push({ instance: a, partitions: [0, 1, 2, 3] });
    a.setState('REBALANCING');
    state = 'Stable';
    a.setState('RUNNING');
    await a.iq.allMetadata();
    await a.iq.allMetadata();
    expect(calls).toBe(1);
    a.setState('REBALANCING');
    a.setState('RUNNING');
    await a.iq.allMetadata();
    expect(calls).toBe(2);
  });
});

describe('subscription userData', () => {
  it('round-trips the instance id and address; other bytes mean "unknown member"', () => {
    const bytes = encodeSubscriptionInfo({ instanceId: 'i-1', applicationServer: 'h:1' });
    expect(decodeSubscriptionInfo(bytes)).toEqual({ instanceId: 'i-1', applicationServer: 'h:1' });
    expect(
      decodeSubscriptionInfo(encodeSubscriptionInfo({ instanceId: 'i-2', applicationServer: undefined })),
    ).toEqual({ instanceId: 'i-2', applicationServer: undefined });
    expect(decodeSubscriptionInfo(Buffer.from([0, 1, 2]))).toBeUndefined();
    expect(decodeSubscriptionInfo(undefined)).toBeUndefined();
  });

  it('parses host:port, IPv6 in brackets, and rejects the rest with what to give', () => {
    expect(parseHostInfo('10.0.0.5:7070')).toEqual({ host: '10.0.0.5', port: 7070 });
    expect(parseHostInfo('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(() => parseHostInfo('localhost')).toThrow('applicationServer "localhost" is not "host:port"');
    expect(() => parseHostInfo('h:70000')).toThrow(/not "host:port"/);
  });

  it('a malformed applicationServer fails when the app is created, not when it joins', () => {
    const config = {
      applicationId: APP,
      bootstrapServers: ['127.0.0.1:9092'],
      applicationServer: 'localhost',
    };
    expect(() => new KafkaStreams(TOPOLOGY, config)).toThrow(ConfigException);
  });
});

describe('query endpoint codec', () => {
  const info = (serde: string): QueryableStoreInfo =>
    ({
      name: 's',
      type: 'keyValue',
      kind: 'keyValue',
      subtopology: 0,
      keySerde: { name: serde },
      serdeTopic: 't',
    }) as unknown as QueryableStoreInfo;

  it('reads keys of the scalar serdes and asks for a parser for the others', () => {
    expect(parseKeyText('abc', info('String'), undefined)).toBe('abc');
    expect(parseKeyText('-42', info('Long'), undefined)).toBe(-42);
    expect(parseKeyText('9007199254740993', info('LongBigInt'), undefined)).toBe(9007199254740993n);
    expect(parseKeyText('1.5', info('Double'), undefined)).toBe(1.5);
    expect(() => parseKeyText('4x', info('Integer'), undefined)).toThrow(KeyParseError);
    expect(() => parseKeyText('{}', info('JSON'), undefined)).toThrow(
      'Store "s" has JSON keys, which have no URL form here: start the query server with a parseKey option that reads them',
    );
    expect(parseKeyText('{"id":1}', info('JSON'), (text) => JSON.parse(text))).toEqual({ id: 1 });
  });

  it('writes bigints as decimal strings and bytes as base64', () => {
    expect(toJson({ n: 2n ** 64n, b: Buffer.from('hi'), m: new Map([['k', 1]]) })).toBe(
      '{"n":"18446744073709551616","b":"aGk=","m":{"k":1}}',
    );
    expect(toJson(12n)).toBe('"12"');
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The slice of KafkaStreams the query server uses, over an InteractiveQueries with fake tasks. */
function appOver(i: Instance): KafkaStreams {
  return {
    interactiveQueries: i.iq,
    get state() {
      return 'RUNNING';
    },
    store: (name: string, type = 'keyValue') => i.iq.store(name, type as 'keyValue'),
    queryMetadataForKey: (s: string, k: unknown) => i.iq.queryMetadataForKey(s, k),
    allMetadata: () => i.iq.allMetadata(),
    processedOffset: (t: string, p: number) => i.iq.positions.offset(t, p),
    waitForProcessed: (p: RecordPosition, ms: number) => i.iq.positions.wait(p, ms),
    metricsText: () => '# TYPE kafka_streams_up gauge\nkafka_streams_up 1\n',
  } as unknown as KafkaStreams;
}

describe('query endpoint over HTTP', () => {
  const closing: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (closing.length) await closing.pop()!();
  });

  it('answers local keys, forwards the others to their instance, and says where an unreachable key lives', async () => {
    const [portA, portB, portC] = [await freePort(), await freePort(), await freePort()];
    const members: Array<{ instance: Instance; partitions: number[] }> = [];
    const admin = groupOf(members);
    const a = instance(`127.0.0.1:${portA}`, [0, 2], admin);
    const b = instance(`127.0.0.1:${portB}`, [1], admin);
    // Partition 3's owner has an address nobody listens on.
    const c = instance(`127.0.0.1:${portC}`, [3], admin);
    members.push(
      { instance: a, partitions: [0, 2] },
      { instance: b, partitions: [1] },
      { instance: c, partitions: [3] },
    );
    for (const i of [a, b, c]) fill(i.tasks, KEYS);
    const serverA = await startQueryServer(appOver(a));
    const serverB = await startQueryServer(appOver(b));
    closing.push(
      () => serverA.close(),
      () => serverB.close(),
    );
    expect(serverA.url).toBe(`http://127.0.0.1:${portA}`);

    const get = async (url: string) => {
      const res = await fetch(url);
      return {
        status: res.status,
        body: res.headers.get('content-type')?.startsWith('application/json')
          ? await res.json()
          : await res.text(),
        servedBy: res.headers.get('x-kafka-pattern-served-by'),
      };
    };
    const localKey = KEYS.find((k) => partitionOf(k) === 0)!;
    const keyOnB = KEYS.find((k) => partitionOf(k) === 1)!;
    const keyOnC = KEYS.find((k) => partitionOf(k) === 3)!;
    expect(await get(`${serverA.url}/stores/counts/keys/${localKey}`)).toEqual({
      status: 200,
      body: localKey.length,
      servedBy: null,
    });
    expect(await get(`${serverA.url}/stores/counts/keys/${keyOnB}`)).toEqual({
      status: 200,
      body: keyOnB.length,
      servedBy: `127.0.0.1:${portB}`,
    });
    const missingOnB = KEYS.map((k) => `${k}-missing`).find((k) => partitionOf(k) === 1)!;
    expect((await get(`${serverA.url}/stores/counts/keys/${missingOnB}`)).status).toBe(404);
    const unreachable = await get(`${serverA.url}/stores/counts/keys/${keyOnC}`);
    expect(unreachable.status).toBe(503);
    expect(unreachable.body).toMatchObject({ partition: 3, activeHost: `127.0.0.1:${portC}` });

    // B does not hold partition 0 and must not forward a forwarded request again.
    const misdirected = await fetch(`${serverB.url}/stores/counts/keys/${localKey}`, {
      headers: { 'x-kafka-pattern-forwarded': '1' },
    });
    expect(misdirected.status).toBe(421);

    const windows = await get(`${serverA.url}/stores/per-second/keys/${keyOnB}?from=1500&to=3000`);
    expect(windows).toMatchObject({ status: 200, body: [{ windowStart: 2_000, value: 2 }] });
    const range = await get(`${serverA.url}/stores/counts`);
    expect(range.body).toEqual(
      KEYS.filter((k) => [0, 2].includes(partitionOf(k)))
        .sort(byBytes)
        .map((k) => ({ key: k, value: k.length })),
    );
    expect((await get(`${serverA.url}/stores/nope/keys/x`)).body).toEqual({
      error:
        'No store named "nope" in "iq-unit": its stores are "counts", "per-second", "sessions", "by-length"',
    });
    expect((await get(`${serverA.url}/stores/by-length/keys/five`)).status).toBe(400);
    const metadata = await get(`${serverA.url}/metadata`);
    expect((metadata.body as Array<{ applicationServer: string }>).map((m) => m.applicationServer)).toEqual([
      `127.0.0.1:${portA}`,
      `127.0.0.1:${portB}`,
      `127.0.0.1:${portC}`,
    ]);
    expect(await get(`${serverA.url}/metadata/stores/counts/keys/${keyOnB}`)).toMatchObject({
      body: { partition: 1, activeHost: { host: '127.0.0.1', port: portB }, local: false },
    });
    const metrics = await get(`${serverA.url}/metrics`);
    expect(metrics).toMatchObject({
      status: 200,
      body: '# TYPE kafka_streams_up gauge\nkafka_streams_up 1\n',
    });
  });
});

describe('read-your-writes: reads bounded by a position', () => {
  const closing: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (closing.length) await closing.pop()!();
  });

  /** The task of sub-topology 0 (input "events") of `key`'s partition processed up to `next` (exclusive). */
  const processedTo = (i: Instance, key: string, next: bigint) => {
    const partition = partitionOf(key);
    const t = i.tasks.find((x) => x.subtopology === 0 && x.partition === partition)!;
    t.processed.set(`events:${partition}`, next);
    i.iq.positions.advanced();
  };

  it("knows each partition's processed offset, and wakes a waiter once its record is processed", async () => {
    const a = instance('127.0.0.1:1', [0, 1, 2, 3], groupOf([]));
    const key = KEYS[0]!;
    const p = partitionOf(key);
    expect(a.iq.positions.offset('events', p)).toBeUndefined();
    processedTo(a, key, 10n);
    expect(a.iq.positions.offset('events', p)).toBe(10n);
    expect(await a.iq.positions.wait({ topic: 'events', partition: p, offset: 9n }, 0)).toBe(true);
    const waiting = a.iq.positions.wait({ topic: 'events', partition: p, offset: 12n }, 5_000);
    processedTo(a, key, 12n); // offset 12 is not processed yet: next is 12
    processedTo(a, key, 13n);
    expect(await waiting).toBe(true);
    expect(await a.iq.positions.wait({ topic: 'events', partition: p, offset: 20n }, 50)).toBe(false);
    expect(parseRecordPosition('events:2:41')).toEqual({ topic: 'events', partition: 2, offset: 41n });
    expect(parseRecordPosition('events:2')).toBeUndefined();
  });

  it('answers after the record is processed, 504 when it is not in time, 400 for a position of another partition, also when forwarded', async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const members: Array<{ instance: Instance; partitions: number[] }> = [];
    const admin = groupOf(members);
    const a = instance(`127.0.0.1:${portA}`, [0, 2], admin);
    const b = instance(`127.0.0.1:${portB}`, [1, 3], admin);
    members.push({ instance: a, partitions: [0, 2] }, { instance: b, partitions: [1, 3] });
    for (const i of [a, b]) fill(i.tasks, KEYS);
    const serverA = await startQueryServer(appOver(a));
    const serverB = await startQueryServer(appOver(b));
    closing.push(
      () => serverA.close(),
      () => serverB.close(),
    );
    const local = KEYS.find((k) => partitionOf(k) === 0)!;
    const onB = KEYS.find((k) => partitionOf(k) === 1)!;
    processedTo(a, local, 5n);
    processedTo(b, onB, 5n);

    // Already processed: answered at once.
    const now = await fetch(`${serverA.url}/stores/counts/keys/${local}?position=events:0:4`);
    expect([now.status, await now.json()]).toEqual([200, local.length]);

    // Not yet: the answer waits for the record, here and on the instance a request is forwarded to.
    for (const [i, key, p] of [
      [a, local, 0],
      [b, onB, 1],
    ] as const) {
      let answered = false;
      const pending = fetch(
        `${serverA.url}/stores/counts/keys/${key}?position=events:${p}:7&waitMs=10000`,
      ).then(async (res) => {
        answered = true;
        return { status: res.status, body: await res.json() };
      });
      processedTo(i, key, 7n);
      await new Promise((r) => setTimeout(r, 100));
      expect(answered).toBe(false);
      processedTo(i, key, 8n);
      expect(await pending).toEqual({ status: 200, body: key.length });
    }

    const late = await fetch(`${serverA.url}/stores/counts/keys/${onB}?position=events:1:50&waitMs=100`);
    expect(late.status).toBe(504);
    expect(await late.json()).toEqual({
      error:
        'The store has not caught up with events:1:50 within 100 ms (processed up to offset 7): retry, or give a longer waitMs',
      position: 'events:1:50',
      processedOffset: '8',
    });

    const wrong = await fetch(`${serverA.url}/stores/counts/keys/${local}?position=events:1:3`);
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: string }).error).toBe(
      `Position events:1:3 cannot bound a read of key "${local}" in store "counts": the key is in partition 0 of "events"; pass the position a write of this key produced`,
    );
    const malformed = await fetch(`${serverA.url}/stores/counts/keys/${local}?position=events-0-3`);
    expect(malformed.status).toBe(400);
    const tooLong = await fetch(
      `${serverA.url}/stores/counts/keys/${local}?position=events:0:3&waitMs=600000`,
    );
    expect(tooLong.status).toBe(400);
  });
});
