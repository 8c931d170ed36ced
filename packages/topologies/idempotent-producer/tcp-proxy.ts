/**
 * A TCP proxy between Kafka clients and one broker that loses acknowledgements on purpose.
 *
 * It owns the one fault a producer's retry logic exists for: the broker appended a batch and
 * answered, but the answer never reached the client. The proxy reads Kafka's framing (a 4-byte
 * big-endian size before every request and response; a request header starts with api key,
 * api version and correlation id, a response header with the correlation id), so it knows which
 * responses answer Produce requests. When the fault plan says so, it swallows such a response
 * whole and resets both connections: the client sees its connection die with the request
 * unanswered and cannot tell whether the batch was written. It was.
 *
 * The plan is deterministic: a seeded pseudo-random sequence decides, for the n-th produce
 * response the proxy sees, whether to drop it. Two producers that send the same requests in the
 * same order meet the same faults, so a demo or a test can compare them, and a rerun repeats.
 * The sequence is counted per plan, from `setFaults` on (or from the start).
 *
 * For the fault to reach the client as the broker's own address, the broker must advertise the
 * proxy: its metadata then sends every client back through here (see `broker.ts`).
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/** Kafka's api key of Produce requests. */
const PRODUCE_API_KEY = 0;

export interface FaultPlan {
  /** Chance, 0 to 1, that the response to a produce request is dropped and the connection reset. */
  dropProduceResponses: number;
  /** Seed of the pseudo-random sequence: the same seed drops the same responses, by their order. */
  seed: number;
  /**
   * At most this many produce responses in a row are dropped (default 2), so that a client's
   * bounded retries always get through in the end.
   */
  maxConsecutiveDrops?: number;
}

export interface ProxyOptions {
  /** The broker's own listener. */
  target: { host: string; port: number };
  /** Where the proxy listens; default 127.0.0.1 on a port the system picks. */
  listen?: { host?: string; port?: number };
  /** No faults when absent: the proxy forwards everything. */
  faults?: FaultPlan;
}

/** What the proxy saw and did. */
export interface ProxyStats {
  connections: number;
  produceResponses: number;
  droppedProduceResponses: number;
}

export class FaultInjectingProxy {
  readonly #server: Server;
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<Socket>();
  #plan: FaultSchedule | undefined;
  #stats: ProxyStats = { connections: 0, produceResponses: 0, droppedProduceResponses: 0 };
  #host = '127.0.0.1';
  #port = 0;

  private constructor(options: ProxyOptions) {
    this.#target = { ...options.target };
    this.#plan = options.faults ? new FaultSchedule(options.faults) : undefined;
    this.#server = createServer((client) => this.#accept(client));
  }

  /** Listens and resolves once clients can connect. */
  static async start(options: ProxyOptions): Promise<FaultInjectingProxy> {
    const proxy = new FaultInjectingProxy(options);
    const host = options.listen?.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new Error(
            `The fault proxy could not listen on ${host}:${options.listen?.port ?? 0} (${error.code ?? error.message}): ` +
              'choose another port, or leave it out to let the system pick one',
            { cause: error },
          ),
        ),
      );
      proxy.#server.listen(options.listen?.port ?? 0, host, () => resolve());
    });
    const address = proxy.#server.address();
    if (address === null || typeof address === 'string')
      throw new Error('The fault proxy has no TCP address');
    proxy.#host = host;
    proxy.#port = address.port;
    return proxy;
  }

  get host(): string {
    return this.#host;
  }

  get port(): number {
    return this.#port;
  }

  /** `host:port`, for bootstrap servers and for the broker's advertised listener. */
  get address(): string {
    return `${this.#host}:${this.#port}`;
  }

  /**
   * Replaces the fault plan (undefined: none); its pseudo-random sequence and the stats start
   * over, so that each run under a plan meets the same faults and counts only its own.
   */
  setFaults(plan: FaultPlan | undefined): void {
    this.#plan = plan ? new FaultSchedule(plan) : undefined;
    this.#stats = { connections: 0, produceResponses: 0, droppedProduceResponses: 0 };
  }

  /** Since the start, or since the last `setFaults`. */
  stats(): ProxyStats {
    return { ...this.#stats };
  }

  /** Stops listening and cuts every open connection. */
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.#stats.connections++;
    const broker = tcpConnect(this.#target.port, this.#target.host);
    this.#sockets.add(client);
    this.#sockets.add(broker);
    client.setNoDelay(true);
    broker.setNoDelay(true);
    // Correlation id -> api key of the requests this connection has outstanding.
    const outstanding = new Map<number, number>();
    let cut = false;
    const cutBoth = (reset: boolean) => {
      if (cut) return;
      cut = true;
      if (reset && !client.destroyed) client.resetAndDestroy();
      else client.destroy();
      broker.destroy();
    };
    // Bytes that are not Kafka framing end the connection: nothing after them can be read.
    const broken = () => cutBoth(true);
    const requests = new FrameReader((frame) => {
      // Request header: api key (int16), api version (int16), correlation id (int32).
      if (frame.length >= 12) outstanding.set(frame.readInt32BE(8), frame.readInt16BE(4));
      broker.write(frame);
      return true;
    }, broken);
    const responses = new FrameReader((frame) => {
      // Response header: correlation id (int32).
      if (frame.length < 8) {
        client.write(frame);
        return true;
      }
      const correlationId = frame.readInt32BE(4);
      const apiKey = outstanding.get(correlationId);
      outstanding.delete(correlationId);
      if (apiKey === PRODUCE_API_KEY) {
        this.#stats.produceResponses++;
        if (this.#plan?.dropNext()) {
          this.#stats.droppedProduceResponses++;
          cutBoth(true);
          return false;
        }
      }
      client.write(frame);
      return true;
    }, broken);
    client.on('data', (chunk) => requests.push(chunk));
    broker.on('data', (chunk) => responses.push(chunk));
    client.on('error', () => cutBoth(false));
    broker.on('error', () => cutBoth(true));
    client.on('close', () => {
      this.#sockets.delete(client);
      cutBoth(false);
    });
    broker.on('close', () => {
      this.#sockets.delete(broker);
      cutBoth(false);
    });
  }
}

/**
 * Splits a byte stream into Kafka frames (size prefix included); `onFrame` false stops it, and
 * so does a negative size (`onBroken`).
 */
class FrameReader {
  readonly #onFrame: (frame: Buffer) => boolean;
  readonly #onBroken: () => void;
  #pending: Buffer = Buffer.alloc(0);
  #stopped = false;

  constructor(onFrame: (frame: Buffer) => boolean, onBroken: () => void) {
    this.#onFrame = onFrame;
    this.#onBroken = onBroken;
  }

  push(chunk: Buffer): void {
    if (this.#stopped) return;
    let buffer = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (buffer.length >= 4) {
      const size = buffer.readInt32BE(0);
      if (size < 0) {
        this.#stopped = true;
        this.#onBroken();
        return;
      }
      const end = 4 + size;
      if (buffer.length < end) break;
      if (!this.#onFrame(buffer.subarray(0, end))) {
        this.#stopped = true;
        return;
      }
      buffer = buffer.subarray(end);
    }
    // Copied so that a kept remainder does not pin the whole chunk it came in.
    this.#pending = Buffer.from(buffer);
  }
}

/** The drop decisions of one plan: mulberry32 seeded with the plan's seed. */
class FaultSchedule {
  readonly #probability: number;
  readonly #maxConsecutive: number;
  #state: number;
  #consecutive = 0;

  constructor(plan: FaultPlan) {
    if (!(plan.dropProduceResponses >= 0 && plan.dropProduceResponses <= 1)) {
      throw new Error(
        `dropProduceResponses must be between 0 and 1 (got ${plan.dropProduceResponses}): it is the chance a produce response is dropped`,
      );
    }
    const maxConsecutive = plan.maxConsecutiveDrops ?? 2;
    if (!Number.isInteger(maxConsecutive) || maxConsecutive < 1) {
      throw new Error(
        `maxConsecutiveDrops must be a whole number of at least 1 (got ${maxConsecutive}); keep it below the client's retries`,
      );
    }
    this.#probability = plan.dropProduceResponses;
    this.#maxConsecutive = maxConsecutive;
    this.#state = plan.seed >>> 0;
  }

  dropNext(): boolean {
    const drop = this.#random() < this.#probability && this.#consecutive < this.#maxConsecutive;
    this.#consecutive = drop ? this.#consecutive + 1 : 0;
    return drop;
  }

  #random(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
