import { murmur2, toPositive } from './murmur2.ts';

/**
 * The partition the Java producer's default partitioner picks for a serialized key:
 * `toPositive(murmur2(keyBytes)) % numPartitions`. Records keyed through this function land on
 * the same partition as the same key written by a Java producer or Kafka Streams application,
 * which is what keeps joins and KTables co-partitioned across languages.
 *
 * There is no partition for a null key: Java's producer spreads null-key records with its sticky
 * partitioner, and the runtime never routes a null-key record by key.
 */
export function partitionForKey(keyBytes: Uint8Array, numPartitions: number): number {
  if (!(numPartitions >= 1 && (numPartitions | 0) === numPartitions)) {
    throw new RangeError(`Number of partitions must be a positive integer, got ${numPartitions}`);
  }
  return toPositive(murmur2(keyBytes)) % numPartitions;
}
