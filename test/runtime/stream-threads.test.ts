/**
 * numStreamThreads on the real broker: one instance, two stream threads (the second in a worker
 * thread that builds the topology from its module), each a member of the group with its own tasks.
 */
import {
  KafkaStreams,
  type ProcessingGuarantee,
  type StreamsConfig,
  type StreamsState,
} from '@kafka-pattern/streams-core';
import { describe, expect, it } from 'vitest';
import {
  bootstrapServers,
  collect,
  createTopic,
  eventually,
  produce,
  record,
  uniqueName,
} from '../support/kafka.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';
import { wordCountTopology } from './fixtures/word-count-topology.ts';

const cleanups = teardownAfterEach();
const topologyModule = new URL('./fixtures/word-count-topology.ts', import.meta.url);

/** Lines over 12 words and 40 keys, so that every partition of the input and of the repartition topic gets some. */
function lines(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `w${(from + i) % 12} w${(from + i) % 5} w${(from + i) % 7}`);
}

function countWords(text: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const w of text.join(' ').split(' ')) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

/** Every count emitted, by word: a count is emitted at most once, and they only go up. */
async function emittedCounts(output: string): Promise<Map<string, number[]>> {
  const out = await collect(output, { isolationLevel: 'read_committed', timeoutMs: 10_000 });
  const byWord = new Map<string, number[]>();
  for (const r of out) {
    const word = r.key!.toString();
    const list = byWord.get(word) ?? [];
    list.push(Number(r.value!.readBigInt64BE(0)));
    byWord.set(word, list);
  }
  return byWord;
}

async function waitForCounts(output: string, expected: Map<string, number>): Promise<Map<string, number[]>> {
  return await eventually(
    async () => {
      const emitted = await emittedCounts(output);
      return [...expected].every(([w, n]) => emitted.get(w)?.at(-1) === n) ? emitted : undefined;
    },
    60_000,
    'every final count',
  );
}

function start(config: StreamsConfig, input: string, output: string): KafkaStreams {
  const app = new KafkaStreams(wordCountTopology(input, output), config, {
    topologyModule,
    topologyArgs: [input, output],
  });
  cleanups.push(() => app.close());
  return app;
}

async function twoThreads(guarantee: ProcessingGuarantee): Promise<void> {
  const input = await createTopic(uniqueName('threads-in'), 4);
  const output = await createTopic(uniqueName('threads-out'), 4);
  const config: StreamsConfig = {
    applicationId: uniqueName('threads'),
    bootstrapServers: bootstrapServers(),
    processingGuarantee: guarantee,
    stateDir: tempStateDir(cleanups, 'kp-threads-'),
    commitIntervalMs: 200,
    numStreamThreads: 2,
  };
  const first = lines(0, 400);
  const app = start(config, input, output);
  const states: Array<[StreamsState, StreamsState]> = [];
  app.onStateChange((next, prev) => states.push([next, prev]));
  await app.start();
  await app.waitForRunning(90_000);
  // Each thread is a member of the group: the assignment gives both of them tasks.
  const all = ['0_0', '0_1', '0_2', '0_3', '1_0', '1_1', '1_2', '1_3'];
  const perThread = await eventually(
    () => {
      const ids = app.threadTaskIds();
      return app.state === 'RUNNING' && ids[0]!.length > 0 && ids[1]!.length > 0 ? ids : undefined;
    },
    30_000,
    'tasks in both threads',
  );
  expect(perThread).toHaveLength(2);
  expect([...perThread[0]!, ...perThread[1]!].sort()).toEqual(all);
  expect(app.activeTaskIds()).toEqual(all);
  await produce(first.map((l, i) => record(input, `k${i % 40}`, l)));

  const expected = countWords(first);
  const emitted = await waitForCounts(output, expected);
  for (const [word, counts] of emitted) {
    // Exact: no count emitted twice (no record processed twice), none past the final one.
    expect(new Set(counts).size, word).toBe(counts.length);
    expect(counts, word).toEqual([...counts].sort((a, b) => a - b));
    expect(counts.at(-1), word).toBe(expected.get(word));
  }
  // A worker reports its metrics every half second: the instance's cover every thread's tasks.
  const metrics = await eventually(
    () => {
      const m = app.metrics();
      return Object.keys(m.tasks).length === all.length && m.totals.processedRecords >= first.length * 4
        ? m
        : undefined;
    },
    10_000,
    'metrics of every task',
  );
  expect(Object.keys(metrics.tasks).sort()).toEqual(all);
  // Each line is read once from the input, and each of its three words once from the repartition
  // topic; both threads did their share.
  expect(metrics.totals.processedRecords).toBe(first.length * 4);
  const processed = (ids: string[]) => ids.reduce((n, id) => n + metrics.tasks[id]!.processedRecords, 0);
  expect(processed(perThread[0]!)).toBeGreaterThan(0);
  expect(processed(perThread[1]!)).toBeGreaterThan(0);

  await app.close();
  expect(app.state).toBe('NOT_RUNNING');
  // One state machine: RUNNING once, when both threads ran; then one shutdown.
  expect(states.filter(([s]) => s === 'RUNNING').length).toBeGreaterThanOrEqual(1);
  expect(states.slice(-2)).toEqual([
    ['PENDING_SHUTDOWN', 'RUNNING'],
    ['NOT_RUNNING', 'PENDING_SHUTDOWN'],
  ]);

  // A restart resumes from the committed offsets and the tasks' state: only the new lines count.
  // They are a backlog when the threads join: neither thread processes before both have tasks,
  // so none of them is processed twice.
  const second = lines(400, 200);
  await produce(second.map((l, i) => record(input, `k${i % 40}`, l)));
  const again = start(config, input, output);
  await again.start();
  await again.waitForRunning(90_000);
  const total = countWords([...first, ...second]);
  const after = await waitForCounts(output, total);
  for (const [word, counts] of after) {
    expect(new Set(counts).size, word).toBe(counts.length);
    expect(counts.at(-1), word).toBe(total.get(word));
  }
  await again.close();
  expect(again.state).toBe('NOT_RUNNING');
}

describe('numStreamThreads 2 on the real broker', () => {
  it('counts words exactly under at_least_once, both threads own tasks, and a restart resumes', async () => {
    await twoThreads('at_least_once');
  });

  it('counts words exactly under exactly_once_v2, both threads own tasks, and a restart resumes', async () => {
    await twoThreads('exactly_once_v2');
  });

  it('a worker whose module builds another topology stops the instance: ERROR with the difference', async () => {
    const input = await createTopic(uniqueName('threads-in'), 4);
    const output = await createTopic(uniqueName('threads-out'), 4);
    const app = new KafkaStreams(
      wordCountTopology(input, output),
      {
        applicationId: uniqueName('threads'),
        bootstrapServers: bootstrapServers(),
        stateDir: tempStateDir(cleanups, 'kp-threads-'),
        numStreamThreads: 2,
      },
      { topologyModule, topologyArgs: [input, `${output}-elsewhere`] },
    );
    cleanups.push(() => app.close());
    const handled: unknown[] = [];
    app.setUncaughtExceptionHandler((error) => {
      handled.push(error);
      return 'SHUTDOWN_CLIENT';
    });
    await app.start();
    await expect(app.waitForRunning(60_000)).rejects.toThrow(/builds another topology/);
    await eventually(() => (app.state === 'ERROR' ? true : undefined), 30_000, 'state ERROR');
    expect(handled).toHaveLength(1);
    expect((app.error as Error).message).toMatch(
      /topologyModule .*word-count-topology\.ts builds another topology than the one given to KafkaStreams: line \d+ of describe\(\) is ".*-elsewhere\)"/,
    );
  });
});
