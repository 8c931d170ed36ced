// Byte-level primitives shared by every store: the key order (unsigned lexicographic, the order
// Kafka Streams' RocksDB stores use) and the entry shape iterators return.

export interface KeyValueBytes {
  key: Buffer;
  value: Buffer;
}

/**
 * Unsigned lexicographic comparison; a proper prefix sorts before the longer key.
 * Returns a negative number, zero or a positive number.
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  // Buffer.compare is native memcmp and already has exactly these semantics.
  return Buffer.compare(a, b);
}

/**
 * The smallest key greater than every key that starts with `prefix`, or null when no such key
 * exists (empty prefix or all bytes 0xff): the exclusive upper bound of a prefix scan.
 */
export function prefixUpperBound(prefix: Uint8Array): Buffer | null {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const byte = prefix[i] as number;
    if (byte !== 0xff) {
      const bound = Buffer.allocUnsafe(i + 1);
      bound.set(prefix.subarray(0, i));
      bound[i] = byte + 1;
      return bound;
    }
  }
  return null;
}
