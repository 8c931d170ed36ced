/**
 * The dead-letter pattern on the real broker: in = out + dead letters under both guarantees,
 * with generated poison (bytes that are not JSON, JSON that is not a valid order), raw bytes and
 * reason headers kept; the re-drive tool re-drives all, or only what a filter picks, and the
 * fixed application processes what came back; a re-drive SIGKILLed in the middle of a
 * transaction and again between two, then run to the end, re-drives each dead letter once.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  Headers,
  KafkaStreams,
  type ProcessingGuarantee,
  SpringDltHeaders,
  type Topology,
} from '@kafka-pattern/streams-core';
import type { ConsumedRecord, ProducedRecord } from '@kafka-pattern/streams-core/client';
import { type Order, validatedOrders } from '@kafka-pattern/topologies/dead-letter';
import { readDeadLetter, redrive } from '@kafka-pattern/topologies/dead-letter/redrive';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bootstrapServers,
  clientFactory,
  collect,
  createTopic,
  eventually,
  produce,
  uniqueName,
} from '../support/kafka.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';
import type { RedriveChildSpec } from './fixtures/redrive-child.ts';

const cleanups = teardownAfterEach();
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../../packages/topologies/dead-letter/redrive.ts', import.meta.url));
const CHILD = fileURLToPath(new URL('./fixtures/redrive-child.ts', import.meta.url));
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const CURRENCIES = ['EUR', 'USD'];

type Outcome = 'out' | 'SerializationException' | 'InvalidOrderError';

/** What should become of a value, decided independently of the topology's code. */
function expectedOutcome(value: Buffer): Outcome {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return 'SerializationException';
  }
  const o = parsed as Partial<Order> | null;
  const ok =
    typeof o === 'object' &&
    o !== null &&
    !Array.isArray(o) &&
    typeof o.orderId === 'string' &&
    o.orderId !== '' &&
    typeof o.customerId === 'string' &&
    o.customerId !== '' &&
    typeof o.amount === 'number' &&
    Number.isFinite(o.amount) &&
    o.amount > 0 &&
    typeof o.currency === 'string' &&
    CURRENCIES.includes(o.currency);
  return ok ? 'out' : 'InvalidOrderError';
}

const validOrder = fc.record({
  customerId: fc.constantFrom('c-1', 'c-2', 'c-3'),
  amount: fc.integer({ min: 1, max: 100_000 }).map((cents) => cents / 100),
  currency: fc.constantFrom(...CURRENCIES),
});
const invalidOrder = fc.oneof(
  validOrder.map((o) => ({ ...o, amount: -o.amount })),
  validOrder.map((o) => ({ ...o, currency: 'GBP' })),
  validOrder.map(({ customerId: _, ...o }) => o),
  fc.constantFrom<unknown>([1, 2], 'text', 42, true),
);
/** One input record's value, as bytes; the order id is filled in with the key. */
const value = fc.oneof(
  { weight: 6, arbitrary: validOrder.map((o) => ({ json: o as unknown })) },
  { weight: 2, arbitrary: invalidOrder.map((o) => ({ json: o })) },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => ({ bytes: Buffer.from(b) })),
      fc.string({ minLength: 1, maxLength: 20 }).map((s) => ({ bytes: Buffer.from(`{${s}`) })),
    ),
  },
);

function poisonedInput(seed: number, topic: string): ProducedRecord[] {
  const [values] = fc.sample(fc.array(value, { minLength: 80, maxLength: 120 }), { numRuns: 1, seed });
  return values!.map((v, i) => {
    const orderId = `o-${i}`;
    const json = 'json' in v && typeof v.json === 'object' && v.json !== null && !Array.isArray(v.json);
    const bytes =
      'bytes' in v
        ? v.bytes
        : Buffer.from(JSON.stringify(json ? { orderId, ...(v.json as object) } : v.json));
    return { topic, key: Buffer.from(orderId), value: bytes, headers: [['trace-id', Buffer.from(`t-${i}`)]] };
  });
}

async function runApp(topology: Topology, applicationId: string, guarantee: ProcessingGuarantee) {
  const app = new KafkaStreams(topology, {
    applicationId,
    bootstrapServers: bootstrapServers(),
    processingGuarantee: guarantee,
    stateDir: tempStateDir(cleanups, 'kp-dlt-'),
    commitIntervalMs: guarantee === 'at_least_once' ? 200 : 100,
    logger: silent,
  });
  cleanups.push(() => app.close());
  await app.start();
  await app.waitForRunning();
  return app;
}

async function topics(label: string, partitions = 3) {
  const orders = await createTopic(uniqueName(`${label}-orders`), partitions);
  const valid = await createTopic(uniqueName(`${label}-valid`), partitions);
  return { orders, valid, dlt: `${orders}-dlt` };
}

/** Waits until `topic` holds at least `count` committed records and returns them all. */
async function collectAtLeast(topic: string, count: number, what: string): Promise<ConsumedRecord[]> {
  return eventually(
    async () => {
      const records = await collect(topic, { timeoutMs: 5_000 });
      return records.length >= count ? records : undefined;
    },
    30_000,
    what,
  );
}

const keyOf = (r: { key: Buffer | null }) => r.key!.toString();
const byKey = (records: ConsumedRecord[]) => new Map(records.map((r) => [keyOf(r), r]));

/** v1 rejects GBP orders (the bug); the poison: 2 bytes that are not JSON, 2 negative amounts, 2 GBP orders. */
function smallScenario(orders: string): ProducedRecord[] {
  const order = (id: string, amount: number, currency: string) =>
    Buffer.from(JSON.stringify({ orderId: id, customerId: 'c-1', amount, currency }));
  const values: Array<[string, Buffer]> = [
    ['o-1', order('o-1', 10, 'EUR')],
    ['o-2', Buffer.from('{"orderId": "o-2", amount: 3')],
    ['o-3', order('o-3', 20, 'GBP')],
    ['o-4', order('o-4', -1, 'EUR')],
    ['o-5', order('o-5', 30, 'USD')],
    ['o-6', Buffer.from([0xde, 0xad, 0xbe, 0xef])],
    ['o-7', order('o-7', 40, 'GBP')],
    ['o-8', order('o-8', 0, 'USD')],
    ['o-9', order('o-9', 50, 'EUR')],
    ['o-10', order('o-10', 60, 'EUR')],
  ];
  return values.map(([k, v]) => ({
    topic: orders,
    key: Buffer.from(k),
    value: v,
    headers: [['trace-id', Buffer.from(`t-${k}`)]],
  }));
}

describe('dead-letter pattern: nothing lost, the partition keeps flowing', () => {
  for (const guarantee of ['at_least_once', 'exactly_once_v2'] as const) {
    it(`in = out + dead letters under ${guarantee}, with the raw bytes and the reason`, async () => {
      const seed = guarantee === 'at_least_once' ? 20_260_601 : 20_260_602;
      const t = await topics(guarantee === 'at_least_once' ? 'alos' : 'eos');
      const input = poisonedInput(seed, t.orders);
      const app = await runApp(
        validatedOrders({ orders: t.orders, validOrders: t.valid }),
        uniqueName('orders'),
        guarantee,
      );
      await produce(input);
      const expected = new Map(input.map((r) => [keyOf(r), expectedOutcome(r.value!)]));
      const bad = [...expected.values()].filter((o) => o !== 'out').length;
      // Both kinds of poison are in the input (the seed is fixed, so this holds every run).
      expect(new Set(expected.values())).toEqual(
        new Set(['out', 'SerializationException', 'InvalidOrderError']),
      );

      await eventually(
        () =>
          app.metrics().totals.processedRecords + app.metrics().totals.deadLetteredRecords >= input.length
            ? true
            : undefined,
        30_000,
        'every input record processed or dead-lettered',
      );
      await app.close();
      // A committed transaction's records become readable (read_committed) once its markers are written.
      const [out, dead] = await eventually(
        async () => {
          const both = await Promise.all([collect(t.valid), collect(t.dlt)]);
          return both[0].length + both[1].length >= input.length ? both : undefined;
        },
        30_000,
        'every record in the output or the dead-letter topic',
      );
      const inTopic = await collect(t.orders);
      expect(out.length + dead.length, `seed ${seed}`).toBe(input.length);
      expect(dead).toHaveLength(bad);
      expect(app.metrics().totals.deadLetteredRecords).toBe(bad);
      expect(new Set(out.map(keyOf))).toEqual(
        new Set([...expected].filter(([, o]) => o === 'out').map(([k]) => k)),
      );

      const where = byKey(inTopic);
      for (const d of dead) {
        const key = keyOf(d);
        const original = where.get(key)!;
        const letter = readDeadLetter(d);
        expect(d.value, key).toEqual(original.value);
        expect(letter.exceptionClass, key).toBe(expected.get(key));
        expect(letter.exceptionMessage, key).toBeTruthy();
        expect(letter.stacktrace, key).toContain(letter.exceptionClass!);
        expect(letter.originalTopic).toBe(t.orders);
        expect(letter.originalPartition).toBe(original.partition);
        expect(letter.originalOffset).toBe(original.offset);
        expect(letter.originalTimestamp).toBe(original.timestamp);
        expect(d.timestamp).toBe(original.timestamp);
        expect(d.partition).toBe(original.partition);
        expect(d.headers.getString('trace-id')).toBe(original.headers.getString('trace-id'));
        // Binary encodings as Spring Kafka writes them.
        expect(d.headers.get(SpringDltHeaders.originalPartition)).toHaveLength(4);
        expect(d.headers.get(SpringDltHeaders.originalOffset)).toHaveLength(8);
        expect(d.headers.get(SpringDltHeaders.originalTimestamp)).toHaveLength(8);
      }
    });
  }
});

describe('dead-letter pattern: the re-drive tool', () => {
  it('re-drives every dead letter to its original topic as it was written, and a rerun finds nothing left', async () => {
    const t = await topics('redrive-all', 2);
    const app = await runApp(
      validatedOrders({ orders: t.orders, validOrders: t.valid }),
      uniqueName('orders'),
      'exactly_once_v2',
    );
    const input = smallScenario(t.orders);
    await produce(input);
    await collectAtLeast(t.dlt, 6, 'six dead letters');
    await app.close();
    // A dead letter in KIP-1034's convention, and one that says nothing of where it came from.
    await produce([
      {
        topic: t.dlt,
        partition: 1,
        key: Buffer.from('k-kip'),
        value: Buffer.from('{"orderId":"k-kip"'),
        // A day old, well within the topic's retention: re-driven, it keeps this timestamp.
        timestamp: Date.now() - 86_400_000,
        headers: [
          ['trace-id', Buffer.from('t-kip')],
          [
            '__streams.errors.exception',
            Buffer.from('org.apache.kafka.common.errors.SerializationException'),
          ],
          ['__streams.errors.message', Buffer.from('Unexpected end of JSON input')],
          ['__streams.errors.topic', Buffer.from(t.orders)],
          ['__streams.errors.partition', Buffer.from('1')],
          ['__streams.errors.offset', Buffer.from('4')],
        ],
      },
      { topic: t.dlt, partition: 0, key: Buffer.from('k-orphan'), value: Buffer.from('?') },
    ]);
    const dead = await collect(t.dlt);
    expect(dead).toHaveLength(8);
    const before = await collect(t.orders);
    expect(before).toHaveLength(input.length);

    const clients = clientFactory();
    const groupId = uniqueName('redrive');
    const report = await redrive({ dlt: t.dlt, clients, groupId, sessionTimeoutMs: 3_000 });
    expect(report).toMatchObject({
      read: 8,
      redriven: 7,
      skipped: 0,
      complete: true,
      byTopic: { [t.orders]: 7 },
    });
    expect(report.unroutable).toEqual([
      {
        partition: 0,
        offset: expect.any(BigInt),
        reason: expect.stringMatching(
          new RegExp(
            `^dead letter ${t.dlt}-0@\\d+ has no kafka_dlt-original-topic or __streams.errors.topic header`,
          ),
        ),
      },
    ]);

    const after = await collect(t.orders);
    expect(after).toHaveLength(input.length + 7);
    const seen = new Set(before.map((r) => `${r.partition}@${r.offset}`));
    const redriven = after.filter((r) => !seen.has(`${r.partition}@${r.offset}`));
    expect(redriven.map(keyOf).sort()).toEqual(['k-kip', 'o-2', 'o-3', 'o-4', 'o-6', 'o-7', 'o-8']);
    const deadByKey = byKey(dead);
    for (const r of redriven) {
      const d = readDeadLetter(deadByKey.get(keyOf(r))!);
      expect(r.value).toEqual(d.record.value);
      expect(r.timestamp).toBe(d.originalTimestamp);
      expect(r.partition).toBe(d.originalPartition);
      const trace = keyOf(r) === 'k-kip' ? 't-kip' : `t-${keyOf(r)}`;
      expect([...r.headers].map(([k, v]) => [k, v.toString()])).toEqual([['trace-id', trace]]);
    }
    const original = byKey(before);
    for (const key of ['o-2', 'o-3', 'o-4', 'o-6', 'o-7', 'o-8'])
      expect(redriven.find((r) => keyOf(r) === key)!.timestamp).toBe(original.get(key)!.timestamp);

    const again = await redrive({ dlt: t.dlt, clients, groupId, sessionTimeoutMs: 3_000 });
    expect(again).toMatchObject({ read: 0, redriven: 0, skipped: 0, complete: true });
    expect(await collect(t.orders)).toHaveLength(input.length + 7);
  });

  it('the command line re-drives only what the filter picks, and the fixed application processes it', async () => {
    const t = await topics('redrive-filter', 2);
    const applicationId = uniqueName('orders');
    const v1 = await runApp(
      validatedOrders({ orders: t.orders, validOrders: t.valid }),
      applicationId,
      'exactly_once_v2',
    );
    await produce(smallScenario(t.orders));
    await collectAtLeast(t.dlt, 6, 'six dead letters');
    await collectAtLeast(t.valid, 4, 'four valid orders');
    await v1.close();

    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        CLI,
        '--dlt',
        t.dlt,
        '--exception',
        'InvalidOrderError',
        '--message',
        'currency',
        '--bootstrap',
        bootstrapServers().join(','),
        '--group',
        uniqueName('redrive'),
        '--session-timeout-ms',
        '3000',
      ],
      { cwd: ROOT },
    );
    expect(stdout).toContain('read 6, re-drove 2, skipped 4 (filtered out), could not re-drive 0');
    expect(stdout).toContain(`re-drove to ${t.orders}: 2`);

    // The fix: GBP is accepted. Same application id: it continues after what v1 committed.
    const v2 = await runApp(
      validatedOrders({ orders: t.orders, validOrders: t.valid, currencies: ['EUR', 'USD', 'GBP'] }),
      applicationId,
      'exactly_once_v2',
    );
    const valid = await collectAtLeast(t.valid, 6, 'the re-driven orders in the output');
    await eventually(
      () => (v2.metrics().totals.processedRecords >= 2 ? true : undefined),
      30_000,
      'v2 processed',
    );
    await v2.close();
    expect(valid.map(keyOf).sort()).toEqual(['o-1', 'o-10', 'o-3', 'o-5', 'o-7', 'o-9']);
    expect(v2.metrics().totals).toMatchObject({ processedRecords: 2, deadLetteredRecords: 0 });
    expect(await collect(t.dlt)).toHaveLength(6);
  });
});

describe('dead-letter pattern: a re-drive that crashes', () => {
  it('SIGKILLed with a transaction open, then between two transactions, then run to the end: each dead letter re-driven once', async () => {
    const dlt = await createTopic(uniqueName('crash-dlt'), 2);
    const target = await createTopic(uniqueName('crash-orders'), 3);
    const total = 400;
    // Recent enough to stay within the target topic's retention once re-driven.
    const t0 = Date.now() - 3_600_000;
    const dead: ProducedRecord[] = Array.from({ length: total }, (_, i) => {
      const headers = new Headers();
      headers.add('trace-id', `t-${i}`);
      headers.add(SpringDltHeaders.originalTopic, target);
      headers.add(SpringDltHeaders.originalPartition, int32(i % 3));
      headers.add(SpringDltHeaders.originalOffset, int64(i));
      headers.add(SpringDltHeaders.originalTimestamp, int64(t0 + i));
      headers.add(SpringDltHeaders.exceptionFqcn, 'InvalidOrderError');
      headers.add(SpringDltHeaders.exceptionMessage, `order d-${i} is invalid`);
      return {
        topic: dlt,
        partition: i % 2,
        key: Buffer.from(`d-${i}`),
        value: Buffer.from(`value ${i}`),
        headers: headers.toArray(),
      };
    });
    await produce(dead);
    const spec: RedriveChildSpec = {
      dlt,
      groupId: uniqueName('redrive'),
      batchSize: 25,
      sessionTimeoutMs: 3_000,
    };

    const committedSoFar = async () => {
      const admin = clientFactory().admin();
      try {
        const offsets = await admin.groupOffsets(
          spec.groupId,
          [0, 1].map((partition) => ({ topic: dlt, partition })),
        );
        return Number([...offsets.values()].reduce((a, b) => a + b, 0n));
      } finally {
        await admin.close();
      }
    };

    const first = startChild({ ...spec, hang: { after: 'send', transaction: 3 } });
    const hung = await first.waitFor('hanging', 60_000);
    expect(hung).toMatchObject({ after: 'send', transactions: 2 });
    await first.kill();
    const afterFirst = await committedSoFar();
    expect(afterFirst).toBeGreaterThan(0);

    const second = startChild({ ...spec, hang: { after: 'commit', transaction: 2 } });
    await second.waitFor('hanging', 60_000);
    await second.kill();
    const afterSecond = await committedSoFar();
    expect(afterSecond).toBeGreaterThan(afterFirst);
    expect(afterSecond).toBeLessThan(total);

    const third = startChild(spec);
    const report = await third.waitFor('report', 60_000);
    await third.exited;
    // Each run continued where the last commit left off.
    expect(report).toMatchObject({
      read: total - afterSecond,
      redriven: total - afterSecond,
      complete: true,
    });
    expect(await committedSoFar()).toBe(total);

    const committed = await collect(target, { isolationLevel: 'read_committed' });
    const keys = committed.map(keyOf);
    expect(keys).toHaveLength(total);
    expect(new Set(keys).size).toBe(total);
    for (const r of committed) {
      const i = Number(keyOf(r).slice(2));
      expect(r.value!.toString()).toBe(`value ${i}`);
      expect(r.partition).toBe(i % 3);
      expect(r.timestamp).toBe(t0 + i);
      expect([...r.headers].map(([k]) => k)).toEqual(['trace-id']);
    }
    // The batch sent before the first kill is in the log, aborted: read_uncommitted sees it.
    const everything = await collect(target, { isolationLevel: 'read_uncommitted' });
    expect(everything.length).toBeGreaterThanOrEqual(total + 25);
  });
});

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function int64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
}

interface Child {
  waitFor(event: string, timeoutMs: number): Promise<Record<string, unknown>>;
  kill(): Promise<void>;
  exited: Promise<void>;
}

function startChild(spec: RedriveChildSpec): Child {
  const child: ChildProcess = spawn(process.execPath, [CHILD, JSON.stringify(spec)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Array<Record<string, unknown>> = [];
  const log: string[] = [];
  const listeners = new Set<() => void>();
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines)
      if (line.startsWith('@kp ')) events.push(JSON.parse(line.slice(4)) as Record<string, unknown>);
      else if (line.trim()) log.push(line);
    for (const l of [...listeners]) l();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => log.push(chunk));
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      for (const l of [...listeners]) l();
      resolve();
    }),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  cleanups.push(async () => {
    if (alive()) child.kill('SIGKILL');
    await exited;
  });
  return {
    exited,
    waitFor: (event, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find((e) => e.event === event);
          const failed = events.find((e) => e.event === 'error');
          if (found || failed || !alive()) {
            clearTimeout(timer);
            listeners.delete(check);
            if (found) resolve(found);
            else
              reject(
                new Error(
                  `re-drive child ended before "${event}": ${JSON.stringify(failed)}\n${log.join('\n')}`,
                ),
              );
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for "${event}"\n${log.join('\n')}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      }),
    kill: async () => {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
  };
}
