export type { Change } from './change.ts';
export { GlobalKTable } from './global-ktable.ts';
export { KGroupedStream } from './kgrouped-stream.ts';
export { KGroupedTable } from './kgrouped-table.ts';
export { type Branches, type BranchPredicates, KStream } from './kstream.ts';
export { KTable } from './ktable.ts';
export type {
  Consumed,
  ForeignKeyJoined,
  Grouped,
  Joined,
  Materialized,
  Named,
  Produced,
  Repartitioned,
  StreamConsumed,
  StreamJoined,
} from './options.ts';
export { SessionWindowedKStream } from './session-windowed-kstream.ts';
export { StreamsBuilder } from './streams-builder.ts';
export { TimeWindowedKStream } from './time-windowed-kstream.ts';
export * from './windows/index.ts';
