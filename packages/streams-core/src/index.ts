/**
 * @kafka-pattern/streams-core: the public API. What is not exported here (or from
 * `@kafka-pattern/streams-core/testing`) is internal and free to change.
 */
export * from './kstream/index.ts';
export * from './processor/api/index.ts';
export * from './serdes/index.ts';
export { murmur2, toPositive, partitionForKey } from './partitioning/index.ts';
export { Topology } from './topology/topology.ts';
export type { TopologyDescription, SubtopologyDescription, NodeDescription } from './topology/describe.ts';
export { TopologyException } from './topology/topology-errors.ts';
export {
  recordTimestampExtractor,
  wallclockTimestampExtractor,
  type TimestampExtractor,
  type TopicNameExtractor,
  type StreamPartitioner,
  type ConsumedRecordView,
} from './topology/extractors.ts';
export { Stores, type KeyValueBytesStoreSupplier, type KeyValueStoreBuilder, type TimestampedKeyValueStoreBuilder } from './state/stores.ts';
export type { KeyValueStore, ReadOnlyKeyValueStore } from './state/key-value-store.ts';
export type {
  ReadOnlyWindowStore,
  WindowStore,
  TimestampedWindowStore,
  WindowedValue,
  WindowBytesStoreSupplier,
  WindowStoreBuilder,
  TimestampedWindowStoreBuilder,
} from './state/window-store.ts';
export type { ReadOnlySessionStore, SessionStore, SessionBytesStoreSupplier, SessionStoreBuilder } from './state/session-store.ts';
export type { ValueAndTimestamp } from './state/value-and-timestamp.ts';
export type { StoreBuilder } from './state/store-builder.ts';
export {
  ConfigException,
  type StreamsConfig,
  type ProcessingGuarantee,
  type HandlerChoice,
} from './config/streams-config.ts';
export {
  StreamsException,
  type ErrorContext,
  type ErrorResponse,
  type ExceptionHandler,
} from './errors/exception-handlers.ts';
export { SpringDltHeaders, Kip1034Headers, type DeadLetterConfig, type DeadLetterHeaderConvention } from './errors/dead-letter.ts';
export {
  KafkaStreams,
  type StreamsState,
  type StateListener,
  type UncaughtExceptionHandler,
  type UncaughtExceptionResponse,
  type RestoreListener,
  type KafkaStreamsOptions,
} from './runtime/kafka-streams.ts';
export type { StreamsMetrics, TaskMetricsSnapshot } from './runtime/metrics.ts';
export type { RestoreProgress } from './runtime/task-manager.ts';
export {
  InvalidStateStoreException,
  UnknownStateStoreException,
  type HostInfo,
  type KeyQueryMetadata,
  type StreamsMetadata,
  type QueryableStoreType,
  type QueryableStoreTypes,
  type QueryableStoreInfo,
} from './runtime/interactive-queries.ts';
export { startQueryServer, type QueryServer, type QueryServerOptions } from './query/http-server.ts';
export type { KeyParser } from './query/http-codec.ts';
