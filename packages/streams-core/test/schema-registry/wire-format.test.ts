import { SerializationException } from '@kafka-pattern/streams-core';
import {
  decodeMessageIndexes,
  encodeMessageIndexes,
  frame,
  MAGIC_BYTE,
  unframe,
} from '@kafka-pattern/streams-core/schema-registry';
import { describe, expect, it } from 'vitest';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('Schema Registry wire format', () => {
  it('frames a payload as magic byte 0, the 4-byte big-endian schema id, then the payload', () => {
    expect(MAGIC_BYTE).toBe(0);
    expect(hex(frame(1, Buffer.from([0x02, 0x78, 0x06])))).toBe('0000000001027806');
    expect(hex(frame(0x01020304, Buffer.alloc(0)))).toBe('0001020304');
    const { schemaId, body } = unframe('t', Buffer.from('00000001ff0a0b', 'hex'), 'test');
    expect(schemaId).toBe(0x1ff);
    expect(hex(body)).toBe('0a0b');
  });

  it('writes Protobuf message indexes as zigzag varints, [0] as the single byte 0', () => {
    // Hand-checked against the format: count then indexes, each zigzag (n -> 2n) and varint.
    expect(hex(encodeMessageIndexes([0]))).toBe('00');
    expect(hex(encodeMessageIndexes([1]))).toBe('0202');
    expect(hex(encodeMessageIndexes([0, 2]))).toBe('040004');
    expect(hex(encodeMessageIndexes([64]))).toBe('028001');
    expect(hex(frame(7, Buffer.from([0x08, 0x01]), [1, 0]))).toBe('0000000007' + '040200' + '0801');
    for (const indexes of [[0], [1], [0, 2], [64], [3, 1, 200]]) {
      const { indexes: back, rest } = decodeMessageIndexes(
        't',
        Buffer.concat([encodeMessageIndexes(indexes), Buffer.from([0xaa])]),
        'test',
      );
      expect(back).toEqual(indexes);
      expect(hex(rest)).toBe('aa');
    }
  });

  it('says a record is not in the wire format, and why', () => {
    const cases: Array<[Buffer, RegExp]> = [
      [Buffer.alloc(0), /it is empty/],
      [Buffer.from('{"a":1}'), /first byte is 0x7b, not the magic byte 0x00/],
      [Buffer.from([0, 0, 1]), /it has 3 bytes, fewer than the 5/],
    ];
    for (const [data, why] of cases) {
      const error = (() => {
        try {
          unframe('orders', data, 'avroSerde');
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(SerializationException);
      expect((error as Error).message).toMatch(/not in the Schema Registry wire format/);
      expect((error as Error).message).toMatch(why);
      expect((error as SerializationException).topic).toBe('orders');
    }
  });

  it('refuses malformed message indexes', () => {
    expect(() => decodeMessageIndexes('t', Buffer.from([0x02, 0x80]), 'protobufSerde')).toThrow(/end early/);
    expect(() => decodeMessageIndexes('t', Buffer.from([0x01]), 'protobufSerde')).toThrow(
      /message-index count is -1/,
    );
  });
});

describe('optional peer dependencies', () => {
  it('says which package to install when a format library is missing', async () => {
    const { loadPeer } = await import('../../src/schema-registry/options.ts');
    await expect(loadPeer('avsc', 'avroSerde', () => import('avsc-not-installed' as string))).rejects.toThrow(
      'avroSerde needs the avsc package, an optional peer dependency: install it (pnpm add avsc)',
    );
  });
});
