/**
 * A small HTTP endpoint for interactive queries, on `node:http` alone:
 *
 *   GET /stores/:store/keys/:key        one key (JSON value; 404 when absent). Window stores take
 *                                       `?from=&to=` (ms) and answer the key's windows; session
 *                                       stores answer the key's sessions. A key held by another
 *                                       instance is fetched from that instance's applicationServer.
 *                                       `?position=topic:partition:offset` (read-your-writes)
 *                                       answers once that record is processed, 504 after
 *                                       `waitMs` (default 5 s).
 *   GET /stores/:store?from=&to=        a range of this instance's keys (kv: key bounds; window and
 *                                       session: time bounds), local only
 *   GET /metadata                       every instance with its address, partitions and stores
 *   GET /metadata/stores/:store/keys/:key  where a key lives
 *   GET /metrics                        Prometheus text
 *
 * Each instance's `applicationServer` must be the address this server listens on, since that is
 * where the other instances forward requests.
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KafkaStreams } from '../runtime/kafka-streams.ts';
import { KeyParseError, type KeyParser, parseKeyText, toJson } from './http-codec.ts';
import { formatRecordPosition, parseRecordPosition, type RecordPosition } from './positions.ts';
import {
  InvalidStateStoreException,
  type QueryableStoreInfo,
  UnknownStateStoreException,
} from './store-views.ts';
import { formatHostInfo, type HostInfo } from './subscription-info.ts';

export interface QueryServerOptions {
  /** Default: the port of the app's applicationServer; 0 picks a free one. */
  port?: number;
  /** Default: the host of the app's applicationServer, else 127.0.0.1. */
  host?: string;
  /** Reads keys of stores whose key serde is not String, UUID, Long, Integer, Short, Double or Float. */
  parseKey?: KeyParser;
  /** How long a forwarded request may take before the answer is 503 (plus its `waitMs`, if any). Default 5 s. */
  forwardTimeoutMs?: number;
  /**
   * A prom-client Registry (or anything with `metrics()` and `contentType`): GET /metrics then
   * serves its output, e.g. after `registerStreamsMetrics(app, { registry })` from
   * `@kafka-pattern/streams-core/prometheus`. Without one, /metrics serves `app.metricsText()`.
   */
  registry?: MetricsRegistry;
}

/** The part of a prom-client Registry the query server uses. */
export interface MetricsRegistry {
  metrics(): Promise<string>;
  readonly contentType: string;
}

/** How long a read bounded by a position waits when the request gives no `waitMs`. */
const DEFAULT_WAIT_MS = 5_000;
/** The longest `waitMs` a request may ask for. */
const MAX_WAIT_MS = 60_000;

export interface QueryServer {
  readonly host: string;
  readonly port: number;
  /** `http://host:port` */
  readonly url: string;
  close(): Promise<void>;
}

/** Marks a forwarded request, so that an instance that does not hold the key either answers or says so, and never forwards again. */
const FORWARDED = 'x-kafka-pattern-forwarded';

class HttpError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;
  constructor(status: number, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.body = { error: message, ...extra };
  }
}

export async function startQueryServer(
  app: KafkaStreams,
  options: QueryServerOptions = {},
): Promise<QueryServer> {
  const own = app.interactiveQueries.hostInfo;
  const port = options.port ?? own?.port;
  if (port === undefined)
    throw new Error('startQueryServer needs a port: pass { port } or set applicationServer in the config');
  const host = options.host ?? own?.host ?? '127.0.0.1';
  const handler = new QueryHandler(app, options);
  const server = createServer((req, res) => {
    handler.handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: (error as Error).message ?? String(error) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    host,
    port: address.port,
    url: `http://${formatHostInfo({ host, port: address.port })}`,
    close: () => closeServer(server),
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

class QueryHandler {
  readonly #app: KafkaStreams;
  readonly #options: QueryServerOptions;

  constructor(app: KafkaStreams, options: QueryServerOptions) {
    this.#app = app;
    this.#options = options;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        throw new HttpError(405, `${req.method} is not served: the query endpoint is read-only (GET)`);
      const url = new URL(req.url ?? '/', 'http://query.local');
      const parts = url.pathname.split('/').filter(Boolean).map(decodeSegment);
      if (parts.length === 1 && parts[0] === 'metrics') {
        const registry = this.#options.registry;
        if (registry) {
          const text = await registry.metrics();
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(this.#app.metricsText());
        return;
      }
      if (parts.length === 1 && parts[0] === 'metadata') {
        send(res, 200, await this.#app.allMetadata());
        return;
      }
      if (parts.length === 5 && parts[0] === 'metadata' && parts[1] === 'stores' && parts[3] === 'keys') {
        const info = this.#store(parts[2]!);
        send(res, 200, await this.#app.queryMetadataForKey(info.name, this.#key(parts[4]!, info)));
        return;
      }
      if (parts.length === 4 && parts[0] === 'stores' && parts[2] === 'keys') {
        await this.#byKey(req, res, this.#store(parts[1]!), parts[3]!, url.searchParams);
        return;
      }
      if (parts.length === 2 && parts[0] === 'stores') {
        send(res, 200, this.#range(this.#store(parts[1]!), url.searchParams));
        return;
      }
      throw new HttpError(
        404,
        `No route for ${url.pathname}: try /stores/:store/keys/:key, /stores/:store, /metadata or /metrics`,
      );
    } catch (error) {
      if (error instanceof HttpError)
        send(res, error.status, error.body, error.status === 503 ? { 'retry-after': '1' } : {});
      else if (error instanceof UnknownStateStoreException) send(res, 404, { error: error.message });
      else if (error instanceof InvalidStateStoreException)
        send(res, 503, { error: error.message, state: this.#app.state }, { 'retry-after': '1' });
      else if (error instanceof KeyParseError) send(res, 400, { error: error.message });
      else throw error;
    }
  }

  #store(name: string): QueryableStoreInfo {
    return this.#app.interactiveQueries.describeStore(name);
  }

  #key(text: string, info: QueryableStoreInfo): unknown {
    try {
      return parseKeyText(text, info, this.#options.parseKey);
    } catch (error) {
      if (error instanceof KeyParseError) throw error;
      throw new KeyParseError(`Key "${text}" of store "${info.name}": ${(error as Error).message}`);
    }
  }

  async #byKey(
    req: IncomingMessage,
    res: ServerResponse,
    info: QueryableStoreInfo,
    text: string,
    query: URLSearchParams,
  ): Promise<void> {
    const iq = this.#app.interactiveQueries;
    const key = this.#key(text, info);
    const partition = iq.partitionOf(info, key);
    const bound = this.#positionBound(info, text, partition, query);
    const answerLocally = async () => {
      if (bound) await this.#waitFor(bound);
      const found = this.#readKey(info, key, query);
      if (found === undefined)
        throw new HttpError(404, `Key "${text}" is not in store "${info.name}"`, { partition });
      send(res, 200, found);
    };
    if (iq.isLocal(info, partition)) return answerLocally();
    const metadata = await this.#app.queryMetadataForKey(info.name, key);
    // The task may have arrived here while the group was being asked.
    if (metadata.local) return answerLocally();
    const where = { partition, activeHost: metadata.activeHost ? formatHostInfo(metadata.activeHost) : null };
    if (req.headers[FORWARDED] !== undefined) {
      throw new HttpError(
        421,
        `Partition ${partition} of store "${info.name}" is not on this instance`,
        where,
      );
    }
    const target = metadata.activeHost;
    const self = iq.hostInfo;
    if (!target || (self && target.host === self.host && target.port === self.port)) {
      throw new HttpError(
        503,
        `No instance serves partition ${partition} of store "${info.name}" right now (rebalancing, or its owner has no applicationServer)`,
        where,
      );
    }
    await this.#forward(req, res, target, where, bound?.waitMs ?? 0);
  }

  /**
   * The `position` parameters of a key read and its `waitMs`: each position must be of the
   * partition of the key in one of the store's input topics, since that partition's task is the
   * one whose store answers.
   */
  #positionBound(
    info: QueryableStoreInfo,
    text: string,
    partition: number,
    query: URLSearchParams,
  ): { positions: RecordPosition[]; waitMs: number } | undefined {
    const given = query.getAll('position');
    if (given.length === 0) return undefined;
    const topics = this.#app.interactiveQueries.sourceTopics(info);
    const positions = given.map((p) => {
      const position = parseRecordPosition(p);
      if (!position)
        throw new HttpError(
          400,
          `"position" must be topic:partition:offset (the record a write produced), got "${p}"`,
        );
      if (!topics.includes(position.topic) || position.partition !== partition)
        throw new HttpError(
          400,
          `Position ${p} cannot bound a read of key "${text}" in store "${info.name}": the key is in partition ${partition} of ${topics.map((t) => `"${t}"`).join(', ')}; pass the position a write of this key produced`,
          { partition, topics },
        );
      return position;
    });
    const waitText = query.get('waitMs');
    const waitMs = waitText === null || waitText === '' ? DEFAULT_WAIT_MS : Number(waitText);
    if (!Number.isSafeInteger(waitMs) || waitMs < 0 || waitMs > MAX_WAIT_MS)
      throw new HttpError(
        400,
        `"waitMs" must be a whole number of milliseconds from 0 to ${MAX_WAIT_MS}, got "${waitText}"`,
      );
    return { positions, waitMs };
  }

  /** Waits until every position of the bound is processed here; 504 when `waitMs` passes first. */
  async #waitFor(bound: { positions: RecordPosition[]; waitMs: number }): Promise<void> {
    const app = this.#app;
    const deadline = Date.now() + bound.waitMs;
    for (const p of bound.positions) {
      if (await app.waitForProcessed(p, Math.max(0, deadline - Date.now()))) continue;
      const next = app.processedOffset(p.topic, p.partition);
      throw new HttpError(
        504,
        `The store has not caught up with ${formatRecordPosition(p)} within ${bound.waitMs} ms (${next === undefined ? 'its task is not running here yet' : `processed up to offset ${next - 1n}`}): retry, or give a longer waitMs`,
        { position: formatRecordPosition(p), processedOffset: next === undefined ? null : next.toString() },
      );
    }
  }

  /** The key's value (key-value), windows (window) or sessions (session); undefined when a key-value store lacks the key. */
  #readKey(info: QueryableStoreInfo, key: unknown, query: URLSearchParams): unknown {
    if (info.type === 'keyValue') return this.#app.store(info.name, 'keyValue').get(key);
    if (info.type === 'window') {
      return this.#app
        .store(info.name, 'window')
        .fetch(key, time(query, 'from', 0), time(query, 'to', Number.MAX_SAFE_INTEGER));
    }
    return this.#app.store(info.name, 'session').fetch(key);
  }

  #range(info: QueryableStoreInfo, query: URLSearchParams): unknown {
    if (info.type === 'keyValue') {
      const bound = (name: string) => {
        const text = query.get(name);
        return text === null ? null : this.#key(text, info);
      };
      return this.#app.store(info.name, 'keyValue').range(bound('from'), bound('to'));
    }
    const from = time(query, 'from', 0);
    const to = time(query, 'to', Number.MAX_SAFE_INTEGER);
    if (info.type === 'window') return this.#app.store(info.name, 'window').fetchAll(from, to);
    return this.#app.store(info.name, 'session').findSessionsRange(null, null, from, to);
  }

  #forward(
    req: IncomingMessage,
    res: ServerResponse,
    target: HostInfo,
    where: Record<string, unknown>,
    waitMs: number,
  ): Promise<void> {
    // The owner may wait for a position before it answers.
    const timeoutMs = (this.#options.forwardTimeoutMs ?? 5_000) + waitMs;
    return new Promise((resolve) => {
      const upstream = request(
        {
          host: target.host,
          port: target.port,
          path: req.url,
          method: 'GET',
          headers: { accept: req.headers.accept ?? 'application/json', [FORWARDED]: '1' },
          timeout: timeoutMs,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, {
            'content-type': answer.headers['content-type'] ?? 'application/json; charset=utf-8',
            'x-kafka-pattern-served-by': formatHostInfo(target),
          });
          answer.pipe(res);
          answer.on('end', resolve);
          answer.on('error', () => {
            res.destroy();
            resolve();
          });
        },
      );
      upstream.on('timeout', () => upstream.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      upstream.on('error', (error) => {
        if (!res.headersSent) {
          send(
            res,
            503,
            {
              error: `The instance at ${formatHostInfo(target)} holds the key but did not answer: ${error.message}`,
              ...where,
            },
            { 'retry-after': '1' },
          );
        } else {
          res.destroy();
        }
        resolve();
      });
      upstream.end();
    });
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `Path segment "${segment}" is not valid percent-encoding`);
  }
}

function time(query: URLSearchParams, name: string, fallback: number): number {
  const text = query.get(name);
  if (text === null || text === '') return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n))
    throw new HttpError(400, `"${name}" must be a time in epoch milliseconds, got "${text}"`);
  return n;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = toJson(body ?? null);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}
