/**
 * The wire form of a table update that crosses a repartition topic (KTable.groupBy into a table
 * aggregation). When an update stays in its group, its old and new value travel as one record so
 * that the aggregate changes once, not once for the subtraction and again for the addition.
 */
import type { Serde } from '../../serdes/serde.ts';
import type { Change } from '../change.ts';

/**
 * Carries a table update (new and old value) through a repartition topic, so the aggregating
 * side can subtract and add in one step. Layout: 1 flag byte (bit 0: new present, bit 1: old
 * present), 4-byte big-endian length of the new value, the new value, then the old value.
 */
export function changeSerde<V>(inner: Serde<V>): Serde<Change<V>> {
  return {
    name: `Change<${inner.name}>`,
    serialize(topic, data) {
      if (data === null || data === undefined) return null;
      const n = data.newValue === null ? null : inner.serialize(topic, data.newValue);
      const o = data.oldValue === null ? null : inner.serialize(topic, data.oldValue);
      const out = Buffer.allocUnsafe(5 + (n?.length ?? 0) + (o?.length ?? 0));
      out.writeUInt8((n ? 1 : 0) | (o ? 2 : 0), 0);
      out.writeUInt32BE(n?.length ?? 0, 1);
      if (n) n.copy(out, 5);
      if (o) o.copy(out, 5 + (n?.length ?? 0));
      return out;
    },
    deserialize(topic, bytes) {
      if (bytes === null || bytes === undefined) return null;
      if (bytes.length < 5)
        throw new Error(
          `A table update in "${topic}" has ${bytes.length} bytes, fewer than its 5-byte header`,
        );
      const flags = bytes.readUInt8(0);
      const newLength = bytes.readUInt32BE(1);
      const newValue = flags & 1 ? inner.deserialize(topic, bytes.subarray(5, 5 + newLength)) : null;
      const oldValue = flags & 2 ? inner.deserialize(topic, bytes.subarray(5 + newLength)) : null;
      return { newValue, oldValue };
    },
  };
}
