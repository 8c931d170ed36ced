// The offset checkpoint file of a task, in Kafka Streams' `.checkpoint` text format:
//   0                      (format version)
//   2                      (number of entries)
//   orders 3 1042          (topic partition offset; offset = next offset to restore from)
//   payments 3 77
// Written atomically (temporary file, fsync, rename, fsync of the directory), so a crash leaves
// either the old or the new checkpoint, never half of one. A file that cannot be trusted reads
// as "no checkpoint": restoration then starts from the beginning of the changelog, which is
// slow but correct, whereas a wrong offset would silently skip or duplicate state.

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

const VERSION = 0;

export type CheckpointStatus = 'ok' | 'missing' | 'corrupt';

export interface CheckpointReadResult {
  /** Keyed by checkpointKey(topic, partition). Empty unless status is 'ok'. */
  offsets: Map<string, bigint>;
  status: CheckpointStatus;
  /** Why a corrupt file was rejected. */
  reason?: string;
}

/** `topic-partition`, the key of every offsets map in this package (Kafka's TopicPartition.toString()). */
export function checkpointKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/** Splits at the last '-': topic names may contain '-', partitions are plain numbers. */
export function parseCheckpointKey(key: string): { topic: string; partition: number } {
  const at = key.lastIndexOf('-');
  const partition = Number(key.slice(at + 1));
  if (at <= 0 || !/^\d+$/.test(key.slice(at + 1)) || !Number.isSafeInteger(partition)) {
    throw new Error(`"${key}" is not a topic-partition key: expected "<topic>-<partition>", e.g. "orders-3"`);
  }
  return { topic: key.slice(0, at), partition };
}

export class CheckpointFile {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  read(): CheckpointReadResult {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        return { offsets: new Map(), status: 'missing' };
      throw error;
    }
    try {
      return { offsets: parse(text), status: 'ok' };
    } catch (error) {
      return { offsets: new Map(), status: 'corrupt', reason: (error as Error).message };
    }
  }

  write(offsets: ReadonlyMap<string, bigint>): void {
    let text = `${VERSION}\n${offsets.size}\n`;
    for (const [key, offset] of offsets) {
      const { topic, partition } = parseCheckpointKey(key);
      if (offset < 0n)
        throw new RangeError(`Checkpoint offset for ${key} is ${offset}: offsets must be >= 0`);
      if (/\s/.test(topic))
        throw new Error(`Topic "${topic}" contains whitespace and cannot be checkpointed`);
      text += `${topic} ${partition} ${offset}\n`;
    }
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    syncDirectory(dirname(this.path));
  }

  delete(): void {
    rmSync(this.path, { force: true });
  }
}

function parse(text: string): Map<string, bigint> {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[0]?.trim() !== String(VERSION))
    throw new Error(`unsupported checkpoint version "${lines[0] ?? ''}"`);
  const countText = lines[1]?.trim() ?? '';
  if (!/^\d+$/.test(countText)) throw new Error(`invalid entry count "${countText}"`);
  const count = Number(countText);
  if (lines.length - 2 !== count) throw new Error(`expected ${count} entries, found ${lines.length - 2}`);
  const offsets = new Map<string, bigint>();
  for (let i = 2; i < lines.length; i++) {
    const parts = (lines[i] as string).trim().split(/\s+/);
    const [topic, partition, offset] = parts;
    if (
      parts.length !== 3 ||
      topic === undefined ||
      !/^\d+$/.test(partition ?? '') ||
      !/^\d+$/.test(offset ?? '')
    ) {
      throw new Error(`malformed entry on line ${i + 1}: "${lines[i]}"`);
    }
    offsets.set(checkpointKey(topic, Number(partition)), BigInt(offset as string));
  }
  return offsets;
}

function syncDirectory(dir: string): void {
  // Makes the rename itself durable; not every platform allows fsync on a directory.
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // The file content is already synced; losing only the rename is the pre-write state.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
