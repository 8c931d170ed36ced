/**
 * The fault proxy against a stand-in broker that answers every Kafka-framed request with a
 * response carrying its correlation id: what passes unchanged, what is dropped, and that the
 * drops follow the seed.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultInjectingProxy, type FaultPlan } from './tcp-proxy.ts';

const PRODUCE = 0;
const METADATA = 3;

function request(apiKey: number, correlationId: number, body = Buffer.from('request-body')): Buffer {
  const frame = Buffer.alloc(4 + 8 + body.length);
  frame.writeInt32BE(8 + body.length, 0);
  frame.writeInt16BE(apiKey, 4);
  frame.writeInt16BE(9, 6);
  frame.writeInt32BE(correlationId, 8);
  body.copy(frame, 12);
  return frame;
}

function response(correlationId: number, body: Buffer): Buffer {
  const frame = Buffer.alloc(8 + body.length);
  frame.writeInt32BE(4 + body.length, 0);
  frame.writeInt32BE(correlationId, 4);
  body.copy(frame, 8);
  return frame;
}

/** Answers each request with `answer-to-<correlation id>` and remembers what it received. */
async function fakeBroker(): Promise<{ server: Server; port: number; received: Buffer[] }> {
  const received: Buffer[] = [];
  const server = createServer((socket) => {
    let pending = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const end = 4 + pending.readInt32BE(0);
        const frame = pending.subarray(0, end);
        received.push(Buffer.from(frame));
        const correlationId = frame.readInt32BE(8);
        socket.write(response(correlationId, Buffer.from(`answer-to-${correlationId}`)));
        pending = pending.subarray(end);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0, received };
}

/** Sends the frames (in the given chunks) on one connection; collects what comes back until it closes or `expect` bytes arrived. */
function exchange(
  port: number,
  chunks: Buffer[],
  expectBytes: number,
): Promise<{ data: Buffer; closedEarly: boolean; reset: boolean }> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    let size = 0;
    let reset = false;
    let done = false;
    const finish = (closedEarly: boolean) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ data: Buffer.concat(parts), closedEarly, reset });
    };
    socket.on('connect', async () => {
      for (const c of chunks) {
        socket.write(c);
        await new Promise((r) => setImmediate(r));
      }
    });
    socket.on('data', (d) => {
      parts.push(d);
      size += d.length;
      if (size >= expectBytes) finish(false);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET') reset = true;
      finish(true);
    });
    socket.on('close', () => finish(true));
  });
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(faults?: FaultPlan) {
  const broker = await fakeBroker();
  const proxy = await FaultInjectingProxy.start({
    target: { host: '127.0.0.1', port: broker.port },
    ...(faults ? { faults } : {}),
  });
  cleanups.push(
    () => new Promise<void>((r) => broker.server.close(() => r())),
    () => proxy.close(),
  );
  return { broker, proxy };
}

/** One produce request per connection, `n` times: which ones were answered. */
async function produceRounds(port: number, n: number): Promise<boolean[]> {
  const answered: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const expected = response(i, Buffer.from(`answer-to-${i}`)).length;
    const r = await exchange(port, [request(PRODUCE, i)], expected);
    answered.push(!r.closedEarly);
  }
  return answered;
}

describe('fault-injecting TCP proxy', () => {
  it('passes requests and responses through byte for byte, however the stream is cut', async () => {
    const { broker, proxy } = await setup();
    const frames = [request(METADATA, 1), request(PRODUCE, 2), request(METADATA, 3, Buffer.alloc(5000, 7))];
    const all = Buffer.concat(frames);
    // Byte by byte for the first frame, then the rest in one chunk.
    const chunks = [
      ...Array.from(all.subarray(0, frames[0]!.length), (b) => Buffer.from([b])),
      all.subarray(frames[0]!.length),
    ];
    const expected = Buffer.concat([1, 2, 3].map((id) => response(id, Buffer.from(`answer-to-${id}`))));
    const r = await exchange(proxy.port, chunks, expected.length);
    expect(r.closedEarly).toBe(false);
    expect(r.data.equals(expected)).toBe(true);
    expect(Buffer.concat(broker.received).equals(all)).toBe(true);
    expect(proxy.stats()).toEqual({ connections: 1, produceResponses: 1, droppedProduceResponses: 0 });
  });

  it('drops the response to a produce request after the broker received it, and resets the connection', async () => {
    const { broker, proxy } = await setup({ dropProduceResponses: 1, seed: 1, maxConsecutiveDrops: 1 });
    const metadataAnswer = response(1, Buffer.from('answer-to-1'));
    const r = await exchange(
      proxy.port,
      [Buffer.concat([request(METADATA, 1), request(PRODUCE, 2)])],
      metadataAnswer.length + 100,
    );
    // The metadata answer arrives; the produce answer never does, and the connection is reset.
    expect(r.closedEarly).toBe(true);
    expect(r.reset).toBe(true);
    expect(r.data.equals(metadataAnswer)).toBe(true);
    expect(broker.received.map((f) => f.readInt32BE(8))).toEqual([1, 2]);
    expect(proxy.stats()).toEqual({ connections: 1, produceResponses: 1, droppedProduceResponses: 1 });
  });

  it('drops by a seeded sequence: the same seed drops the same responses, and never more in a row than allowed', async () => {
    const plan: FaultPlan = { dropProduceResponses: 0.4, seed: 42, maxConsecutiveDrops: 2 };
    const { proxy } = await setup(plan);
    const first = await produceRounds(proxy.port, 40);
    proxy.setFaults(plan);
    const second = await produceRounds(proxy.port, 40);
    expect(second).toEqual(first);
    expect(first.filter((a) => !a).length).toBeGreaterThan(5);
    expect(first.join(',')).not.toContain('false,false,false');
    expect(proxy.stats().droppedProduceResponses).toBe(first.filter((a) => !a).length);
    proxy.setFaults({ ...plan, seed: 43 });
    expect(await produceRounds(proxy.port, 40)).not.toEqual(first);
  });

  it('with probability 1 drops up to the limit in a row, then lets one through', async () => {
    const { proxy } = await setup({ dropProduceResponses: 1, seed: 5, maxConsecutiveDrops: 2 });
    expect(await produceRounds(proxy.port, 6)).toEqual([false, false, true, false, false, true]);
  });

  it('cuts a connection whose bytes are not Kafka framing', async () => {
    const { proxy } = await setup();
    const garbage = Buffer.alloc(8, 0xff); // a size of -1
    expect((await exchange(proxy.port, [garbage], 1_000)).closedEarly).toBe(true);
    // Other connections go on as before.
    const answer = response(1, Buffer.from('answer-to-1'));
    const r = await exchange(proxy.port, [request(METADATA, 1)], answer.length);
    expect(r.data.equals(answer)).toBe(true);
  });

  it('refuses a plan that cannot be followed, saying why', async () => {
    const { proxy } = await setup();
    expect(() => proxy.setFaults({ dropProduceResponses: 1.5, seed: 1 })).toThrow(/between 0 and 1/);
    expect(() => proxy.setFaults({ dropProduceResponses: 0.5, seed: 1, maxConsecutiveDrops: 0 })).toThrow(
      /at least 1/,
    );
  });
});
