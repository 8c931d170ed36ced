import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { QueryError, queryKey, queryUrl, resetApplication } from '@kafka-pattern/cli';
import { KafkaStreams, startQueryServer } from '@kafka-pattern/streams-core';
import { describe, expect, it } from 'vitest';
import { wordCountTopology } from '../runtime/fixtures/word-count-topology.ts';
import {
  bootstrapServers,
  clientFactory,
  collect,
  createTopic,
  eventually,
  produce,
  record,
  uniqueName,
} from '../support/kafka.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';

const cleanups = teardownAfterEach();
const lines = ['the quick brown fox', 'the lazy dog', 'the fox and the dog'];
const expected = new Map<string, number>();
for (const w of lines.join(' ').split(' ')) expected.set(w, (expected.get(w) ?? 0) + 1);

/** The final count per word on `output`, once every expected count is there. */
async function finalCounts(output: string): Promise<Map<string, number>> {
  return eventually(
    async () => {
      const m = new Map<string, number>();
      for (const r of await collect(output, { isolationLevel: 'read_committed', timeoutMs: 5_000 }))
        m.set(r.key!.toString(), Number(r.value!.readBigInt64BE(0)));
      return [...expected].every(([w, n]) => m.get(w) === n) ? m : undefined;
    },
    30_000,
    'every final count',
  );
}

describe('kafka-pattern reset and query on the real broker', () => {
  it('makes a rerun of a word count produce the first run’s counts again', async () => {
    const input = await createTopic(uniqueName('reset-text'), 2);
    const applicationId = uniqueName('reset-wc');
    const stateDir = tempStateDir(cleanups, 'kp-reset-');
    await produce(lines.map((l, i) => record(input, `k${i}`, l)));

    const run = async (output: string) => {
      const app = new KafkaStreams(wordCountTopology(input, output), {
        applicationId,
        bootstrapServers: bootstrapServers(),
        processingGuarantee: 'exactly_once_v2',
        stateDir,
        commitIntervalMs: 200,
      });
      cleanups.push(() => app.close());
      await app.start();
      const counts = await finalCounts(output);
      await app.close();
      return counts;
    };

    const first = await run(await createTopic(uniqueName('reset-out-1'), 2));
    expect(first).toEqual(expected);
    expect(existsSync(join(stateDir, applicationId))).toBe(true);

    const progress: string[] = [];
    const options = {
      applicationId,
      clients: clientFactory(),
      bootstrapServers: bootstrapServers(),
      inputTopics: [input],
      stateDir,
      progress: (l: string) => progress.push(l),
    };
    const planned = await resetApplication({ ...options, dryRun: true });
    expect(planned.offsets).toEqual([
      { topic: input, partition: 0, offset: 0n },
      { topic: input, partition: 1, offset: 0n },
    ]);
    expect(planned.internalTopics).toEqual([
      `${applicationId}-counts-changelog`,
      `${applicationId}-counts-repartition`,
    ]);
    expect(progress).toContain(`  would delete internal topic ${applicationId}-counts-changelog`);
    expect(existsSync(join(stateDir, applicationId))).toBe(true);

    await resetApplication({ ...options, dryRun: false });
    expect(existsSync(join(stateDir, applicationId))).toBe(false);
    expect(progress.at(-1)).toMatch(/^Done/);

    // Without the reset the second run would start at the committed offsets and emit nothing new;
    // with it, it recounts from the start: the same counts, not doubled ones (the changelog is gone).
    const second = await run(await createTopic(uniqueName('reset-out-2'), 2));
    expect(second).toEqual(first);
    const shown = (m: Map<string, number>) => [...m].map(([w, n]) => `${w}=${n}`).join(' ');
    console.log(`${progress.join('\n')}\nfirst run:  ${shown(first)}\nafter reset: ${shown(second)}`);
  });

  it('--to-datetime picks the first offset at or after the time, the end when none is', async () => {
    const input = await createTopic(uniqueName('reset-time-text'), 1);
    const t0 = Date.UTC(2026, 0, 1);
    await produce(
      [0, 1, 2, 3].map((i) => ({ ...record(input, `k${i}`, `line ${i}`, 0), timestamp: t0 + i * 60_000 })),
    );
    const plan = (toDateTime: number) =>
      resetApplication({
        applicationId: uniqueName('reset-time'),
        clients: clientFactory(),
        bootstrapServers: bootstrapServers(),
        inputTopics: [input],
        toDateTime,
        dryRun: true,
        progress: () => {},
      });
    expect((await plan(t0 + 90_000)).offsets).toEqual([{ topic: input, partition: 0, offset: 2n }]);
    expect((await plan(t0 - 1)).offsets).toEqual([{ topic: input, partition: 0, offset: 0n }]);
    expect((await plan(t0 + 3_600_000)).offsets).toEqual([{ topic: input, partition: 0, offset: 4n }]);
  });

  it('refuses while the group has active members; query reads the running instance’s store', async () => {
    const input = await createTopic(uniqueName('reset-busy-text'), 1);
    const output = await createTopic(uniqueName('reset-busy-out'), 1);
    const applicationId = uniqueName('reset-busy');
    const app = new KafkaStreams(wordCountTopology(input, output), {
      applicationId,
      bootstrapServers: bootstrapServers(),
      stateDir: tempStateDir(cleanups, 'kp-reset-'),
    });
    cleanups.push(() => app.close());
    await app.start();
    await app.waitForRunning(60_000);
    const server = await startQueryServer(app, { port: 0, host: '127.0.0.1' });
    cleanups.push(() => server.close());
    await produce(lines.map((l, i) => record(input, `k${i}`, l)));
    const the = await eventually(
      async () => {
        const answer = await queryKey(queryUrl(server.url, 'counts', 'the')).catch(() => undefined);
        return answer?.trim() === '4' ? answer : undefined;
      },
      30_000,
      'the count of "the" on the query endpoint',
    );
    expect(the).toBe('4\n');
    await expect(queryKey(queryUrl(server.url, 'counts', 'never-seen'))).rejects.toThrow(QueryError);
    await expect(queryKey(queryUrl(server.url, 'counts', 'never-seen'))).rejects.toThrow(/HTTP 404/);
    await expect(
      resetApplication({
        applicationId,
        clients: clientFactory(),
        bootstrapServers: bootstrapServers(),
        inputTopics: [input],
        dryRun: true,
        progress: () => {},
      }),
    ).rejects.toThrow(/still has 1 active member\(s\).*stop every instance/);
  });
});
