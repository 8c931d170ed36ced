/**
 * The CQRS pattern on the real broker, for its integration and fault tests: query-side
 * instances (a KafkaStreams app plus its query endpoint at its applicationServer), the command
 * API, and HTTP helpers that send commands and read the view.
 */
import { createServer } from 'node:net';
import { KafkaStreams, startQueryServer } from '@kafka-pattern/streams-core';
import {
  type CatalogueEvent,
  CatalogueViewClient,
  type CommandAnswer,
  type CommandApi,
  type CommandRoute,
  catalogueView,
  type Product,
  startCommandApi,
} from '@kafka-pattern/topologies/cqrs';
import type { Pool } from 'pg';
import { bootstrapServers, collect } from './kafka.ts';
import type { Teardown } from './teardown.ts';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface QueryInstance {
  readonly app: KafkaStreams;
  readonly url: string;
  readonly restored: () => number;
  close(): Promise<void>;
}

export async function startQuerySide(
  teardown: Teardown,
  options: {
    applicationId: string;
    topic: string;
    stateDir: string;
    projection?: { postgres: Pool; table: string };
  },
): Promise<QueryInstance> {
  const port = await freePort();
  const view = catalogueView({
    topic: options.topic,
    ...(options.projection ? { projection: options.projection } : {}),
  });
  const app = new KafkaStreams(view.topology, {
    applicationId: options.applicationId,
    bootstrapServers: bootstrapServers(),
    stateDir: options.stateDir,
    processingGuarantee: 'exactly_once_v2',
    applicationServer: `127.0.0.1:${port}`,
    commitIntervalMs: 100,
    client: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 },
  });
  let restored = 0;
  app.setRestoreListener({
    onRestoreEnd: (p) => {
      restored += p.restored;
    },
  });
  await app.start();
  const server = await startQueryServer(app);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await server.close();
    await app.close();
  };
  teardown.push(close);
  return { app, url: server.url, restored: () => restored, close };
}

export async function startCommands(teardown: Teardown, topic: string, viewUrl: string): Promise<CommandApi> {
  const api = await startCommandApi({
    bootstrapServers: bootstrapServers(),
    topic,
    view: new CatalogueViewClient({ url: viewUrl }),
  });
  teardown.push(() => api.close());
  return api;
}

export async function command(
  api: CommandApi,
  route: CommandRoute | string,
  body: unknown,
): Promise<{ status: number; answer: CommandAnswer }> {
  const res = await fetch(`${api.url}/commands/${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, answer: (await res.json()) as CommandAnswer };
}

export async function read(
  url: string,
  path: string,
): Promise<{ status: number; body: unknown; servedBy: string | null }> {
  const res = await fetch(`${url}${path}`);
  return {
    status: res.status,
    body: await res.json(),
    servedBy: res.headers.get('x-kafka-pattern-served-by'),
  };
}

/** The events topic as written, in log order per partition. */
export async function eventLog(
  topic: string,
): Promise<Array<{ partition: number; offset: number; event: CatalogueEvent }>> {
  const records = await collect(topic, { isolationLevel: 'read_uncommitted' });
  return records.map((r) => ({
    partition: r.partition,
    offset: Number(r.offset),
    event: JSON.parse(r.value!.toString()) as CatalogueEvent,
  }));
}

export type { Product };
