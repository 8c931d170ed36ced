/**
 * A record batch (Kafka's v2 format, uncompressed) encoded in one pass into one buffer: sizes
 * first, one allocation, every field written in place, the CRC-32C over a contiguous range. The
 * client's encoder builds a small buffer per field and per record and joins them twice (for the
 * CRC and for the socket); this shows, on the same messages and to the byte, what encoding costs
 * without that. Not used by the framework: the client offers no way to hand it a batch.
 */
import { crc32c } from '@platformatic/kafka';

export interface BatchMessage {
  key?: Buffer | null;
  value?: Buffer | null;
  headers?: Map<Buffer, Buffer>;
  timestamp: bigint;
}

export interface BatchOptions {
  producerId?: bigint;
  producerEpoch?: number;
  firstSequence?: number;
  transactional?: boolean;
  partitionLeaderEpoch?: number;
}

const IS_TRANSACTIONAL = 1 << 4;
/** baseOffset, batchLength, partitionLeaderEpoch, magic, crc. */
const HEAD = 8 + 4 + 4 + 1 + 4;
/** attributes, lastOffsetDelta, firstTimestamp, maxTimestamp, producerId, producerEpoch, baseSequence, records count. */
const CRC_COVERED_HEAD = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;

export function encodeRecordBatch(messages: readonly BatchMessage[], options: BatchOptions = {}): Buffer {
  const first = messages[0]!.timestamp;
  let max = first;
  const sizes = new Array<number>(messages.length);
  let total = HEAD + CRC_COVERED_HEAD;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (m.timestamp > max) max = m.timestamp;
    const body = recordBodySize(m, i, m.timestamp - first);
    sizes[i] = body;
    total += varIntSize(body) + body;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  at = out.writeBigInt64BE(0n, at);
  at = out.writeInt32BE(total - 12, at);
  at = out.writeInt32BE(options.partitionLeaderEpoch ?? 0, at);
  at = out.writeInt8(2, at);
  const crcAt = at;
  at += 4;
  at = out.writeInt16BE(options.transactional ? IS_TRANSACTIONAL : 0, at);
  at = out.writeInt32BE(messages.length - 1, at);
  at = out.writeBigInt64BE(first, at);
  at = out.writeBigInt64BE(max, at);
  at = out.writeBigInt64BE(options.producerId ?? -1n, at);
  at = out.writeInt16BE(options.producerEpoch ?? 0, at);
  at = out.writeInt32BE(options.firstSequence ?? 0, at);
  at = out.writeInt32BE(messages.length, at);
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    at = writeVarInt(out, at, sizes[i]!);
    out[at++] = 0;
    at = writeVarLong(out, at, m.timestamp - first);
    at = writeVarInt(out, at, i);
    at = writeBytes(out, at, m.key);
    at = writeBytes(out, at, m.value);
    const headers = m.headers;
    at = writeVarInt(out, at, headers?.size ?? 0);
    if (headers) {
      for (const [k, v] of headers) {
        at = writeBytes(out, at, k);
        at = writeBytes(out, at, v);
      }
    }
  }
  out.writeUInt32BE(crc32c(out.subarray(crcAt + 4)), crcAt);
  return out;
}

function recordBodySize(m: BatchMessage, offsetDelta: number, timestampDelta: bigint): number {
  let size =
    1 + varLongSize(timestampDelta) + varIntSize(offsetDelta) + bytesSize(m.key) + bytesSize(m.value);
  size += varIntSize(m.headers?.size ?? 0);
  if (m.headers) for (const [k, v] of m.headers) size += bytesSize(k) + bytesSize(v);
  return size;
}

function bytesSize(b: Buffer | null | undefined): number {
  return b == null ? 1 : varIntSize(b.length) + b.length;
}

/** Zigzag varint size of a 32-bit signed integer. */
function varIntSize(n: number): number {
  let z = ((n << 1) ^ (n >> 31)) >>> 0;
  let size = 1;
  while (z >= 0x80) {
    z >>>= 7;
    size++;
  }
  return size;
}

function varLongSize(n: bigint): number {
  if (n >= -0x40000000n && n < 0x40000000n) return varIntSize(Number(n));
  let z = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
  let size = 1;
  while (z >= 0x80n) {
    z >>= 7n;
    size++;
  }
  return size;
}

function writeVarInt(out: Buffer, at: number, n: number): number {
  let z = ((n << 1) ^ (n >> 31)) >>> 0;
  while (z >= 0x80) {
    out[at++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  out[at++] = z;
  return at;
}

function writeVarLong(out: Buffer, at: number, n: bigint): number {
  if (n >= -0x40000000n && n < 0x40000000n) return writeVarInt(out, at, Number(n));
  let z = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
  while (z >= 0x80n) {
    out[at++] = Number(z & 0x7fn) | 0x80;
    z >>= 7n;
  }
  out[at++] = Number(z);
  return at;
}

function writeBytes(out: Buffer, at: number, b: Buffer | null | undefined): number {
  if (b == null) return writeVarInt(out, at, -1);
  at = writeVarInt(out, at, b.length);
  b.copy(out, at);
  return at + b.length;
}
