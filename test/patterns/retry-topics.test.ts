/**
 * The retry-topics pattern on the real broker, under exactly_once_v2:
 * - records whose handler fails a generated number of times: each attempt n+1 starts no earlier
 *   than the due time its retry record carries, a record whose attempts run out is in the
 *   dead-letter topic once, with its original bytes, its attempts and where it came from, and each
 *   success's output appears once;
 * - a retry partition waiting for a record's due time holds up nothing else: the main topic and
 *   other retry topics keep flowing in the same task meanwhile;
 * - an instance killed (SIGKILL) in the middle of its retries leaves no success twice in the
 *   output once a new instance has finished its work.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { KafkaStreams, Serdes } from '@kafka-pattern/streams-core';
import type { ConsumedRecord } from '@kafka-pattern/streams-core/client';
import { decodeBigInteger, retryTopics } from '@kafka-pattern/topologies/retry-topics';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bootstrapServers,
  collect,
  createTopic,
  deleteTopics,
  eventually,
  produce,
  record,
  uniqueName,
} from '../support/kafka.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';

const cleanups = teardownAfterEach();

interface Call {
  key: string;
  attempt: number;
  at: number;
}

interface Result {
  key: string;
  attempt: number;
}

const int32s = (r: ConsumedRecord, name: string) => r.headers.values(name).map((b) => b.readInt32BE(0));
const bigInt = (b: Buffer | undefined): number => decodeBigInteger(b) ?? Number.NaN;

async function start(
  topology: ReturnType<typeof retryTopics>['topology'],
  applicationId: string,
  extraTopics: string[],
): Promise<KafkaStreams> {
  const app = new KafkaStreams(topology, {
    applicationId,
    bootstrapServers: bootstrapServers(),
    processingGuarantee: 'exactly_once_v2',
    stateDir: tempStateDir(cleanups, 'kp-retry-'),
  });
  cleanups.push(async () => {
    await app.close();
    await deleteTopics([...extraTopics, ...app.internalTopicNames()]).catch(() => {});
  });
  await app.start();
  await app.waitForRunning();
  return app;
}

describe('retry-topics pattern', () => {
  it('retries each failing record after its back-off, never earlier, then dead-letters it with its attempts; each success once', async () => {
    const seed = Number(process.env.RETRY_SEED ?? Date.now() % 1_000_000);
    // How many times each record's handler fails: 0..2 succeed on attempt 1..3, 3 runs out of attempts.
    const generated = fc.sample(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 16, maxLength: 16 }), {
      numRuns: 1,
      seed,
    })[0]!;
    const failures = [0, 1, 2, 3, ...generated];
    const keys = failures.map((_, i) => `k${i}`);
    const failuresOf = new Map(keys.map((k, i) => [k, failures[i]!]));

    const main = await createTopic(uniqueName('payments'), 2);
    const out = await createTopic(uniqueName('payment-results'), 2);
    const calls: Call[] = [];
    const { topology, topics } = retryTopics({
      topic: main,
      key: Serdes.String(),
      value: Serdes.JSON<{ amount: number }>(),
      output: { topic: out, value: Serdes.JSON<Result>() },
      attempts: 3,
      backoff: { delayMs: 400, multiplier: 2 },
      handler: async (_value, key, attempt) => {
        calls.push({ key, attempt, at: Date.now() });
        if (attempt <= failuresOf.get(key)!) throw new Error(`gateway declined ${key} on attempt ${attempt}`);
        return { key, attempt };
      },
    });
    expect(topics.retries).toEqual([`${main}-retry-0`, `${main}-retry-1`]);
    const applicationId = uniqueName('retry-app');
    await start(topology, applicationId, [main, out]);
    await produce(keys.map((k, i) => record(main, k, JSON.stringify({ amount: i }))));

    const succeeding = keys.filter((k) => failuresOf.get(k)! < 3);
    const exhausted = keys.filter((k) => failuresOf.get(k)! >= 3);
    const results = await eventually(
      async () => {
        const r = await collect(out, { timeoutMs: 2_000 });
        return r.length >= succeeding.length ? r : undefined;
      },
      45_000,
      `${succeeding.length} results (seed ${seed})`,
    );
    const dead = await eventually(
      async () => {
        const r = await collect(topics.dlt, { timeoutMs: 2_000 });
        return r.length >= exhausted.length ? r : undefined;
      },
      30_000,
      `${exhausted.length} dead letters (seed ${seed})`,
    );
    // Nothing more arrives: each success once, each exhausted record once.
    await eventually(
      () =>
        calls.length >= keys.reduce((n, k) => n + Math.min(failuresOf.get(k)! + 1, 3), 0) ? true : undefined,
      10_000,
      'every attempt',
    );
    expect((await collect(out)).length, `seed ${seed}`).toBe(succeeding.length);
    expect((await collect(topics.dlt)).length, `seed ${seed}`).toBe(exhausted.length);

    // Each record's attempts, in order: 1 on the main topic, then one per retry.
    for (const k of keys) {
      const expected = Array.from({ length: Math.min(failuresOf.get(k)! + 1, 3) }, (_, i) => i + 1);
      expect(
        calls.filter((c) => c.key === k).map((c) => c.attempt),
        `attempts of ${k} (seed ${seed})`,
      ).toEqual(expected);
    }
    const byKey = new Map(results.map((r) => [r.key!.toString(), JSON.parse(r.value!.toString()) as Result]));
    expect([...byKey.keys()].sort()).toEqual([...succeeding].sort());
    for (const [k, r] of byKey) expect(r.attempt, `${k} (seed ${seed})`).toBe(failuresOf.get(k)! + 1);
    // Outputs carry no retry history.
    for (const r of results) expect(r.headers.has('retry_topic-attempts')).toBe(false);

    // Attempt n+1 starts no earlier than the due time of its retry record, which is the back-off
    // for that retry after the failure.
    const retried = [
      ...(await collect(topics.retries[0]!)).map((r) => ({ r, delay: 400 })),
      ...(await collect(topics.retries[1]!)).map((r) => ({ r, delay: 800 })),
    ];
    expect(retried.length).toBe(keys.reduce((n, k) => n + Math.min(failuresOf.get(k)!, 2), 0));
    const gaps: number[] = [];
    for (const { r, delay } of retried) {
      const key = r.key!.toString();
      const attempt = int32s(r, 'retry_topic-attempts').at(-1)!;
      const due = bigInt(r.headers.lastValue('retry_topic-backoff-timestamp'));
      const previous = calls.find((c) => c.key === key && c.attempt === attempt - 1)!;
      const next = calls.find((c) => c.key === key && c.attempt === attempt)!;
      expect(
        due - previous.at,
        `${key} attempt ${attempt}: due after the failure by its delay`,
      ).toBeGreaterThanOrEqual(delay);
      expect(
        next.at,
        `${key} attempt ${attempt} started before its due time (seed ${seed})`,
      ).toBeGreaterThanOrEqual(due);
      gaps.push(next.at - due);
      // The original bytes travel unchanged.
      const i = keys.indexOf(key);
      expect(r.value!.toString()).toBe(JSON.stringify({ amount: i }));
    }

    // Dead letters: the original bytes, every attempt counted as Spring counts them, where from.
    const positions = new Map((await collect(main)).map((r) => [r.key!.toString(), r]));
    for (const d of dead) {
      const key = d.key!.toString();
      const i = keys.indexOf(key);
      expect(d.value!.toString()).toBe(JSON.stringify({ amount: i }));
      expect(int32s(d, 'retry_topic-attempts')).toEqual([2, 3, 4]);
      expect(d.headers.getString('kafka_exception-message')).toBe(`gateway declined ${key} on attempt 3`);
      expect(d.headers.getString('kafka_original-topic')).toBe(main);
      expect(d.headers.getString('kafka_dlt-original-topic')).toBe(main);
      expect(d.headers.getString('kafka_dlt-exception-message')).toBe(`gateway declined ${key} on attempt 3`);
      expect(d.headers.get('kafka_dlt-original-offset')!.readBigInt64BE(0)).toBe(positions.get(key)!.offset);
      expect(d.headers.get('kafka_original-partition')!.readInt32BE(0)).toBe(positions.get(key)!.partition);
      expect(d.partition).toBe(positions.get(key)!.partition);
      expect(d.headers.getString('kafka_dlt-original-consumer-group')).toBe(applicationId);
    }
    console.log(
      `retry-topics: seed ${seed}, ${keys.length} records, ${calls.length} attempts, ${succeeding.length} results, ${exhausted.length} dead letters; attempt n+1 started ${Math.min(...gaps)}..${Math.max(...gaps)} ms after its due time`,
    );
  });

  it('a retry partition waiting for its due time holds up nothing else: the main topic and other retry topics flow meanwhile', async () => {
    const main = await createTopic(uniqueName('orders'), 1);
    const out = await createTopic(uniqueName('order-results'), 1);
    const calls: Call[] = [];
    const { topology, topics } = retryTopics({
      topic: main,
      key: Serdes.String(),
      value: Serdes.String(),
      output: { topic: out, value: Serdes.JSON<Result>() },
      attempts: 3,
      // 400 ms before attempt 2, 8 s before attempt 3.
      backoff: { delayMs: 400, multiplier: 20 },
      handler: async (_value, key, attempt) => {
        calls.push({ key, attempt, at: Date.now() });
        const failsUntil = key === 'slow' ? 3 : key === 'quick' ? 2 : 1;
        if (attempt < failsUntil) throw new Error(`not yet: ${key} attempt ${attempt}`);
        return { key, attempt };
      },
    });
    await start(topology, uniqueName('retry-hold'), [main, out]);
    await produce([record(main, 'slow', 'first')]);
    // 'slow' has failed twice and waits 8 s in the second retry topic, in the same task as everything else.
    const [waiting] = await eventually(
      async () => {
        const r = await collect(topics.retries[1]!, { timeoutMs: 1_000 });
        return r.length > 0 ? r : undefined;
      },
      20_000,
      'slow in the second retry topic',
    );
    const due = bigInt(waiting!.headers.lastValue('retry_topic-backoff-timestamp'));
    const fast = Array.from({ length: 20 }, (_, i) => `fast-${i}`);
    await produce([record(main, 'quick', 'q'), ...fast.map((k) => record(main, k, 'f'))]);
    const flowed = await eventually(
      async () => {
        const r = await collect(out, { timeoutMs: 1_000 });
        return r.length >= fast.length + 1 ? r : undefined;
      },
      20_000,
      'the main topic and the first retry topic to flow',
    );
    expect(flowed.map((r) => r.key!.toString()).sort()).toEqual(['quick', ...fast].sort());
    const allDone = Math.max(...calls.filter((c) => c.key !== 'slow').map((c) => c.at));
    expect(allDone, 'quick and fast went through while slow waited').toBeLessThan(due);
    expect(calls.filter((c) => c.key === 'quick').map((c) => c.attempt)).toEqual([1, 2]);
    await eventually(
      async () => ((await collect(out, { timeoutMs: 1_000 })).length >= fast.length + 2 ? true : undefined),
      20_000,
      'slow to succeed on attempt 3',
    );
    const third = calls.find((c) => c.key === 'slow' && c.attempt === 3)!;
    expect(third.at).toBeGreaterThanOrEqual(due);
    console.log(
      `retry-topics hold: 21 records went through ${due - allDone} ms before the waiting record was due; it ran ${third.at - due} ms after its due time`,
    );
  });
});

describe('retry-topics under exactly_once_v2 across a SIGKILL', () => {
  it('each success appears once in the output although the instance was killed in the middle of its retries', async () => {
    const main = await createTopic(uniqueName('kill-payments'), 2);
    const out = await createTopic(uniqueName('kill-results'), 2);
    const applicationId = uniqueName('retry-kill');
    const stateDir = tempStateDir(cleanups, 'kp-retry-kill-');
    const keys = Array.from({ length: 400 }, (_, i) => `k${i}`);
    const children: ChildProcess[] = [];
    cleanups.push(async () => {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      await deleteTopics([main, out, `${main}-retry`, `${main}-dlt`, `${main}-retry-dlt`]).catch(() => {});
    });
    let calls = 0;
    const spawnApp = () => {
      const child = spawn(
        process.execPath,
        [fileURLToPath(new URL('./fixtures/retry-app.ts', import.meta.url))],
        {
          env: {
            ...process.env,
            RETRY_MAIN: main,
            RETRY_OUT: out,
            RETRY_APP_ID: applicationId,
            RETRY_BOOTSTRAP: bootstrapServers().join(','),
            RETRY_STATE_DIR: stateDir,
          },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line.includes('"call"')) calls++;
      });
      children.push(child);
      return child;
    };
    const first = spawnApp();
    await produce(keys.map((k) => record(main, k, 'v')));
    await eventually(
      async () => ((await collect(out, { timeoutMs: 1_000 })).length >= 100 ? true : undefined),
      40_000,
      'a quarter of the results before the kill',
    );
    first.kill('SIGKILL');
    const callsBeforeKill = calls;
    const committedAtKill = (await collect(out)).length;
    spawnApp();
    const results = await eventually(
      async () => {
        const r = await collect(out, { timeoutMs: 2_000 });
        return new Set(r.map((x) => x.key!.toString())).size >= keys.length ? r : undefined;
      },
      60_000,
      'every result after the restart',
    );
    const perKey = new Map<string, number>();
    for (const r of results) perKey.set(r.key!.toString(), (perKey.get(r.key!.toString()) ?? 0) + 1);
    const duplicated = [...perKey].filter(([, n]) => n > 1);
    expect(duplicated, 'keys with more than one result').toEqual([]);
    for (const r of results) {
      const { key, attempt } = JSON.parse(r.value!.toString()) as Result;
      expect(attempt, key).toBe((Number(key.slice(1)) % 3) + 1);
    }
    expect((await collect(`${main}-dlt`)).length).toBe(0);
    const attempts = keys.reduce((n, k) => n + (Number(k.slice(1)) % 3) + 1, 0);
    console.log(
      `retry-topics kill: killed after ${committedAtKill} committed results and ${callsBeforeKill} handler calls; ${results.length} results for ${keys.length} records, none twice; ${calls} handler calls for ${attempts} attempts (the rest redone after the kill)`,
    );
  });
});
