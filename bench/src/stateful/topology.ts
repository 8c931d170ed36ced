/** The stateful count on the framework, shared by the count scenario and the restoration scenario. */
import { Serdes, StreamsBuilder, type Topology } from '@kafka-pattern/streams-core';

/** Names the store, and so its changelog `<applicationId>-counts-changelog`. */
export const COUNT_STORE = 'counts';

export type StoreType = 'persistent' | 'in-memory';

export function countTopology(input: string, output: string, storeType: StoreType): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream(input, { key: Serdes.String(), value: Serdes.String() })
    .groupByKey()
    .count({ name: COUNT_STORE, storeType })
    .toStream()
    .to(output, { key: Serdes.String(), value: Serdes.Long() });
  return builder.build();
}

export function storeTypeOf(value: unknown): StoreType {
  if (value === 'persistent' || value === 'in-memory') return value;
  throw new Error(`storeType must be 'persistent' or 'in-memory', got ${String(value)}`);
}

/** As a topology module: what the worker threads of a multi-threaded run build. */
export default countTopology;
