import type { ConsumedRecord } from '../client/port.ts';
import type { StreamRecord } from '../processor/api/record.ts';

/** A consumed record before deserialization, as timestamp extractors see it. */
export type ConsumedRecordView = ConsumedRecord;

/**
 * Chooses a record's event time. `partitionTime` is the largest timestamp seen so far on the
 * partition (-1 before the first), which extractors can fall back to for records without one.
 * A negative result drops the record, as in Kafka Streams.
 */
export type TimestampExtractor = (record: ConsumedRecordView, partitionTime: number) => number;

/** Chooses a sink topic per record. */
export type TopicNameExtractor<K, V> = (key: K, value: V, record: StreamRecord<K, V>) => string;

/** Chooses a partition per record; undefined falls back to the key's murmur2 partition. */
export type StreamPartitioner<K, V> = (
  topic: string,
  key: K,
  value: V,
  numPartitions: number,
) => number | undefined;

/** The record's own timestamp (producer or broker time). */
export const recordTimestampExtractor: TimestampExtractor = (record) => record.timestamp;

/** The wall clock at the moment of processing: processing-time semantics. */
export const wallclockTimestampExtractor: TimestampExtractor = () => Date.now();
