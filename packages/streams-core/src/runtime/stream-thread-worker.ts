/**
 * The entry point of a worker thread that runs one stream thread of an instance with
 * `numStreamThreads > 1`. It builds the topology from the topology module, checks it against the
 * main thread's, and runs a StreamThread with its own consumer, producer and admin client, its
 * own view of the state directory (task locks name the thread), and its own metrics. It tells the
 * main thread its state, its tasks, its metrics and its log lines over the port, and ends when
 * asked to stop or when its thread fails; what happens then is the main thread's decision (the
 * uncaught exception handler runs there).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { resolveErrorHandling, type StreamsConfig } from '../config/streams-config.ts';
import type { Logger } from '../observability/logger.ts';
import { topologyGraph } from '../topology/topology-graph.ts';
import { defaultClientFactory } from './client-factory.ts';
import { openStateDirectory } from './process-id.ts';
import { StreamThread } from './stream-thread.ts';
import {
  type FromWorker,
  type StreamThreadWorkerData,
  type ThreadError,
  type ToWorker,
  threadError,
} from './thread-messages.ts';
import { ThreadMetrics } from './thread-metrics.ts';
import { checkSameTopology, loadTopology } from './topology-module.ts';

/** How often the worker reports its metrics and tasks between state changes. */
const REPORT_INTERVAL_MS = 500;

const port = parentPort;
if (!port) throw new Error('stream-thread-worker.ts runs in a worker thread that KafkaStreams starts');
const data = workerData as StreamThreadWorkerData;

function post(message: FromWorker): void {
  port!.postMessage(message);
}

/** Log lines go to the main thread's logger. */
function forwardingLogger(): Logger {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (obj: Record<string, unknown>, msg: string): void => {
      const fields = { ...obj, thread: `StreamThread-${data.threadNumber}` };
      try {
        post({ type: 'log', level, obj: fields, msg });
      } catch {
        post({ type: 'log', level, obj: { thread: fields.thread }, msg });
      }
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

let stopRequested = false;
let held = data.held;
let running: StreamThread | undefined;
port.on('message', (message: ToWorker) => {
  if (message.type === 'release') {
    held = false;
    return;
  }
  stopRequested = true;
  running?.stop();
});

async function main(): Promise<ThreadError | undefined> {
  const logger = forwardingLogger();
  const config: StreamsConfig = { ...data.config, logger };
  let topology: Awaited<ReturnType<typeof loadTopology>>;
  try {
    topology = await loadTopology(data.topologyModule, data.topologyArgs);
    checkSameTopology(data.topologyModule, topology, data.description);
  } catch (error) {
    return threadError(error);
  }
  post({ type: 'ready' });
  const graph = topologyGraph(topology);
  const errors = resolveErrorHandling(config);
  const clients = defaultClientFactory(data.config);
  const admin = clients.admin();
  let directory: ReturnType<typeof openStateDirectory>['directory'];
  try {
    ({ directory } = openStateDirectory(config.stateDir, config.applicationId));
  } catch (error) {
    await admin.close().catch(() => {});
    return threadError(error);
  }
  const metrics = new ThreadMetrics();
  let fatal: unknown;
  let thread: StreamThread | undefined;
  const tasks = (): string[] => (thread?.activeTasks() ?? []).map((t) => t.id).sort();
  thread = new StreamThread({
    config,
    topology: graph,
    plan: data.plan,
    stateDirectory: directory,
    clients,
    admin,
    errors,
    state: { transition: (state) => post({ type: 'state', state, tasks: tasks() }) },
    metrics,
    logger,
    clientId: data.clientId,
    transactionalId: data.transactionalId,
    globals: undefined,
    userData: Buffer.from(data.userData),
    // Standby replicas are refused with several threads: no placement is asked for.
    members: async () => [],
    // The main thread applies the application's handler once this worker has ended.
    uncaughtExceptionHandler: () => () => 'SHUTDOWN_CLIENT',
    onRestore: (progress) => post({ type: 'restored', progress }),
    onFatal: (error) => {
      fatal = error;
    },
    holdProcessing: () => held,
  });
  const report = (): void =>
    post({
      type: 'metrics',
      metrics: metrics.snapshot(config.applicationId, '', thread?.activeTasks() ?? []),
      tasks: tasks(),
    });
  running = thread;
  if (stopRequested) thread.stop();
  const timer = setInterval(report, REPORT_INTERVAL_MS);
  try {
    await thread.run();
  } finally {
    clearInterval(timer);
    report();
    errors.deadLetterLog.close();
    await admin.close().catch(() => {});
    directory.close();
  }
  return fatal === undefined ? undefined : threadError(fatal);
}

main().then(
  (error) => {
    post({ type: 'ended', error });
    // Nothing else keeps the worker: it exits once the port lets go.
    port.unref();
  },
  (error: unknown) => {
    post({ type: 'ended', error: threadError(error) });
    port.unref();
  },
);
