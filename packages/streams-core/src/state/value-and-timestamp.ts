import { readInt64, writeInt64 } from '../serdes/int64.ts';
import type { Serde } from '../serdes/serde.ts';

/** A stored value with the timestamp of the record that last updated it (KTables and aggregations). */
export interface ValueAndTimestamp<V> {
  readonly value: V;
  readonly timestamp: number;
}

/**
 * Kafka Streams' timestamped value layout: 8-byte big-endian timestamp, then the value's bytes.
 * Using it keeps our changelog topics readable by the same tools.
 */
export function valueAndTimestampSerde<V>(inner: Serde<V>): Serde<ValueAndTimestamp<V>> {
  return {
    name: `ValueAndTimestamp<${inner.name}>`,
    serialize(topic, data) {
      if (data === null || data === undefined) return null;
      const valueBytes = inner.serialize(topic, data.value);
      if (valueBytes === null) return null;
      const out = Buffer.allocUnsafe(8 + valueBytes.length);
      writeInt64(out, 0, data.timestamp);
      valueBytes.copy(out, 8);
      return out;
    },
    deserialize(topic, bytes) {
      if (bytes === null || bytes === undefined) return null;
      if (bytes.length < 8) {
        throw new Error(
          `A timestamped value in "${topic}" has ${bytes.length} bytes, fewer than its 8-byte timestamp: the store or changelog holds bytes of another format`,
        );
      }
      const timestamp = readInt64(bytes, 0);
      if (Number.isNaN(timestamp)) {
        throw new Error(
          `A timestamped value in "${topic}" has a timestamp outside JavaScript's safe integer range: the store or changelog holds bytes of another format`,
        );
      }
      const value = inner.deserialize(topic, bytes.subarray(8));
      return value === null ? null : { value, timestamp };
    },
  };
}
