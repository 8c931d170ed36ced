import { SerializationException } from './serialization-exception.ts';

const TWO_POW_32 = 4294967296;

/**
 * Writes a safe integer as 8 bytes of big-endian two's complement. Splitting into a signed high
 * word and an unsigned low word with floor division keeps negatives right without going through
 * BigInt, which would allocate on every call.
 */
export function writeInt64(buf: Buffer, offset: number, value: number): void {
  const hi = Math.floor(value / TWO_POW_32);
  buf.writeInt32BE(hi, offset);
  buf.writeUInt32BE(value - hi * TWO_POW_32, offset + 4);
}

/**
 * Reads 8 bytes of big-endian two's complement as a number, or NaN when the value lies outside
 * ±(2^53 - 1) and so has no exact JavaScript number.
 */
export function readInt64(buf: Buffer, offset: number): number {
  // hi * 2^32 is exact; adding lo rounds only when the true value is already past 2^53, and
  // rounding is monotone, so an unsafe value can never round into the safe range.
  const value = buf.readInt32BE(offset) * TWO_POW_32 + buf.readUInt32BE(offset + 4);
  return Number.isSafeInteger(value) ? value : Number.NaN;
}

export function unsafeInt64Error(
  reader: string,
  topic: string,
  buf: Buffer,
  offset: number,
  hint: string,
): SerializationException {
  return new SerializationException(
    `${reader} read ${buf.readBigInt64BE(offset)} from topic "${topic}", which is outside JavaScript's ` +
      `safe integer range ±(2^53 - 1) and cannot be represented exactly as a number. ${hint}`,
    { topic },
  );
}
