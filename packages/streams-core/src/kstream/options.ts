import type { AsyncSerde } from '../serdes/async-serde.ts';
import type { Serde } from '../serdes/serde.ts';
import type { StreamPartitioner, TimestampExtractor } from '../topology/extractors.ts';

/** How a source topic is read. */
export interface Consumed<K, V> {
  key?: Serde<K>;
  value?: Serde<V>;
  timestampExtractor?: TimestampExtractor;
  /** Source node name; generated when absent. */
  name?: string;
}

/**
 * How a stream reads its topics. The value serde may be asynchronous (a claim check): values are
 * then decoded before each batch is processed, and the stream passes no value serde on to later
 * operators (give `to`, a grouping or a store their own).
 */
export interface StreamConsumed<K, V> extends Omit<Consumed<K, V>, 'value'> {
  value?: Serde<V> | AsyncSerde<V>;
}

/** How records are written to a topic. The value serde may be asynchronous (encoded before producing). */
export interface Produced<K, V> {
  key?: Serde<K>;
  value?: Serde<V> | AsyncSerde<V>;
  partitioner?: StreamPartitioner<K, V>;
  name?: string;
}

/** Serdes and name for a grouping, used for its repartition topic when one is needed. */
export interface Grouped<K, V> {
  key?: Serde<K>;
  value?: Serde<V>;
  /** Names the repartition topic `<applicationId>-<name>-repartition`. */
  name?: string;
}

/** How a table or aggregation result is stored. */
export interface Materialized<K, V> {
  /** Store name: queryable, and names its changelog `<applicationId>-<name>-changelog`. */
  name?: string;
  key?: Serde<K>;
  value?: Serde<V>;
  /** SQLite (default, survives restarts without a full restore) or memory. */
  storeType?: 'persistent' | 'in-memory';
  /** false disables the changelog; an object sets its topic configs. */
  logging?: boolean | Record<string, string>;
  caching?: boolean;
  /** Window and session stores: how long windows are kept (default, as Kafka Streams 4.x: window size + grace; sliding: 2 x time difference + grace; session: gap + grace). */
  retentionMs?: number;
}

export interface Named {
  name?: string;
}

/** An explicit repartition: topic name, partition count and serdes. */
export interface Repartitioned<K, V> {
  name?: string;
  numberOfPartitions?: number;
  key?: Serde<K>;
  value?: Serde<V>;
  partitioner?: StreamPartitioner<K, V>;
}

/** Serdes for a stream-stream join's two sides and its stores. */
export interface StreamJoined<K, V, VO> {
  key?: Serde<K>;
  value?: Serde<V>;
  otherValue?: Serde<VO>;
  name?: string;
  storeName?: string;
}

/** Serdes for a stream-table join when the stream needs repartitioning first. */
export interface Joined<K, V, VO> {
  key?: Serde<K>;
  value?: Serde<V>;
  otherValue?: Serde<VO>;
  name?: string;
}

/**
 * Options of a foreign-key table join. The serdes default to the tables' own; a derived table
 * that does not carry its serdes needs them here, because subscriptions and responses cross
 * internal topics.
 */
export interface ForeignKeyJoined<K, V, KO, VO, VR> {
  /** Names the join's nodes, its subscription store and its topics `<applicationId>-<name>-subscription-registration-topic` / `-subscription-response-topic`. */
  name?: string;
  /** The result table's store; its value serde is needed unless a default value serde is configured. */
  materialized?: Materialized<K, VR>;
  /**
   * Serde of the foreign key; default: the other table's key serde. It must write a foreign key
   * as the other table's topic writes its keys, so that a subscription lands on that row's partition.
   */
  subscriptionKey?: Serde<KO>;
  /** This table's key serde, when the table does not carry one. */
  key?: Serde<K>;
  /** This table's value serde, when the table does not carry one (responses are checked against a hash of the value). */
  value?: Serde<V>;
  /** The other table's value serde, when that table does not carry one. */
  otherValue?: Serde<VO>;
}

/** An asynchronous step (`mapValuesAsync`, `foreachAsync`). */
export interface AsyncOptions {
  /** Most calls in flight at once per task, each for a different key; default 16. */
  concurrency?: number;
  /**
   * A call not settled by then fails (to the processing exception handler); default 5000 ms.
   * Under exactly_once_v2 it must be below the producer's transaction timeout.
   */
  timeoutMs?: number;
  /** Names the step's node. */
  name?: string;
}
