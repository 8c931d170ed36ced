/**
 * `kafka-pattern describe <module>`: loads a module (a file path, or a pattern name such as
 * `windowing`) and finds the topologies it exports: a `Topology`, an object holding topologies
 * (`orderSaga()` returns three), or a function building either.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Topology } from '@kafka-pattern/streams-core';

/**
 * The patterns whose builders need options: the arguments `describe <pattern>` builds them with
 * (the topic names are examples; the shape of the topology does not depend on them).
 */
export const PATTERN_EXAMPLES: Readonly<Record<string, Readonly<Record<string, unknown[]>>>> = {
  windowing: { sensorAverages: [{ readings: 'sensor-readings', averages: 'sensor-averages' }] },
  'dead-letter': { validatedOrders: [{ orders: 'orders', validOrders: 'valid-orders' }] },
  saga: { orderSaga: [] },
  'event-sourcing': { accountLedger: [] },
};

export interface NamedTopology {
  /** Where it came from: the export name, `export.property` for one held by an object. */
  readonly name: string;
  readonly topology: Topology;
}

export class DescribeError extends Error {
  override name = 'DescribeError';
}

/** The import specifier for a pattern name or a file path. */
export function moduleSpecifier(target: string): string {
  if (/^[a-z][a-z0-9-]*$/.test(target) && !existsSync(target)) return `@kafka-pattern/topologies/${target}`;
  const path = resolve(target);
  if (!existsSync(path)) {
    throw new DescribeError(
      `no module at ${path}: pass a file that exports a topology, or a pattern name (${Object.keys(PATTERN_EXAMPLES).join(', ')})`,
    );
  }
  return pathToFileURL(path).href;
}

function collect(name: string, value: unknown, into: NamedTopology[]): void {
  if (value instanceof Topology) {
    into.push({ name, topology: value });
    return;
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) {
      if (inner instanceof Topology) into.push({ name: `${name}.${key}`, topology: inner });
    }
  }
}

/** The topologies a loaded module exports, in export-name order. */
export function topologiesOf(
  exports: Record<string, unknown>,
  examples: Readonly<Record<string, unknown[]>> = {},
): NamedTopology[] {
  const found: NamedTopology[] = [];
  for (const name of Object.keys(exports).sort()) {
    const value = exports[name];
    if (typeof value === 'function' && !/^class[\s{]/.test(Function.prototype.toString.call(value))) {
      const args = examples[name];
      if (args === undefined && value.length > 0) continue;
      let built: unknown;
      try {
        built = (value as (...a: unknown[]) => unknown)(...(args ?? []));
      } catch {
        continue;
      }
      collect(name === 'default' ? 'default' : `${name}()`, built, found);
    } else {
      collect(name, value, found);
    }
  }
  return found;
}

export async function loadTopologies(target: string): Promise<NamedTopology[]> {
  const specifier = moduleSpecifier(target);
  let exports: Record<string, unknown>;
  try {
    exports = (await import(specifier)) as Record<string, unknown>;
  } catch (err) {
    throw new DescribeError(
      `could not import ${target} (${specifier}): ${(err as Error).message}. Pass a .ts/.js file path or a pattern name (${Object.keys(PATTERN_EXAMPLES).join(', ')})`,
    );
  }
  const found = topologiesOf(exports, PATTERN_EXAMPLES[target] ?? {});
  if (found.length === 0) {
    throw new DescribeError(
      `${target} exports no topology: export a Topology (e.g. \`export const topology = builder.build()\`), an object holding some, or a function of no arguments returning one`,
    );
  }
  return found;
}

/** The text (Kafka Streams' shape) or Mermaid description of each topology, headed by its name when several. */
export function renderDescriptions(topologies: readonly NamedTopology[], format: 'text' | 'mermaid'): string {
  return topologies
    .map(({ name, topology }) => {
      const description = topology.describe();
      const body = format === 'mermaid' ? description.toMermaid() : description.toString();
      if (topologies.length === 1) return body;
      return format === 'mermaid' ? `%% ${name}\n${body}` : `# ${name}\n${body}`;
    })
    .join('\n');
}

/**
 * The user input topics of topologies: their source topics, less the internal repartition topics
 * and the topics of global stores (read without the application's consumer group).
 */
export function inputTopicsOf(topologies: readonly NamedTopology[]): string[] {
  const topics = new Set<string>();
  for (const { topology } of topologies) {
    for (const s of topology.describe().subtopologies) {
      if (s.global) continue;
      for (const n of s.nodes) for (const t of n.topics ?? []) if (!t.endsWith('-repartition')) topics.add(t);
    }
  }
  return [...topics].sort();
}
