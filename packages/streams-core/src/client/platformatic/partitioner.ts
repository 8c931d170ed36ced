/**
 * Which partition a produced record goes to.
 *
 * Keyed records: Java's default partitioner, `toPositive(murmur2(key)) % partitions`, so Java
 * producers, Kafka Streams and this framework agree on where a key lives. The client's
 * `compatibilityPartitioner` computes exactly `murmur2(key) & 0x7fffffff` (checked against vectors
 * from the Java client in the tests); its default partitioner does not (`>>> 0`).
 * Records without a key: round robin (the client's compatibility partitioner would send them all
 * to partition 0).
 * The adapter resolves partitions itself rather than handing a partitioner to the client, so it
 * knows each record's partition and can report per-record metadata.
 */
import { compatibilityPartitioner } from '@platformatic/kafka';

export class Partitioner {
  #next = 0;

  partition(key: Buffer | null, partitions: number): number {
    if (key === null) {
      const p = this.#next % partitions;
      this.#next = (this.#next + 1) % 0x7fffffff;
      return p;
    }
    return compatibilityPartitioner(undefined as never, key) % partitions;
  }
}

export function partitionForKey(key: Buffer, partitions: number): number {
  return compatibilityPartitioner(undefined as never, key) % partitions;
}
