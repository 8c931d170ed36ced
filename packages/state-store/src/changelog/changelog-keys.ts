// The changelog key formats of window and session stores, byte-compatible with Kafka Streams
// (WindowKeySchema.toStoreKeyBinary and SessionKeySchema.toBinary), so our changelog topics
// read the same way as a Java application's:
//   window:  key bytes | windowStart (int64 BE) | seqnum (int32 BE)
//   session: key bytes | end (int64 BE)         | start (int64 BE)

const TIMESTAMP_SIZE = 8;
const SEQNUM_SIZE = 4;
const WINDOW_SUFFIX = TIMESTAMP_SIZE + SEQNUM_SIZE;
const SESSION_SUFFIX = 2 * TIMESTAMP_SIZE;

export interface WindowChangelogKey {
  key: Buffer;
  windowStart: number;
  seqnum: number;
}

export interface SessionChangelogKey {
  key: Buffer;
  start: number;
  end: number;
}

export function encodeWindowChangelogKey(key: Buffer, windowStart: number, seqnum: number): Buffer {
  const out = Buffer.allocUnsafe(key.length + WINDOW_SUFFIX);
  key.copy(out, 0);
  out.writeBigInt64BE(BigInt(windowStart), key.length);
  out.writeInt32BE(seqnum, key.length + TIMESTAMP_SIZE);
  return out;
}

/** The key is a view into `bytes`. */
export function decodeWindowChangelogKey(bytes: Buffer): WindowChangelogKey {
  if (bytes.length < WINDOW_SUFFIX) {
    throw new RangeError(
      `Window changelog key has ${bytes.length} bytes, fewer than the ${WINDOW_SUFFIX}-byte timestamp and sequence number suffix: the topic is not a window store changelog`,
    );
  }
  const at = bytes.length - WINDOW_SUFFIX;
  return {
    key: bytes.subarray(0, at),
    windowStart: Number(bytes.readBigInt64BE(at)),
    seqnum: bytes.readInt32BE(at + TIMESTAMP_SIZE),
  };
}

export function encodeSessionChangelogKey(key: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(key.length + SESSION_SUFFIX);
  key.copy(out, 0);
  out.writeBigInt64BE(BigInt(end), key.length);
  out.writeBigInt64BE(BigInt(start), key.length + TIMESTAMP_SIZE);
  return out;
}

/** The key is a view into `bytes`. */
export function decodeSessionChangelogKey(bytes: Buffer): SessionChangelogKey {
  if (bytes.length < SESSION_SUFFIX) {
    throw new RangeError(
      `Session changelog key has ${bytes.length} bytes, fewer than the ${SESSION_SUFFIX}-byte end and start suffix: the topic is not a session store changelog`,
    );
  }
  const at = bytes.length - SESSION_SUFFIX;
  return {
    key: bytes.subarray(0, at),
    end: Number(bytes.readBigInt64BE(at)),
    start: Number(bytes.readBigInt64BE(at + TIMESTAMP_SIZE)),
  };
}

/** A window changelog record as restoreBatch input. */
export function windowRestoreRecord(
  changelogKey: Buffer,
  value: Buffer | null,
): WindowChangelogKey & { value: Buffer | null } {
  return { ...decodeWindowChangelogKey(changelogKey), value };
}

/** A session changelog record as restoreBatch input. */
export function sessionRestoreRecord(
  changelogKey: Buffer,
  value: Buffer | null,
): SessionChangelogKey & { value: Buffer | null } {
  return { ...decodeSessionChangelogKey(changelogKey), value };
}
