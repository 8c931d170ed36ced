/**
 * @kafka-pattern/streams-core: the public API. What is not exported here (or from
 * `@kafka-pattern/streams-core/testing`) is internal and free to change.
 */

export type {
  PemInput,
  SaslOAuthBearerSettings,
  SaslPasswordMechanism,
  SaslPasswordSettings,
  SaslSettings,
  TlsOptions,
  TlsSettings,
} from './client/security.ts';
export {
  type ClientSettings,
  ConfigException,
  type HandlerChoice,
  type ProcessingGuarantee,
  type StreamsConfig,
} from './config/streams-config.ts';
export {
  type DeadLetterConfig,
  type DeadLetterHeaderConvention,
  Kip1034Headers,
  SpringDltHeaders,
} from './errors/dead-letter.ts';
export {
  type ErrorContext,
  type ErrorResponse,
  type ExceptionHandler,
  StreamsException,
} from './errors/exception-handlers.ts';
export * from './kstream/index.ts';
export * from './observability/index.ts';
export { murmur2, partitionForKey, toPositive } from './partitioning/index.ts';
export * from './processor/api/index.ts';
export type { KeyParser } from './query/http-codec.ts';
export {
  type MetricsRegistry,
  type QueryServer,
  type QueryServerOptions,
  startQueryServer,
} from './query/http-server.ts';
export type { KeyQueryMetadata, StreamsMetadata } from './query/metadata.ts';
export {
  formatRecordPosition,
  parseRecordPosition,
  type RecordPosition,
} from './query/positions.ts';
export {
  InvalidStateStoreException,
  type QueryableStoreInfo,
  type QueryableStoreType,
  type QueryableStoreTypes,
  UnknownStateStoreException,
} from './query/store-views.ts';
export type { HostInfo } from './query/subscription-info.ts';
export {
  KafkaStreams,
  type KafkaStreamsOptions,
  type RestoreListener,
  type StateListener,
  type StreamsState,
  type UncaughtExceptionHandler,
  type UncaughtExceptionResponse,
} from './runtime/kafka-streams.ts';
export type { StreamsMetrics, TaskMetricsSnapshot } from './runtime/metrics.ts';
export type { TaskId } from './runtime/task-id.ts';
export type { RestoreProgress } from './runtime/task-manager.ts';
export type { TopologyFactory } from './runtime/topology-module.ts';
export * from './serdes/index.ts';
export type { KeyValueStore, ReadOnlyKeyValueStore } from './state/key-value-store.ts';
export type {
  ReadOnlySessionStore,
  SessionBytesStoreSupplier,
  SessionStore,
  SessionStoreBuilder,
} from './state/session-store.ts';
export type { StoreBuilder } from './state/store-builder.ts';
export {
  type KeyValueBytesStoreSupplier,
  type KeyValueStoreBuilder,
  Stores,
  type TimestampedKeyValueStoreBuilder,
} from './state/stores.ts';
export type { ValueAndTimestamp } from './state/value-and-timestamp.ts';
export type {
  ReadOnlyWindowStore,
  TimestampedWindowStore,
  TimestampedWindowStoreBuilder,
  WindowBytesStoreSupplier,
  WindowedValue,
  WindowStore,
  WindowStoreBuilder,
} from './state/window-store.ts';
export type { NodeDescription, SubtopologyDescription, TopologyDescription } from './topology/describe.ts';
export {
  type ConsumedRecordView,
  recordTimestampExtractor,
  type StreamPartitioner,
  type TimestampExtractor,
  type TopicNameExtractor,
  wallclockTimestampExtractor,
} from './topology/extractors.ts';
export { type TopicDeclaration, Topology } from './topology/topology.ts';
export { TopologyException } from './topology/topology-errors.ts';
