/**
 * What an instance with `numStreamThreads > 1` can hand to its worker threads, checked when
 * KafkaStreams is constructed. A worker receives a copy of plain data only: the topology is built
 * again from the topology module, the logger is forwarded (workers log through the main thread's
 * logger), and anything else that is a function or an object with behaviour (serdes in the
 * config, custom exception handlers, a dead-letter topic function, an OAuth token function, a
 * clientFactory) is refused with an error saying what to use instead.
 */
import type { StreamsConfig } from '../config/streams-config.ts';
import { ConfigException } from '../config/streams-config.ts';
import type { TopologyGraph } from '../topology/topology-graph.ts';
import { topologyModuleHref } from './topology-module.ts';

/** The plain-data part of the configuration, as a worker receives it. */
export type WorkerStreamsConfig = Omit<StreamsConfig, 'logger'>;

export interface WorkerThreadsSetup {
  readonly threads: number;
  readonly topologyModule: string;
  readonly topologyArgs: readonly unknown[];
  readonly config: WorkerStreamsConfig;
}

const FIXES: Readonly<Record<string, string>> = {
  defaultKeySerde: 'give the serdes on the topology (the topology module builds them in each worker)',
  defaultValueSerde: 'give the serdes on the topology (the topology module builds them in each worker)',
  defaultTimestampExtractor: 'give the timestamp extractor on the sources of the topology',
  deserializationExceptionHandler: "use 'dead-letter', 'log-and-continue' or 'log-and-fail'",
  processingExceptionHandler: "use 'dead-letter', 'log-and-continue' or 'log-and-fail'",
  productionExceptionHandler: "use 'fail' or 'continue'",
  'deadLetter.topic': 'keep the default dead-letter topics (<topic>-dlt)',
  'client.sasl.token': 'give the token as a string',
};

/**
 * Checks that an instance can run `numStreamThreads` threads in workers; undefined for one
 * thread. Throws a ConfigException naming what to pass or change.
 */
export function workerThreadsSetup(
  config: StreamsConfig,
  topology: TopologyGraph,
  options: { topologyModule?: URL | string; topologyArgs?: readonly unknown[]; clientFactory?: unknown },
): WorkerThreadsSetup | undefined {
  const threads = config.numStreamThreads ?? 1;
  if (threads === 1) return undefined;
  const why = `numStreamThreads ${threads} runs stream threads 2..${threads} in worker threads`;
  if (options.topologyModule === undefined)
    throw new ConfigException(
      `${why}, which cannot receive the topology (it holds functions) and build it themselves: pass KafkaStreamsOptions.topologyModule, the URL or path of a module whose default export returns this topology, e.g. new KafkaStreams(topology, config, { topologyModule: new URL('./topology.ts', import.meta.url) })`,
    );
  const topologyModule = topologyModuleHref(options.topologyModule);
  if (options.clientFactory !== undefined)
    throw new ConfigException(
      `${why}, which cannot receive a clientFactory (it holds functions): use numStreamThreads 1 with a custom client`,
    );
  if (topology.globalStores().length > 0)
    throw new ConfigException(
      `${why}, and global stores are not supported with more than one stream thread yet: use numStreamThreads 1, or run more instances`,
    );
  if ((config.numStandbyReplicas ?? 0) > 0)
    throw new ConfigException(
      `${why}, and standby replicas are not supported with more than one stream thread yet: use numStandbyReplicas 0 or numStreamThreads 1`,
    );
  const { logger: _forwarded, ...rest } = config;
  for (const [name, value] of Object.entries(rest)) {
    const problem = notPlainData(value, name);
    if (problem)
      throw new ConfigException(
        `${why}, which cannot receive config.${problem.path} (${problem.kind}): ${fixFor(problem.path)}, or use numStreamThreads 1`,
      );
  }
  const topologyArgs = options.topologyArgs ?? [];
  const argsProblem = notPlainData(topologyArgs, 'topologyArgs');
  if (argsProblem)
    throw new ConfigException(
      `${why}, which cannot receive ${argsProblem.path} (${argsProblem.kind}): topologyArgs are copied into each worker, so give plain data (strings, numbers, arrays, plain objects)`,
    );
  return { threads, topologyModule, topologyArgs, config: rest };
}

function fixFor(path: string): string {
  const found = Object.entries(FIXES).find(([k]) => path === k || path.startsWith(`${k}.`));
  return found?.[1] ?? 'give plain data';
}

/** The first value under `value` that a structured clone would lose or refuse. */
function notPlainData(value: unknown, path: string): { path: string; kind: string } | undefined {
  if (value === null || value === undefined) return undefined;
  const type = typeof value;
  if (type === 'function') return { path, kind: 'a function' };
  if (type === 'symbol') return { path, kind: 'a symbol' };
  if (type !== 'object') return undefined;
  if (ArrayBuffer.isView(value)) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = notPlainData(value[i], `${path}[${i}]`);
      if (p) return p;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null)
    return { path, kind: `an instance of ${proto?.constructor?.name ?? 'a class'}` };
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const p = notPlainData(v, `${path}.${k}`);
    if (p) return p;
  }
  return undefined;
}
