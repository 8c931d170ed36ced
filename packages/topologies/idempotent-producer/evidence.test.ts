/**
 * Reading DumpLogSegments output (lines as Kafka 4.4.0 prints them) and judging a log against
 * the records sent.
 */
import { describe, expect, it } from 'vitest';
import { batchRoles, describeValues, examineLog } from './evidence.ts';
import { type LogBatch, parseDumpLogSegments } from './log-segments.ts';

const BATCH_TAIL =
  'partitionLeaderEpoch: 0 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: 1796172976501 size: 501 magic: 2 compresscodec: none crc: 738921876 isvalid: true';

function dumpBatch(
  baseOffset: number,
  values: Array<number | string>,
  producer: { id: number; epoch: number; baseSequence: number },
): string {
  const last = baseOffset + values.length - 1;
  const lastSequence = producer.baseSequence + values.length - 1;
  const lines = [
    `baseOffset: ${baseOffset} lastOffset: ${last} count: ${values.length} baseSequence: ${producer.baseSequence} lastSequence: ${lastSequence} producerId: ${producer.id} producerEpoch: ${producer.epoch} ${BATCH_TAIL}`,
  ];
  values.forEach((v, i) => {
    lines.push(
      `| offset: ${baseOffset + i} CreateTime: 1796172976501 keySize: -1 valueSize: ${String(v).length} sequence: ${producer.baseSequence + i} headerKeys: [] payload: ${v}`,
    );
  });
  return lines.join('\n');
}

function dump(...batches: string[]): string {
  return ['Dumping /data/topic-0/00000000000000000000.log', 'Log starting offset: 0', ...batches].join('\n');
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const none = (baseSequence = 0) => ({ id: -1, epoch: 0, baseSequence });
const pid = (id: number, baseSequence: number, epoch = 0) => ({ id, epoch, baseSequence });

describe('DumpLogSegments output', () => {
  it('parses batch headers and records, payloads with spaces included', () => {
    const text = dump(
      dumpBatch(0, [0, 1], pid(7, 0, 3)),
      `baseOffset: 2 lastOffset: 2 count: 1 baseSequence: 2 lastSequence: 2 producerId: 7 producerEpoch: 3 ${BATCH_TAIL}`,
      '| offset: 2 CreateTime: 1796172976501 keySize: 1 valueSize: 9 sequence: 2 headerKeys: [h] key: k payload: two words',
    );
    const batches = parseDumpLogSegments(text);
    expect(batches).toHaveLength(2);
    expect(batches[0]).toEqual({
      baseOffset: 0,
      lastOffset: 1,
      count: 2,
      producerId: 7,
      producerEpoch: 3,
      baseSequence: 0,
      lastSequence: 1,
      isTransactional: false,
      isControl: false,
      records: [
        { offset: 0, sequence: 0, payload: '0' },
        { offset: 1, sequence: 1, payload: '1' },
      ],
    });
    expect(batches[1]!.records).toEqual([{ offset: 2, sequence: 2, payload: 'two words' }]);
  });

  it('says which field it could not find', () => {
    expect(() => parseDumpLogSegments('baseOffset: 0 lastOffset: 1')).toThrow(/no "count"/);
    expect(() => parseDumpLogSegments('| offset: 0 payload: x')).toThrow(/before any batch/);
  });
});

describe('judging a log against what was sent', () => {
  it('a clean idempotent log: every value once, in order, contiguous sequences of one producer', () => {
    const batches = parseDumpLogSegments(
      dump(dumpBatch(0, range(0, 3), pid(0, 0)), dumpBatch(3, range(3, 6), pid(0, 3))),
    );
    expect(examineLog(batches, 6)).toEqual({
      recordsSent: 6,
      recordsInLog: 6,
      batchesInLog: 2,
      duplicates: 0,
      duplicatedValues: 0,
      outOfOrder: 0,
      missing: 0,
      producers: ['0/0'],
      contiguousSequences: true,
    });
    expect(batchRoles(batches)).toEqual(['first', 'first']);
  });

  it('a retried batch of a producer without an id: duplicates counted, sequences not checked', () => {
    const batches = parseDumpLogSegments(
      dump(
        dumpBatch(0, range(0, 3), none()),
        dumpBatch(3, range(0, 3), none()),
        dumpBatch(6, range(0, 3), none()),
        dumpBatch(9, range(3, 6), none()),
      ),
    );
    const f = examineLog(batches, 6);
    expect(f).toMatchObject({
      recordsInLog: 12,
      batchesInLog: 4,
      duplicates: 6,
      duplicatedValues: 3,
      outOfOrder: 0,
      missing: 0,
      producers: ['-1/0'],
      contiguousSequences: false,
    });
    expect(batchRoles(batches)).toEqual(['first', 'duplicate', 'duplicate', 'first']);
  });

  it('reordered and missing values, and a sequence gap, are each seen', () => {
    const batches = parseDumpLogSegments(
      dump(dumpBatch(0, range(3, 6), pid(0, 0)), dumpBatch(3, [0, 1, 4], pid(0, 4))),
    );
    const f = examineLog(batches, 7);
    expect(f.outOfOrder).toBe(2); // 0 and 1 came after 5
    expect(f.duplicates).toBe(1); // 4 again
    expect(f.missing).toBe(2); // 2 and 6
    expect(f.contiguousSequences).toBe(false); // 4 follows 2
    expect(batchRoles(batches)).toEqual(['first', 'partly duplicate']);
    expect(describeValues(batches[0]!)).toBe('3..5');
    expect(describeValues(batches[1]!)).toBe('0, ..., 4 (3 values)');
  });

  it('a second producer id (a new producer session) starts its own sequences at 0', () => {
    const batches = parseDumpLogSegments(
      dump(dumpBatch(0, range(0, 2), pid(0, 0)), dumpBatch(2, range(2, 4), pid(1, 0))),
    );
    expect(examineLog(batches, 4)).toMatchObject({ producers: ['0/0', '1/0'], contiguousSequences: true });
  });

  it('a record that is not one of the numbered records sent is an error that says so', () => {
    const batches: LogBatch[] = parseDumpLogSegments(dump(dumpBatch(0, ['hello'], pid(0, 0))));
    expect(() => examineLog(batches, 1)).toThrow(/"hello", not a record number/);
  });
});
