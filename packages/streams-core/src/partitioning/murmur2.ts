const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * 32-bit murmur2 exactly as Kafka's `Utils.murmur2`, the hash the Java producer uses to pick a
 * key's partition. Returns a signed 32-bit integer, as Java's int.
 *
 * Kafka's variant differs from the reference murmur2 only in its fixed seed and in reading
 * blocks little-endian regardless of platform; any other murmur2 port gives other partitions.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const blocksEnd = length & ~3;

  for (let i = 0; i < blocksEnd; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }

  // Bytes are unsigned here: Java masks each with 0xff, which Uint8Array gives for free.
  const tail = length & 3;
  if (tail !== 0) {
    if (tail === 3) h ^= data[blocksEnd + 2]! << 16;
    if (tail >= 2) h ^= data[blocksEnd + 1]! << 8;
    h ^= data[blocksEnd]!;
    h = Math.imul(h, M);
  }

  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * Kafka's `Utils.toPositive`: clears the sign bit. Not Math.abs, which differs for negatives and
 * overflows for -2^31.
 */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}
