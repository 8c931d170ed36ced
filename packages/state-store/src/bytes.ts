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
  const n = Math.min(a.length, b.length);
  // Buffer.compare (native memcmp) wins on long keys; short keys, the common case, are
  // cheaper to compare here than to pass to native code.
  if (n > 64) return Buffer.compare(a, b);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * The bytes as a latin1 string: one UTF-16 code unit per byte, so JavaScript string order
 * (code unit by code unit, shorter prefix first) is exactly compareBytes order. The in-memory
 * stores key their maps with it: string hashing and comparison are much faster than Buffer ones.
 */
export function bytesId(bytes: Buffer): string {
  return bytes.toString('latin1');
}

export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
