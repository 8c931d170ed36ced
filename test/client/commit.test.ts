import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { recordsOf } from '@kafka-pattern/streams-core/client';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bootstrapServers,
  clientFactory,
  createTopic,
  deleteTopics,
  groupConsumer,
  produce,
  record,
  uniqueName,
} from '../support/kafka.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/commit-half.ts', import.meta.url));

function runUntilCommitted(
  args: string[],
): Promise<{ consumed: number; committed: string; kill: () => void }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIXTURE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`consumer process did not commit in time: ${stderr}`));
    }, 60_000);
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.stdout.on('data', (d) => {
      stdout += d;
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve({ ...JSON.parse(line), kill: () => child.kill('SIGKILL') });
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`consumer process exited (${code}): ${stderr}`));
    });
  });
}

describe('offsets are committed only for processed records', () => {
  const topic = uniqueName('commit-in');
  afterAll(() => deleteTopics([topic]));

  it('a killed consumer that processed half leaves the other half to the next member', async () => {
    const factory = clientFactory();
    await createTopic(topic, 1);
    await produce(
      Array.from({ length: 10 }, (_, i) => record(topic, `k${i}`, `v${i}`, 0)),
      factory,
    );
    const groupId = uniqueName('commit-group');

    const child = await runUntilCommitted([bootstrapServers().join(','), topic, groupId, '10']);
    child.kill();
    // The killed process fetched all ten records but only said it processed five.
    expect(child.consumed).toBe(10);
    expect(child.committed).toBe('5');

    const consumer = groupConsumer(factory, { groupId, clientId: 'commit-next', topics: [topic] });
    try {
      const values: string[] = [];
      const deadline = Date.now() + 40_000;
      while (values.length < 5 && Date.now() < deadline) {
        for (const r of recordsOf(await consumer.poll())) values.push(r.value?.toString() ?? '');
      }
      expect(values).toEqual(['v5', 'v6', 'v7', 'v8', 'v9']);
      expect(await consumer.committed([{ topic, partition: 0 }])).toEqual(new Map([[`${topic}:0`, 5n]]));
    } finally {
      await consumer.close();
    }
  });
});
