import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointFile, checkpointKey, parseCheckpointKey } from '../src/checkpoint/checkpoint-file.ts';
import { tempDir } from './support/backends.ts';

describe('CheckpointFile', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.remove());
  const file = () => new CheckpointFile(join(tmp.dir, '.checkpoint'));

  it('round-trips offsets in the Kafka Streams text format', () => {
    const offsets = new Map([
      [checkpointKey('app-counts-changelog', 3), 1042n],
      [checkpointKey('orders', 0), 9_007_199_254_740_993n],
    ]);
    file().write(offsets);
    expect(readFileSync(join(tmp.dir, '.checkpoint'), 'utf8')).toBe(
      '0\n2\napp-counts-changelog 3 1042\norders 0 9007199254740993\n',
    );
    expect(existsSync(join(tmp.dir, '.checkpoint.tmp'))).toBe(false);
    expect(file().read()).toEqual({ offsets, status: 'ok' });
  });

  it('reads a missing file as an empty checkpoint', () => {
    expect(file().read()).toEqual({ offsets: new Map(), status: 'missing' });
  });

  it.each([
    ['a wrong version', '1\n1\nt 0 5\n'],
    ['a count that does not match', '0\n2\nt 0 5\n'],
    ['a malformed line', '0\n1\nt zero 5\n'],
    ['a truncated file', '0\n'],
    ['garbage', '\u0000\u0001binary'],
  ])('reads %s as an empty, corrupt checkpoint', (_what, text) => {
    writeFileSync(join(tmp.dir, '.checkpoint'), text);
    const result = file().read();
    expect(result.status).toBe('corrupt');
    expect(result.offsets.size).toBe(0);
    expect(result.reason).toBeTypeOf('string');
  });

  it('replaces the previous checkpoint and can be deleted', () => {
    file().write(new Map([['a-0', 1n]]));
    file().write(new Map([['b-1', 2n]]));
    expect(file().read().offsets).toEqual(new Map([['b-1', 2n]]));
    file().delete();
    expect(file().read().status).toBe('missing');
  });

  it('parses topic-partition keys at the last dash', () => {
    expect(parseCheckpointKey('my-app-store-changelog-12')).toEqual({
      topic: 'my-app-store-changelog',
      partition: 12,
    });
    expect(() => parseCheckpointKey('no-partition')).toThrow(/not a topic-partition key/);
    expect(() => file().write(new Map([['oops', 1n]]))).toThrow(/not a topic-partition key/);
    expect(() => file().write(new Map([['t-0', -1n]]))).toThrow(/must be >= 0/);
  });
});
