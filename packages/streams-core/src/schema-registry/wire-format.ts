/**
 * The Confluent Schema Registry wire format: a magic byte 0, the schema id as a 4-byte
 * big-endian integer, then the payload. Protobuf payloads carry, between the id and the message,
 * the path of the message type in its schema file (the "message indexes"): a zigzag varint count
 * followed by that many zigzag varint indexes, the path `[0]` (the first top-level message)
 * written as the single byte 0.
 */
import { SerializationException } from '../serdes/serialization-exception.ts';

export const MAGIC_BYTE = 0;
/** Magic byte and schema id. */
export const HEADER_SIZE = 5;

export interface Framed {
  readonly schemaId: number;
  /** The bytes after the magic byte and the schema id. */
  readonly body: Buffer;
}

export function frame(schemaId: number, payload: Uint8Array, messageIndexes?: readonly number[]): Buffer {
  const indexes = messageIndexes === undefined ? undefined : encodeMessageIndexes(messageIndexes);
  const out = Buffer.allocUnsafe(HEADER_SIZE + (indexes?.length ?? 0) + payload.length);
  out[0] = MAGIC_BYTE;
  out.writeInt32BE(schemaId, 1);
  let at = HEADER_SIZE;
  if (indexes) {
    indexes.copy(out, at);
    at += indexes.length;
  }
  out.set(payload, at);
  return out;
}

/** Splits a record into its schema id and body, or says why it is not in the wire format. */
export function unframe(topic: string, data: Buffer, serde: string): Framed {
  if (data.length < HEADER_SIZE || data[0] !== MAGIC_BYTE) {
    const seen =
      data.length === 0
        ? 'it is empty'
        : data[0] !== MAGIC_BYTE
          ? `its first byte is 0x${data[0]!.toString(16).padStart(2, '0')}, not the magic byte 0x00`
          : `it has ${data.length} byte${data.length === 1 ? '' : 's'}, fewer than the 5 of the magic byte and schema id`;
    throw new SerializationException(
      `${serde} cannot read a record from topic "${topic}": it is not in the Schema Registry wire format (${seen}). ` +
        'The producer of this topic must write with a Schema Registry serializer (magic byte 0, 4-byte schema id, payload); ' +
        'records written as plain JSON, Avro or Protobuf need a serde for that format instead.',
      { topic },
    );
  }
  return { schemaId: data.readInt32BE(1), body: data.subarray(HEADER_SIZE) };
}

export function encodeMessageIndexes(indexes: readonly number[]): Buffer {
  if (indexes.length === 1 && indexes[0] === 0) return Buffer.from([0]);
  const bytes: number[] = [];
  writeZigzagVarint(bytes, indexes.length);
  for (const index of indexes) writeZigzagVarint(bytes, index);
  return Buffer.from(bytes);
}

/** Reads the message indexes at the start of a Protobuf body; `rest` is the message itself. */
export function decodeMessageIndexes(
  topic: string,
  body: Buffer,
  serde: string,
): { indexes: number[]; rest: Buffer } {
  const reader = { at: 0 };
  const count = readZigzagVarint(topic, body, reader, serde);
  if (count === 0) return { indexes: [0], rest: body.subarray(reader.at) };
  if (count < 0 || count > 100)
    throw new SerializationException(
      `${serde} cannot read a record from topic "${topic}": its Protobuf message-index count is ${count}; ` +
        'the record was not written by a Protobuf Schema Registry serializer.',
      { topic },
    );
  const indexes: number[] = [];
  for (let i = 0; i < count; i++) indexes.push(readZigzagVarint(topic, body, reader, serde));
  return { indexes, rest: body.subarray(reader.at) };
}

function writeZigzagVarint(out: number[], value: number): void {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

function readZigzagVarint(topic: string, body: Buffer, reader: { at: number }, serde: string): number {
  let result = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    const byte = body[reader.at++];
    if (byte === undefined) break;
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return (result >>> 1) ^ -(result & 1);
  }
  throw new SerializationException(
    `${serde} cannot read a record from topic "${topic}": its Protobuf message indexes end early or are malformed.`,
    { topic },
  );
}
