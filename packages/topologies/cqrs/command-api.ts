/**
 * The command side: an HTTP API (on `node:http`) that validates commands and writes the accepted
 * ones as events, keyed by SKU, through an idempotent producer.
 *
 *   POST /commands/register-product   { sku, name, priceCents }
 *   POST /commands/change-price       { sku, priceCents }
 *   POST /commands/adjust-stock       { sku, delta }
 *
 * 202 `{ accepted: true, eventId, type, sku, version, position, view }`: the event is in the log at
 * `position`; `view` is the query-endpoint path that answers once the view has processed it.
 * 400 `{ accepted: false, reason }`: the command is malformed. 409: the product's state forbids it.
 * 503: the view is behind or unreachable, so the command cannot be checked now: retry.
 *
 * A command is checked against the view caught up with the whole partition of its SKU (the read
 * is bounded by the partition's last offset at that moment), so it sees every earlier event of
 * that SKU, whoever wrote it. Commands of one SKU run one at a time in this process.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { partitionForKey } from '@kafka-pattern/streams-core';
import {
  type AdminPort,
  createPlatformaticClientFactory,
  type ProducerPort,
  type SecuritySettings,
  topicPartitionKey,
} from '@kafka-pattern/streams-core/client';
import { type CatalogueCommand, type CatalogueEvent, decide, parseCommand } from './catalogue.ts';
import {
  type CatalogueViewClient,
  type EventPosition,
  productPath,
  ViewUnavailableError,
} from './view-client.ts';

export const COMMAND_ROUTES = {
  'register-product': 'RegisterProduct',
  'change-price': 'ChangePrice',
  'adjust-stock': 'AdjustStock',
} as const satisfies Record<string, CatalogueCommand['type']>;

export type CommandRoute = keyof typeof COMMAND_ROUTES;

export interface CommandAccepted {
  readonly accepted: true;
  readonly eventId: string;
  readonly type: CatalogueEvent['type'];
  readonly sku: string;
  readonly version: number;
  readonly position: EventPosition;
  /** Path on the query endpoint that answers the SKU once the view has processed this event. */
  readonly view: string;
}

export interface CommandRejected {
  readonly accepted: false;
  readonly reason: string;
}

export type CommandAnswer = CommandAccepted | CommandRejected;

/** `tls` and `sasl`: how to reach a secured cluster (as the application's client.tls and client.sasl). */
export interface CommandApiOptions extends SecuritySettings {
  bootstrapServers: string[];
  /** The events topic (it must exist: its partition count places the SKUs). */
  topic: string;
  /** The query side, read to validate commands. */
  view: CatalogueViewClient;
  /** Default 0: a free port. */
  port?: number;
  host?: string;
  clientId?: string;
  /** How long a command waits for the view to catch up with the log. Default 5000 ms. */
  viewWaitMs?: number;
  /** Told of each command's outcome (logs, demos). */
  onAnswer?: (command: CatalogueCommand | undefined, answer: CommandAnswer, status: number) => void;
}

export interface CommandApi {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export async function startCommandApi(options: CommandApiOptions): Promise<CommandApi> {
  const clients = createPlatformaticClientFactory({
    bootstrapServers: options.bootstrapServers,
    clientId: options.clientId ?? 'cqrs-command-api',
    tls: options.tls,
    sasl: options.sasl,
  });
  const admin = clients.admin();
  let partitions: number;
  try {
    const described = (await admin.describeTopics([options.topic])).get(options.topic);
    if (!described)
      throw new Error(
        `The events topic "${options.topic}" does not exist: create it (with the query side's partition count) before starting the command API`,
      );
    partitions = described.partitions;
  } catch (error) {
    await admin.close();
    throw error;
  }
  const producer = clients.producer({
    clientId: `${options.clientId ?? 'cqrs-command-api'}-producer`,
    idempotent: true,
  });
  const handler = new CommandHandler(options, admin, producer, partitions);
  const server = createServer((req, res) => {
    handler.handle(req, res).catch((error: unknown) => {
      if (!res.headersSent)
        send(res, 500, { accepted: false, reason: `internal error: ${(error as Error).message}` });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    close: () => {
      // Closing twice waits for the one close.
      closing ??= (async () => {
        await closeServer(server);
        await producer.close();
        await admin.close();
      })();
      return closing;
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

class CommandHandler {
  readonly #o: CommandApiOptions;
  readonly #admin: AdminPort;
  readonly #producer: ProducerPort;
  readonly #partitions: number;
  /** The command of each SKU in progress here: the next one of that SKU waits for it. */
  readonly #bySku = new Map<string, Promise<unknown>>();

  constructor(options: CommandApiOptions, admin: AdminPort, producer: ProducerPort, partitions: number) {
    this.#o = options;
    this.#admin = admin;
    this.#producer = producer;
    this.#partitions = partitions;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let command: CatalogueCommand | undefined;
    const answer = (status: number, body: CommandAnswer) => {
      this.#o.onAnswer?.(command, body, status);
      send(res, status, body);
    };
    try {
      const url = new URL(req.url ?? '/', 'http://commands.local');
      const m = /^\/commands\/([a-z-]+)$/.exec(url.pathname);
      const route = m?.[1];
      if (!route || !(route in COMMAND_ROUTES))
        throw new HttpError(
          404,
          `No command at ${url.pathname}: POST one of ${Object.keys(COMMAND_ROUTES)
            .map((r) => `/commands/${r}`)
            .join(', ')}`,
        );
      if (req.method !== 'POST')
        throw new HttpError(405, `${req.method} ${url.pathname}: commands are sent with POST`);
      const body = await readJson(req);
      const parsed = parseCommand(COMMAND_ROUTES[route as CommandRoute], body);
      if ('status' in parsed) throw new HttpError(400, parsed.reason);
      command = parsed;
      const result = await this.#serialized(parsed.sku, () => this.#execute(parsed));
      answer(result.accepted ? 202 : 409, result);
    } catch (error) {
      if (error instanceof HttpError) answer(error.status, { accepted: false, reason: error.message });
      else if (error instanceof ViewUnavailableError)
        answer(503, {
          accepted: false,
          reason: `the command cannot be checked now: ${error.message}; retry`,
        });
      else throw error;
    }
  }

  /** Runs `work` after every earlier command of the SKU in this process. */
  async #serialized<T>(sku: string, work: () => Promise<T>): Promise<T> {
    const before = this.#bySku.get(sku) ?? Promise.resolve();
    const mine = before.catch(() => {}).then(work);
    this.#bySku.set(sku, mine);
    try {
      return await mine;
    } finally {
      if (this.#bySku.get(sku) === mine) this.#bySku.delete(sku);
    }
  }

  async #execute(command: CatalogueCommand): Promise<CommandAnswer> {
    const topic = this.#o.topic;
    const key = Buffer.from(command.sku, 'utf8');
    const partition = partitionForKey(key, this.#partitions);
    const tp = { topic, partition };
    const end = (await this.#admin.listOffsets([tp], 'latest')).get(topicPartitionKey(tp)) ?? 0n;
    // The view must have processed the partition's last event before the command is checked.
    const current = await this.#o.view.get(command.sku, {
      ...(end > 0n ? { position: { topic, partition, offset: Number(end - 1n) } } : {}),
      waitMs: this.#o.viewWaitMs ?? 5_000,
    });
    const decision = decide(command, current, { eventId: randomUUID(), at: Date.now() });
    if (!decision.accepted) return { accepted: false, reason: decision.reason };
    const event = decision.event;
    const [written] = await this.#producer.send([
      {
        topic,
        partition,
        key,
        value: Buffer.from(JSON.stringify(event)),
        timestamp: event.at,
        headers: [
          ['id', Buffer.from(event.eventId)],
          ['type', Buffer.from(event.type)],
        ],
      },
    ]);
    const position: EventPosition = { topic, partition, offset: Number(written!.lastOffset) };
    return {
      accepted: true,
      eventId: event.eventId,
      type: event.type,
      sku: event.sku,
      version: event.version,
      position,
      view: productPath(this.#o.view.store, event.sku, position),
    };
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/json'))
    throw new HttpError(
      400,
      `the body must be JSON with content-type application/json, got "${type || 'none'}"`,
    );
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(400, `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new HttpError(400, `the body is not valid JSON: ${(error as Error).message}`);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
