export { StreamsBuilder } from './streams-builder.ts';
export { KStream, type BranchPredicates, type Branches } from './kstream.ts';
export { KTable } from './ktable.ts';
export { KGroupedStream } from './kgrouped-stream.ts';
export { KGroupedTable } from './kgrouped-table.ts';
export type { Change } from './change.ts';
export type { Consumed, Produced, Grouped, Materialized, Named, Repartitioned, Joined, StreamJoined } from './options.ts';
export * from './windows/index.ts';
