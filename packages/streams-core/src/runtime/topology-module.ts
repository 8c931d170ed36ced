/**
 * The topology module: how a worker thread gets the application's topology. A Topology holds the
 * user's functions, which cannot be sent to another thread, so each worker imports the module the
 * application names and builds the topology again; it then checks that what it built describes
 * the same graph as the topology the main thread runs.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigException } from '../config/streams-config.ts';
import { errorMessage, StreamsException } from '../errors/exception-handlers.ts';
import { Topology } from '../topology/topology.ts';

/**
 * What a topology module exports by default: a function that builds the application's topology,
 * given the `topologyArgs` of KafkaStreamsOptions (plain data, copied into each worker).
 *
 * ```ts
 * // word-count-topology.ts
 * export default function wordCount(input: string, output: string): Topology { ... }
 * ```
 */
export type TopologyFactory = (...args: any[]) => Topology | Promise<Topology>;

/** The module's address as a `file:` URL string: a URL, a `file:` URL string, or a path (relative to the working directory). */
export function topologyModuleHref(module: URL | string): string {
  if (module instanceof URL) return module.href;
  if (typeof module !== 'string' || module.trim() === '')
    throw new ConfigException(
      `topologyModule must be a URL or a path of a module, got ${typeof module === 'string' ? '""' : typeof module}: e.g. new URL('./topology.ts', import.meta.url)`,
    );
  if (/^[a-z][a-z0-9+.-]+:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)) return new URL(module).href;
  return pathToFileURL(isAbsolute(module) ? module : resolve(module)).href;
}

/** Imports the module and builds its topology; a StreamsException naming the module when it cannot. */
export async function loadTopology(href: string, args: readonly unknown[]): Promise<Topology> {
  let factory: unknown;
  try {
    factory = ((await import(href)) as { default?: unknown }).default;
  } catch (error) {
    throw new StreamsException(`topologyModule ${href} cannot be imported: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  if (typeof factory !== 'function')
    throw new StreamsException(
      `topologyModule ${href} has no default export function returning the Topology (its default export is ${factory === undefined ? 'missing' : typeof factory}): add export default function topology() { ... return builder.build(); }`,
    );
  const topology: unknown = await (factory as TopologyFactory)(...args);
  if (!(topology instanceof Topology))
    throw new StreamsException(
      `topologyModule ${href}: its default export returned ${topology === null ? 'null' : typeof topology}, not a Topology: return builder.build()`,
    );
  return topology;
}

/**
 * Throws unless `built` describes the same graph as the main thread's topology (its `describe()`
 * text): a worker running another graph would read and write other topics and stores.
 */
export function checkSameTopology(href: string, built: Topology, expected: string): void {
  const actual = built.describe().toString();
  if (actual === expected) return;
  const a = actual.split('\n');
  const e = expected.split('\n');
  let line = 0;
  while (line < a.length && line < e.length && a[line] === e[line]) line++;
  throw new StreamsException(
    `topologyModule ${href} builds another topology than the one given to KafkaStreams: line ${line + 1} of describe() is ${JSON.stringify(a[line]?.trim() ?? '(nothing)')} where the application's is ${JSON.stringify(e[line]?.trim() ?? '(nothing)')}. Build both from the module (and the same topologyArgs)`,
  );
}
