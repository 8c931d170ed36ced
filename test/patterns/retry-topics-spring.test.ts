/**
 * retry-topics side by side with Spring Kafka's @RetryableTopic (spring/, a plain Spring
 * application), on the same topics of the real broker:
 * (a) Spring's listener fails attempt 1 on the main topic and moves the record to its first retry
 *     topic; this topology takes the retry record from there, sees attempt 2 and Spring's due
 *     time, and succeeds or moves it on to the next retry topic and the dead-letter topic, with the
 *     headers Spring would have written at that hop;
 * (b) this topology moves a record to the retry topic; Spring's retry listener takes it with the
 *     attempt and due time written here, and in the end writes a dead letter whose headers decode
 *     here;
 * (c) the topic names Spring derives for fixed, exponential and capped exponential back-off, by
 *     index and by delay, are the ones `topics` gives.
 */
import { KafkaStreams, Serdes } from '@kafka-pattern/streams-core';
import type { ConsumedRecord } from '@kafka-pattern/streams-core/client';
import {
  attemptOf,
  decodeBigInteger,
  type RetryTopicsOptions,
  retryTopics,
} from '@kafka-pattern/topologies/retry-topics';
import { describe, expect, it } from 'vitest';
import {
  bootstrapServers,
  clientFactory,
  collect,
  createTopic,
  deleteTopics,
  eventually,
  produce,
  record,
  uniqueName,
} from '../support/kafka.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';
import {
  SpringApp,
  type SpringEvent,
  type SpringSettings,
  springHeaders,
  springKafkaVersion,
} from './spring-runner.ts';

const cleanups = teardownAfterEach();
const bootstrap = bootstrapServers().join(',');

interface Call {
  key: string;
  attempt: number;
  at: number;
}

const names = (headers: Iterable<readonly [string, Buffer]>) => [...headers].map(([n]) => n);
const exceptionHeaders = [
  'kafka_exception-fqcn',
  'kafka_exception-cause-fqcn',
  'kafka_exception-message',
  'kafka_exception-stacktrace',
];
const retryHeaders = [
  'retry_topic-original-timestamp',
  'retry_topic-attempts',
  'retry_topic-backoff-timestamp',
];
const int32s = (r: ConsumedRecord, name: string) => r.headers.values(name).map((b) => b.readInt32BE(0));

function spring(settings: Omit<SpringSettings, 'bootstrap'>): SpringApp {
  const app = new SpringApp({ bootstrap, ...settings });
  cleanups.push(() => app.stop());
  return app;
}

/** The topics of Spring's listener containers: main first, then the retry topics in order, then the DLT. */
function springTopics(containers: SpringEvent, main: string) {
  const all = (containers.containers as Array<{ topics: string[] }>).flatMap((c) => c.topics);
  return {
    main: all.find((t) => t === main),
    retries: all.filter((t) => t.startsWith(`${main}-retry`)).sort(),
    dlt: all.find((t) => t === `${main}-dlt`),
  };
}

async function startOurs(
  options: RetryTopicsOptions<string, string, string>,
  applicationId: string,
): Promise<{ app: KafkaStreams; topics: ReturnType<typeof retryTopics>['topics'] }> {
  const { topology, topics } = retryTopics(options);
  const app = new KafkaStreams(topology, {
    applicationId,
    bootstrapServers: bootstrapServers(),
    processingGuarantee: 'exactly_once_v2',
    stateDir: tempStateDir(cleanups, 'kp-retry-spring-'),
  });
  cleanups.push(() => app.close());
  await app.start();
  await app.waitForRunning();
  return { app, topics };
}

async function records(topic: string, count: number, what: string): Promise<ConsumedRecord[]> {
  return eventually(
    async () => {
      const r = await collect(topic, { timeoutMs: 1_000 });
      return r.length >= count ? r : undefined;
    },
    30_000,
    what,
  );
}

describe(`retry-topics and Spring Kafka ${springKafkaVersion()} @RetryableTopic share the retry topics`, () => {
  it('(a) a record Spring moved to its retry topic is retried here at its due time, then succeeds or moves on as Spring would move it', async () => {
    const main = await createTopic(uniqueName('payments'), 2);
    const springGroup = uniqueName('spring-payments');
    const ours = uniqueName('kp-payments');
    cleanups.push(() =>
      deleteTopics([main, out, `${main}-retry-0`, `${main}-retry-1`, `${main}-dlt`]).catch(() => {}),
    );
    const out = await createTopic(uniqueName('payment-results'), 2);
    const settings = { attempts: 3, delay: 1500, multiplier: 2 };
    const s = spring({
      topic: main,
      group: springGroup,
      ...settings,
      suffixing: 'index',
      role: 'main',
      failUntil: 99,
      partitions: 2,
    });
    const containers = await s.waitFor((e) => e.event === 'containers', 'listener containers');
    await s.waitFor((e) => e.event === 'assigned', 'the main topic assigned');
    await produce([record(main, 'ok', '{"amount":10}'), record(main, 'bad', '{"amount":20}')]);
    const springRetries = await records(`${main}-retry-0`, 2, "Spring's two retry records");
    // This application starts on the main topic where Spring left it: only the retries are its.
    s.send(`align-group ${ours} ${main}`);
    await s.waitFor((e) => e.event === 'aligned', 'our group aligned on the main topic');
    await s.stop();
    expect(s.events.filter((e) => e.event === 'attempt').map((e) => [e.key, e.attempt])).toEqual(
      expect.arrayContaining([
        ['ok', 1],
        ['bad', 1],
      ]),
    );

    const calls: Call[] = [];
    const { topics } = await startOurs(
      {
        topic: main,
        key: Serdes.String(),
        value: Serdes.String(),
        output: { topic: out, value: Serdes.String() },
        attempts: settings.attempts,
        backoff: { delayMs: settings.delay, multiplier: settings.multiplier },
        handler: async (value, key, attempt) => {
          calls.push({ key, attempt, at: Date.now() });
          if (key === 'bad') throw new Error(`still declined: ${key} on attempt ${attempt}`);
          return `${value} paid on attempt ${attempt}`;
        },
      },
      ours,
    );
    expect(topics).toEqual(springTopics(containers, main));
    const [result] = await records(out, 1, 'the result of ok');
    const [dead] = await records(topics.dlt, 1, 'the dead letter of bad');
    expect(result!.value!.toString()).toBe('{"amount":10} paid on attempt 2');

    // Spring's attempt 1, then ours from 2 on, each no earlier than Spring's due time.
    expect(calls.map((c) => [c.key, c.attempt]).sort()).toEqual([
      ['bad', 2],
      ['bad', 3],
      ['ok', 2],
    ]);
    for (const r of springRetries) {
      const key = r.key!.toString();
      const due = decodeBigInteger(r.headers.lastValue('retry_topic-backoff-timestamp'))!;
      expect(attemptOf(r.headers)).toBe(2);
      expect(calls.find((c) => c.key === key && c.attempt === 2)!.at).toBeGreaterThanOrEqual(due);
    }

    // Our hop from Spring's retry topic carries the headers Spring writes at a second hop: its own
    // original ones kept, the failure replaced, the retry headers appended.
    const fromSpring = springRetries.find((r) => r.key!.toString() === 'bad')!;
    const [moved] = await records(topics.retries[1]!, 1, 'bad in the second retry topic');
    expect(names(moved!.headers)).toEqual([
      ...names(fromSpring.headers).filter((n) => !exceptionHeaders.includes(n)),
      ...exceptionHeaders,
      ...retryHeaders,
    ]);
    for (const n of [
      'kafka_original-topic',
      'kafka_original-partition',
      'kafka_original-offset',
      'kafka_original-timestamp',
      'kafka_original-timestamp-type',
      'kafka_dlt-original-consumer-group',
    ])
      expect(moved!.headers.get(n), n).toEqual(fromSpring.headers.get(n));
    expect(moved!.headers.values('retry_topic-original-timestamp')).toEqual(
      fromSpring.headers
        .values('retry_topic-original-timestamp')
        .concat(fromSpring.headers.values('retry_topic-original-timestamp')),
    );
    expect(int32s(moved!, 'retry_topic-attempts')).toEqual([2, 3]);
    expect(moved!.partition).toBe(fromSpring.partition);

    // The dead letter: Spring's first failure position and group, our last failure, every attempt.
    expect(dead!.value!.toString()).toBe('{"amount":20}');
    expect(int32s(dead!, 'retry_topic-attempts')).toEqual([2, 3, 4]);
    expect(dead!.headers.getString('kafka_original-topic')).toBe(main);
    expect(dead!.headers.getString('kafka_dlt-original-consumer-group')).toBe(springGroup);
    expect(dead!.headers.getString('kafka_exception-message')).toBe('still declined: bad on attempt 3');
    expect(dead!.headers.getString('kafka_dlt-original-topic')).toBe(main);
    console.log(
      `(a) Spring wrote ${springRetries.length} retry records with headers ${names(fromSpring.headers).join(', ')}`,
    );
  });

  it("(b) a record this topology moved to the retry topic is retried by Spring's listener at its due time, and its dead letter decodes here", async () => {
    const main = await createTopic(uniqueName('orders'), 2);
    const ours = uniqueName('kp-orders');
    const settings = { attempts: 3, delay: 2500 };
    cleanups.push(() => deleteTopics([main, `${main}-retry`, `${main}-dlt`]).catch(() => {}));
    const calls: Call[] = [];
    const { app, topics } = await startOurs(
      {
        topic: main,
        key: Serdes.String(),
        value: Serdes.String(),
        attempts: settings.attempts,
        backoff: { delayMs: settings.delay },
        handler: async (_value, key, attempt) => {
          calls.push({ key, attempt, at: Date.now() });
          throw new Error(`card expired for ${key}`);
        },
      },
      ours,
    );
    expect(topics.retries).toEqual([`${main}-retry`]);
    const admin = clientFactory().admin();
    const partitions = await admin.describeTopics([topics.retries[0]!, topics.dlt]);
    await admin.close();
    // Created at start with the main topic's partition count.
    expect([...partitions.values()].map((d) => d?.partitions)).toEqual([2, 2]);
    await produce([record(main, 'o-1', '{"sku":"book"}')]);
    const [ourRetry] = await records(topics.retries[0]!, 1, 'our retry record');
    // Spring takes it from here.
    await app.close();
    expect(calls.map((c) => c.attempt)).toEqual([1]);
    const due = decodeBigInteger(ourRetry!.headers.lastValue('retry_topic-backoff-timestamp'))!;
    expect(ourRetry!.headers.get('retry_topic-attempts')!.toString('hex')).toBe('00000002');

    const springGroup = uniqueName('spring-orders');
    const s = spring({ topic: main, group: springGroup, ...settings, role: 'retry', failUntil: 99 });
    const containers = await s.waitFor((e) => e.event === 'containers', 'listener containers');
    expect(springTopics(containers, main)).toEqual(topics);
    const second = await s.waitFor((e) => e.event === 'attempt' && e.attempt === 2, "Spring's attempt 2");
    expect(second.topic).toBe(topics.retries[0]);
    expect(second.now).toBeGreaterThanOrEqual(due);
    // Spring read our headers as we wrote them.
    expect(springHeaders(second)).toEqual(ourRetry!.headers.toArray());
    const third = await s.waitFor((e) => e.event === 'attempt' && e.attempt === 3, "Spring's attempt 3");
    const thirdDue = decodeBigInteger(
      springHeaders(third)
        .filter(([n]) => n === 'retry_topic-backoff-timestamp')
        .at(-1)![1],
    )!;
    expect(third.now).toBeGreaterThanOrEqual(thirdDue);
    await s.waitFor((e) => e.event === 'dlt', "Spring's dead letter", 20_000);
    const [dead] = await records(topics.dlt, 1, 'the dead letter Spring wrote');
    expect(dead!.value!.toString()).toBe('{"sku":"book"}');
    expect(int32s(dead!, 'retry_topic-attempts')).toEqual([2, 3, 4]);
    expect(attemptOf(dead!.headers)).toBe(4);
    // Where it first failed, as we wrote it, and Spring's last failure.
    expect(dead!.headers.getString('kafka_original-topic')).toBe(main);
    expect(dead!.headers.get('kafka_original-offset')!.readBigInt64BE(0)).toBe(0n);
    expect(dead!.headers.getString('kafka_dlt-original-consumer-group')).toBe(ours);
    expect(dead!.headers.getString('kafka_exception-fqcn')).toBe(
      'org.springframework.kafka.listener.ListenerExecutionFailedException',
    );
    expect(dead!.headers.getString('kafka_exception-cause-fqcn')).toBe('java.lang.IllegalStateException');
    expect(dead!.headers.getString('kafka_exception-message')).toContain(
      'payment gateway declined attempt 3',
    );
    expect(dead!.headers.values('retry_topic-original-timestamp')[0]).toEqual(
      ourRetry!.headers.get('retry_topic-original-timestamp'),
    );
    console.log(
      `(b) Spring's attempt 2 ran ${second.now - due} ms after our due time; its dead letter has headers ${names(dead!.headers).join(', ')}`,
    );
  });

  it('(c) Spring names the topics for capped exponential back-off by delay as topics does', async () => {
    const main = await createTopic(uniqueName('invoices'), 1);
    const s = spring({
      topic: main,
      group: uniqueName('spring-invoices'),
      attempts: 5,
      delay: 1000,
      multiplier: 2,
      maxDelay: 3000,
      suffixing: 'delay',
      role: 'none',
      failUntil: 99,
    });
    const containers = await s.waitFor((e) => e.event === 'containers', 'listener containers');
    const { topics } = retryTopics({
      topic: main,
      key: Serdes.String(),
      value: Serdes.String(),
      handler: async () => 'ok',
      attempts: 5,
      backoff: { delayMs: 1000, multiplier: 2, maxDelayMs: 3000 },
      topicSuffixing: 'delay',
    });
    expect(topics.retries).toEqual([`${main}-retry-1000`, `${main}-retry-2000`, `${main}-retry-3000`]);
    expect(springTopics(containers, main)).toEqual(topics);
    await s.stop();
    cleanups.push(() => deleteTopics([main, ...topics.retries, topics.dlt]).catch(() => {}));
  });
});
