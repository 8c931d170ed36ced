/**
 * What a foreign-key join sends between its two sides, and how it is laid out in bytes: a
 * subscription (left row → right table, keyed by the foreign key), a response (right table →
 * left row, keyed by the left key) and the subscription as the right side stores it.
 *
 * Every message carries a hash of the left value that caused it, so the left side can tell a
 * response to its current value from one to a value it has since replaced. A leading version byte
 * leaves room to change the layouts while old messages are still in the topics.
 */
import { hash } from 'node:crypto';
import type { Serde } from '../../serdes/serde.ts';

const VERSION = 0;

export const SubscriptionInstruction = {
  /** The left row left this foreign key: forget it, send nothing back. */
  Unsubscribe: 0,
  /** Answer only when the right row exists (an inner join that had no result has nothing to retract). */
  RespondIfFound: 1,
  /** Answer with the right value or null (a left join, or a result that may need retracting). */
  RespondAlways: 2,
  /**
   * The left row was deleted or lost its foreign key: forget it and answer with null, so the
   * retraction carries the later of its own and the foreign row's timestamp.
   */
  UnsubscribeAndRespond: 3,
} as const;
export type SubscriptionInstruction = (typeof SubscriptionInstruction)[keyof typeof SubscriptionInstruction];

export interface Subscription {
  readonly instruction: SubscriptionInstruction;
  readonly hash: Buffer;
  /** The left key as bytes: the right side stores and returns it without reading it. */
  readonly leftKey: Buffer;
  /** Where the left row lives, so the response goes back to that partition whatever its key hashes to. */
  readonly leftPartition: number;
}

export interface SubscriptionResponse<VO> {
  readonly hash: Buffer;
  readonly rightValue: VO | null;
  readonly leftPartition: number;
}

/** A subscription as the right side keeps it, under the key `combinedKey(foreignKey, leftKey)`. */
export interface StoredSubscription {
  readonly hash: Buffer;
  readonly leftPartition: number;
}

/** Identifies a left value by content: equal serialized values give equal hashes. */
export function valueHash(bytes: Buffer | null): Buffer {
  return bytes === null ? EMPTY : hash('sha1', bytes, 'buffer');
}

const EMPTY = Buffer.alloc(0);

/**
 * Foreign key, then left key. The foreign key's length comes first so that one foreign key is
 * never a prefix of another ("a" of "ab"): all subscriptions to a key are one prefix scan.
 */
export function combinedKey(foreignKey: Buffer, leftKey: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + foreignKey.length + leftKey.length);
  out.writeUInt32BE(foreignKey.length, 0);
  foreignKey.copy(out, 4);
  leftKey.copy(out, 4 + foreignKey.length);
  return out;
}

export function combinedKeyPrefix(foreignKey: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + foreignKey.length);
  out.writeUInt32BE(foreignKey.length, 0);
  foreignKey.copy(out, 4);
  return out;
}

export function leftKeyOf(combined: Buffer): Buffer {
  return combined.subarray(4 + combined.readUInt32BE(0));
}

function checkVersion(topic: string, bytes: Buffer, what: string, headerLength: number): void {
  if (bytes.length < headerLength)
    throw new Error(
      `A foreign-key join ${what} in "${topic}" has ${bytes.length} bytes, fewer than its ${headerLength}-byte header`,
    );
  if (bytes[0] !== VERSION)
    throw new Error(
      `A foreign-key join ${what} in "${topic}" has format version ${bytes[0]}, this version reads ${VERSION}: was it written by a newer release?`,
    );
}

/** version, instruction, 4-byte left partition, hash length, hash, left key. */
export const subscriptionSerde: Serde<Subscription> = {
  name: 'FkJoinSubscription',
  serialize(_topic, s) {
    if (s === null || s === undefined) return null;
    const out = Buffer.allocUnsafe(7 + s.hash.length + s.leftKey.length);
    out.writeUInt8(VERSION, 0);
    out.writeUInt8(s.instruction, 1);
    out.writeInt32BE(s.leftPartition, 2);
    out.writeUInt8(s.hash.length, 6);
    s.hash.copy(out, 7);
    s.leftKey.copy(out, 7 + s.hash.length);
    return out;
  },
  deserialize(topic, bytes) {
    if (bytes === null || bytes === undefined) return null;
    checkVersion(topic, bytes, 'subscription', 7);
    const hashEnd = 7 + bytes.readUInt8(6);
    return {
      instruction: bytes.readUInt8(1) as SubscriptionInstruction,
      leftPartition: bytes.readInt32BE(2),
      hash: bytes.subarray(7, hashEnd),
      leftKey: bytes.subarray(hashEnd),
    };
  },
};

/** version, flags (bit 0: right value present), 4-byte left partition, hash length, hash, right value. */
export function responseSerde<VO>(rightValue: Serde<VO>): Serde<SubscriptionResponse<VO>> {
  return {
    name: `FkJoinResponse<${rightValue.name}>`,
    serialize(topic, r) {
      if (r === null || r === undefined) return null;
      const value = r.rightValue === null ? null : rightValue.serialize(topic, r.rightValue);
      const out = Buffer.allocUnsafe(7 + r.hash.length + (value?.length ?? 0));
      out.writeUInt8(VERSION, 0);
      out.writeUInt8(value === null ? 0 : 1, 1);
      out.writeInt32BE(r.leftPartition, 2);
      out.writeUInt8(r.hash.length, 6);
      r.hash.copy(out, 7);
      if (value !== null) value.copy(out, 7 + r.hash.length);
      return out;
    },
    deserialize(topic, bytes) {
      if (bytes === null || bytes === undefined) return null;
      checkVersion(topic, bytes, 'response', 7);
      const hashEnd = 7 + bytes.readUInt8(6);
      return {
        leftPartition: bytes.readInt32BE(2),
        hash: bytes.subarray(7, hashEnd),
        rightValue: bytes.readUInt8(1) & 1 ? rightValue.deserialize(topic, bytes.subarray(hashEnd)) : null,
      };
    },
  };
}

/** 4-byte left partition, then the hash. */
export const storedSubscriptionSerde: Serde<StoredSubscription> = {
  name: 'FkJoinStoredSubscription',
  serialize(_topic, s) {
    if (s === null || s === undefined) return null;
    const out = Buffer.allocUnsafe(4 + s.hash.length);
    out.writeInt32BE(s.leftPartition, 0);
    s.hash.copy(out, 4);
    return out;
  },
  deserialize(_topic, bytes) {
    if (bytes === null || bytes === undefined) return null;
    return { leftPartition: bytes.readInt32BE(0), hash: Buffer.from(bytes.subarray(4)) };
  },
};
