/**
 * Demo: a product catalogue split into a command side and a query side. Commands go over HTTP
 * to the command API, which validates them against the view and writes the accepted ones as
 * events; two query-side instances fold the events into a KTable view, each answering every SKU
 * over HTTP (forwarding those the other holds) and projecting the view into PostgreSQL. Then the
 * query side is restarted with its state directories wiped, and answers the same.
 *
 * The demo prints a timeline: each command, its answer (the event and its position, or the
 * reason it was refused), and the view answering a read bounded by that position.
 *
 * Run: `pnpm demo cqrs` (it starts the local stack when needed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaStreams, startQueryServer } from '@kafka-pattern/streams-core';
import { createPlatformaticClientFactory } from '@kafka-pattern/streams-core/client';
import pg from 'pg';
import { localStack } from '../src/support/local-stack.ts';
import type { CatalogueCommand, Product } from './catalogue.ts';
import { type CommandAccepted, type CommandAnswer, type CommandApi, startCommandApi } from './command-api.ts';
import { createProductsTable, readProductsTable } from './projection.ts';
import { catalogueView } from './view.ts';
import { CatalogueViewClient } from './view-client.ts';

const { bootstrapServers, databaseUrl } = localStack();
const run = Date.now().toString(36);
const topic = `catalogue-events-${run}`;
const applicationId = `catalogue-view-${run}`;
const table = `demo_catalogue_${run}`;
const clients = createPlatformaticClientFactory({ bootstrapServers, clientId: 'cqrs-demo' });
const admin = clients.admin();
const postgres = new pg.Pool({ connectionString: databaseUrl });
const t0 = Date.now();
const clock = () => `+${String(Date.now() - t0).padStart(5)} ms`;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Instance {
  name: string;
  app: KafkaStreams;
  url: string;
  stateDir: string;
  close(): Promise<void>;
}

async function startInstance(name: string): Promise<Instance> {
  const port = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), `cqrs-demo-${name}-`));
  const view = catalogueView({ topic, projection: { postgres, table } });
  const app = new KafkaStreams(view.topology, {
    applicationId,
    bootstrapServers,
    stateDir,
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
  await app.waitForRunning();
  console.log(
    `${clock()}  query side ${name} RUNNING at ${server.url}${restored ? ` (restored ${restored} records from the changelog)` : ''}`,
  );
  return {
    name,
    app,
    url: server.url,
    stateDir,
    close: async () => {
      await server.close();
      await app.close();
    },
  };
}

const ROUTES: Record<CatalogueCommand['type'], string> = {
  RegisterProduct: 'register-product',
  ChangePrice: 'change-price',
  AdjustStock: 'adjust-stock',
};

function describeProduct(p: Product): string {
  return `${p.sku} "${p.name}" ${(p.priceCents / 100).toFixed(2)} EUR, stock ${p.stock}, v${p.version}`;
}

/** Sends a command, prints its answer, and for an accepted one the view's answer bounded by its position. */
async function timeline(
  api: CommandApi,
  readers: Instance[],
  command: CatalogueCommand,
): Promise<CommandAnswer> {
  const { type, ...body } = command;
  const res = await fetch(`${api.url}/commands/${ROUTES[type]}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as CommandAnswer;
  console.log(`${clock()}  command  ${type} ${JSON.stringify(body)}`);
  if (!answer.accepted) {
    console.log(`${clock()}    ${res.status} rejected: ${answer.reason}`);
    return answer;
  }
  const { position } = answer;
  console.log(
    `${clock()}    ${res.status} event ${answer.type} v${answer.version} at ${position.topic}:${position.partition}:${position.offset}`,
  );
  for (const reader of readers) {
    const view = await fetch(`${reader.url}${answer.view}`);
    const product = (await view.json()) as Product;
    const servedBy = view.headers.get('x-kafka-pattern-served-by');
    console.log(
      `${clock()}    view via ${reader.name}${servedBy ? ` (forwarded to ${servedBy})` : ' (local)'}: ${describeProduct(product)}`,
    );
  }
  return answer;
}

const instances: Instance[] = [];
let api: CommandApi | undefined;
try {
  await admin.createTopics([{ name: topic, partitions: 4 }]);
  await createProductsTable(postgres, table);
  console.log(
    `Kafka at ${bootstrapServers.join(',')}, events topic ${topic} (4 partitions), projection table ${table}\n`,
  );
  instances.push(await startInstance('A'));
  api = await startCommandApi({
    bootstrapServers,
    topic,
    view: new CatalogueViewClient({ url: instances[0]!.url }),
  });
  console.log(`${clock()}  command API at ${api.url}\n`);

  console.log('-- commands, one instance');
  await timeline(api, instances, { type: 'RegisterProduct', sku: 'mug', name: 'Mug', priceCents: 1_200 });
  await timeline(api, instances, { type: 'AdjustStock', sku: 'mug', delta: 40 });
  await timeline(api, instances, {
    type: 'RegisterProduct',
    sku: 'mug',
    name: 'Another mug',
    priceCents: 900,
  });
  await timeline(api, instances, { type: 'ChangePrice', sku: 'teapot', priceCents: 3_000 });
  await timeline(api, instances, { type: 'RegisterProduct', sku: 'teapot', name: 'Teapot', priceCents: -3 });

  console.log('\n-- a second query-side instance joins; each answers every SKU');
  instances.push(await startInstance('B'));
  const deadline = Date.now() + 60_000;
  while (instances.some((i) => i.app.state !== 'RUNNING' || i.app.activeTaskIds().length !== 2)) {
    if (Date.now() > deadline) throw new Error('the two instances did not share the four tasks within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const i of instances)
    console.log(`${clock()}  ${i.name} runs tasks ${i.app.activeTaskIds().join(', ')}`);
  const products: CatalogueCommand[] = [
    { type: 'RegisterProduct', sku: 'teapot', name: 'Teapot', priceCents: 3_000 },
    { type: 'RegisterProduct', sku: 'kettle', name: 'Kettle', priceCents: 4_500 },
    { type: 'RegisterProduct', sku: 'spoon', name: 'Spoon', priceCents: 250 },
    { type: 'AdjustStock', sku: 'teapot', delta: 5 },
    { type: 'AdjustStock', sku: 'kettle', delta: 12 },
    { type: 'AdjustStock', sku: 'spoon', delta: 100 },
    { type: 'AdjustStock', sku: 'mug', delta: -15 },
    { type: 'AdjustStock', sku: 'teapot', delta: -6 },
    { type: 'ChangePrice', sku: 'kettle', priceCents: 3_990 },
  ];
  for (const c of products) await timeline(api, instances, c);

  console.log('\n-- the PostgreSQL projection, for SQL readers');
  let rows = await readProductsTable(postgres, table);
  for (let i = 0; i < 100 && [...rows.values()].reduce((n, r) => n + r.version, 0) < 11; i++) {
    await new Promise((r) => setTimeout(r, 100));
    rows = await readProductsTable(postgres, table);
  }
  for (const r of rows.values())
    console.log(
      `   ${r.sku.padEnd(7)} ${r.name.padEnd(7)} ${String(r.priceCents).padStart(5)} cents  stock ${String(r.stock).padStart(3)}  v${r.version}`,
    );

  console.log('\n-- the query side restarted with its state directories wiped');
  const before = new Map<string, unknown>();
  for (const sku of ['mug', 'teapot', 'kettle', 'spoon'])
    before.set(sku, await (await fetch(`${instances[0]!.url}/stores/catalogue-products/keys/${sku}`)).json());
  await api.close();
  for (const i of instances.splice(0)) {
    await i.close();
    rmSync(i.stateDir, { recursive: true, force: true });
  }
  console.log(`${clock()}  both instances stopped, their state directories deleted`);
  instances.push(await startInstance('A2'));
  let same = true;
  for (const [sku, answer] of before) {
    const now = await (await fetch(`${instances[0]!.url}/stores/catalogue-products/keys/${sku}`)).json();
    const equal = JSON.stringify(now) === JSON.stringify(answer);
    same &&= equal;
    console.log(
      `${clock()}    ${describeProduct(now as Product)}  ${equal ? 'unchanged' : `CHANGED from ${JSON.stringify(answer)}`}`,
    );
  }
  api = await startCommandApi({
    bootstrapServers,
    topic,
    view: new CatalogueViewClient({ url: instances[0]!.url }),
  });
  const after = (await timeline(api, instances, {
    type: 'AdjustStock',
    sku: 'spoon',
    delta: -100,
  })) as CommandAccepted;
  console.log(
    `\n${same && after.accepted ? 'the restored view answered as before and took the next command' : 'the restored view differs'}`,
  );
  process.exitCode = same && after.accepted ? 0 : 1;
} finally {
  await api?.close();
  for (const i of instances) {
    await i.close();
    rmSync(i.stateDir, { recursive: true, force: true });
  }
  await admin.deleteTopics([topic, `${applicationId}-catalogue-products-changelog`]).catch(() => {});
  await admin.close();
  await postgres.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
  await postgres.end();
}
