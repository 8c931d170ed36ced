import {
  type ErrorContext,
  Kip1034Headers,
  type Logger,
  type ProcessorContext,
  Serdes,
  SpringDltHeaders,
  StreamsBuilder,
  type StreamsConfig,
  StreamsException,
} from '@kafka-pattern/streams-core';
import { type TestRecord, TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { afterEach, describe, expect, it } from 'vitest';

const S = Serdes.String();
const L = Serdes.Long();
const B = Serdes.Buffer();

let driver: TopologyTestDriver | undefined;
afterEach(() => {
  driver?.close();
  driver = undefined;
});

/** Reads `in` as string → long, fails on values equal to 13, writes doubled values to `out`. */
function pipeline(config: Partial<StreamsConfig> = {}) {
  const builder = new StreamsBuilder();
  builder
    .stream('in', { key: S, value: L })
    .mapValues((v) => {
      if (v === 13) throw new RangeError(`unlucky value ${v}`);
      return v * 2;
    })
    .to('out', { value: L });
  driver = new TopologyTestDriver(builder.build(), { config });
  return {
    raw: driver.createInputTopic('in', S, B),
    input: driver.createInputTopic('in', S, L),
    output: driver.createOutputTopic('out', S, L),
    dlt: driver.createOutputTopic('in-dlt', B, B),
  };
}

const long = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
};

function header(r: TestRecord<unknown, unknown>, name: string): Buffer {
  const v = r.headers.get(name);
  if (!v) throw new Error(`missing header ${name}`);
  return v;
}

describe('dead letters (default: Spring Kafka convention on <topic>-dlt)', () => {
  it('a value that cannot be deserialized goes to in-dlt with its raw bytes and headers that say why and where from', () => {
    const { raw, input, output, dlt } = pipeline();
    input.pipeInput('k0', 1, 1_000);
    raw.pipeInput('k1', Buffer.from([1, 2, 3]), 2_000, { trace: 'abc' });
    input.pipeInput('k2', 2, 3_000);

    expect(output.readKeyValuesToList()).toEqual([
      { key: 'k0', value: 2 },
      { key: 'k2', value: 4 },
    ]);
    const [dead, ...rest] = dlt.readRecordsToList();
    expect(rest).toEqual([]);
    expect(dead!.key).toEqual(Buffer.from('k1'));
    expect(dead!.value).toEqual(Buffer.from([1, 2, 3]));
    expect(dead!.timestamp).toBe(2_000);
    expect(dead!.headers.getString('trace')).toBe('abc');
    expect(dead!.headers.getString(SpringDltHeaders.originalTopic)).toBe('in');
    const partition = header(dead!, SpringDltHeaders.originalPartition);
    expect(partition).toHaveLength(4);
    expect(partition.readInt32BE(0)).toBe(0);
    const offset = header(dead!, SpringDltHeaders.originalOffset);
    expect(offset).toHaveLength(8);
    expect(offset.readBigInt64BE(0)).toBe(1n);
    expect(header(dead!, SpringDltHeaders.originalTimestamp)).toEqual(long(2_000));
    expect(dead!.headers.getString(SpringDltHeaders.exceptionFqcn)).toBe('SerializationException');
    expect(dead!.headers.getString(SpringDltHeaders.exceptionMessage)).toMatch(
      /^Size of data received by LongDeserializer is not 8: got 3 bytes from topic "in"/,
    );
    expect(dead!.headers.getString(SpringDltHeaders.exceptionStacktrace)).toMatch(
      /^SerializationException: Size of data[\s\S]*\n\s+at /,
    );
    expect(driver!.producedTopicNames()).toEqual(new Set(['out', 'in-dlt']));
  });

  it('a record whose processing throws goes to in-dlt with the bytes it was read from', () => {
    const { input, output, dlt } = pipeline();
    input.pipeInput('a', 12, 10);
    input.pipeInput('b', 13, 20);
    input.pipeInput('c', 14, 30);
    expect(output.readKeyValuesToList()).toEqual([
      { key: 'a', value: 24 },
      { key: 'c', value: 28 },
    ]);
    const [dead] = dlt.readRecordsToList();
    expect(dead!.key).toEqual(Buffer.from('b'));
    expect(dead!.value).toEqual(long(13));
    expect(dead!.timestamp).toBe(20);
    expect(dead!.headers.getString(SpringDltHeaders.originalTopic)).toBe('in');
    expect(header(dead!, SpringDltHeaders.originalOffset).readBigInt64BE(0)).toBe(1n);
    expect(dead!.headers.getString(SpringDltHeaders.exceptionFqcn)).toBe('RangeError');
    expect(dead!.headers.getString(SpringDltHeaders.exceptionMessage)).toBe('unlucky value 13');
    expect(dead!.headers.getString(SpringDltHeaders.exceptionStacktrace)).toContain(
      'RangeError: unlucky value 13',
    );
  });

  it('a value the sink cannot serialize is a processing error too', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', { key: S, value: L })
      .mapValues((v) => v / 2)
      .to('out', { value: L });
    driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('in', S, L);
    input.pipeInput('k', 3);
    input.pipeInput('k', 4);
    expect(driver.createOutputTopic('out', S, L).readValuesToList()).toEqual([2]);
    const [dead] = driver.createOutputTopic('in-dlt', S, L).readRecordsToList();
    expect(dead!.value).toBe(3);
    expect(dead!.headers.getString(SpringDltHeaders.exceptionMessage)).toMatch(
      /LongSerializer cannot write number 1.5/,
    );
  });

  it('nothing is lost: every record in is either out or dead-lettered, and the metrics agree', () => {
    const { raw, input, output, dlt } = pipeline();
    let bad = 0;
    for (let i = 0; i < 30; i++) {
      if (i % 7 === 3) {
        raw.pipeInput(`k${i}`, Buffer.alloc(i % 8 === 0 ? 1 : 9), i);
        bad++;
      } else if (i % 5 === 0) {
        input.pipeInput(`k${i}`, 13, i);
        bad++;
      } else {
        input.pipeInput(`k${i}`, 100 + i, i);
      }
    }
    const out = output.readRecordsToList();
    const dead = dlt.readRecordsToList();
    expect(out.length + dead.length).toBe(30);
    expect(dead).toHaveLength(bad);
    const offsets = dead.map((r) => Number(header(r, SpringDltHeaders.originalOffset).readBigInt64BE(0)));
    expect([...out.map((r) => Number(r.timestamp)), ...offsets].sort((a, b) => a - b)).toEqual([
      ...Array(30).keys(),
    ]);
    const [m] = Object.values(driver!.metrics());
    expect(m!.deadLetteredRecords).toBe(bad);
    expect(m!.processedRecords).toBe(30 - bad);
  });

  it('a dead letter of a dead letter replaces the earlier kafka_dlt-* headers instead of repeating them', () => {
    const { raw, dlt } = pipeline();
    const first = new Map<string, Buffer>([
      [SpringDltHeaders.originalTopic, Buffer.from('upstream')],
      [SpringDltHeaders.exceptionMessage, Buffer.from('old')],
    ]);
    raw.pipeInput('k', Buffer.from([0]), 5, first);
    const [dead] = dlt.readRecordsToList();
    expect(dead!.headers.values(SpringDltHeaders.originalTopic).map(String)).toEqual(['in']);
    expect(dead!.headers.values(SpringDltHeaders.exceptionMessage)).toHaveLength(1);
  });
});

describe('dead letters in the log', () => {
  it("each dead letter is a warning in the application's logger: where from, the dead-letter topic and why", () => {
    const warnings: Array<{ obj: Record<string, unknown>; msg: string }> = [];
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: (obj, msg) => warnings.push({ obj, msg }),
      error: () => {},
    };
    const { raw, input } = pipeline({ logger });
    input.pipeInput('a', 13);
    raw.pipeInput('b', Buffer.from([1, 2, 3]));
    input.pipeInput('c', 1);
    expect(warnings.map((w) => w.msg)).toEqual([
      expect.stringMatching(
        /^dead letter: in-0@0 moved to in-dlt after a processing error in KSTREAM-MAPVALUES-\w+ \(task 0_0\): RangeError: unlucky value 13$/,
      ),
      expect.stringMatching(
        /^dead letter: in-0@1 moved to in-dlt after a deserialization error in KSTREAM-SOURCE-\w+ \(task 0_0\): SerializationException: Size of data received by LongDeserializer is not 8/,
      ),
    ]);
    expect(warnings[0]!.obj).toMatchObject({
      source: { topic: 'in', partition: 0, offset: 0n },
      deadLetterTopic: 'in-dlt',
      exception: 'RangeError',
    });
  });

  it('a flood is summed up on close rather than logged record by record', () => {
    const warnings: string[] = [];
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: (_obj, msg) => warnings.push(msg),
      error: () => {},
    };
    const { input } = pipeline({ logger });
    for (let i = 0; i < 1_000; i++) input.pipeInput(`k${i}`, 13);
    driver!.close();
    expect(warnings).toHaveLength(11);
    expect(warnings.at(-1)).toMatch(
      /^… and 990 more dead letters from in in the last [\d.]+ s, to in-dlt \(the last: in-0@999, RangeError: unlucky value 13\)$/,
    );
  });
});

describe('other error handling choices', () => {
  it("processingExceptionHandler 'log-and-fail' makes pipeInput throw a StreamsException", () => {
    const { input, output, dlt } = pipeline({ processingExceptionHandler: 'log-and-fail' });
    input.pipeInput('a', 1);
    expect(() => input.pipeInput('b', 13)).toThrow(StreamsException);
    expect(() => input.pipeInput('b', 13)).toThrow(
      /Processing of in-0@2 failed in KSTREAM-MAPVALUES-[0-9a-f]{8} \(task 0_0\): unlucky value 13/,
    );
    expect(output.readValuesToList()).toEqual([2]);
    expect(dlt.isEmpty()).toBe(true);
  });

  it("deserializationExceptionHandler 'log-and-fail' makes pipeInput throw a StreamsException naming the record", () => {
    const { raw, dlt } = pipeline({ deserializationExceptionHandler: 'log-and-fail' });
    expect(() => raw.pipeInput('a', Buffer.from([1, 2, 3]))).toThrow(/Deserialization of in-0@0 failed/);
    expect(dlt.isEmpty()).toBe(true);
  });

  it("'log-and-continue' skips the record without a dead letter and counts it", () => {
    const { input, output, dlt } = pipeline({ processingExceptionHandler: 'log-and-continue' });
    const warn = console.warn;
    const warnings: string[] = [];
    console.warn = (m: string) => warnings.push(m);
    try {
      input.pipeInput('a', 13);
      input.pipeInput('b', 1);
    } finally {
      console.warn = warn;
    }
    expect(output.readValuesToList()).toEqual([2]);
    expect(dlt.isEmpty()).toBe(true);
    expect(warnings).toEqual([expect.stringContaining('unlucky value 13')]);
    expect(Object.values(driver!.metrics())[0]!.skippedRecords).toBe(1);
  });

  it('a handler function sees the error context and chooses per record', () => {
    const contexts: ErrorContext[] = [];
    const { input, raw, dlt } = pipeline({
      processingExceptionHandler: (ctx) => {
        contexts.push(ctx);
        return 'CONTINUE';
      },
      deserializationExceptionHandler: (ctx) => {
        contexts.push(ctx);
        return 'DEAD_LETTER';
      },
    });
    input.pipeInput('a', 13, 7);
    raw.pipeInput('b', Buffer.alloc(2), 8);
    expect(contexts.map((c) => [c.kind, c.source.topic, c.source.offset, c.source.timestamp])).toEqual([
      ['processing', 'in', 0n, 7],
      ['deserialization', 'in', 1n, 8],
    ]);
    expect(contexts[0]!.nodeName).toMatch(/^KSTREAM-MAPVALUES-/);
    expect(contexts[1]!.nodeName).toMatch(/^KSTREAM-SOURCE-/);
    expect(dlt.readKeyValuesToList().map((r) => String(r.key))).toEqual(['b']);
  });

  it("deadLetter: { headers: 'kip1034' } writes __streams.errors.* headers as strings", () => {
    const { input, dlt } = pipeline({ deadLetter: { headers: 'kip1034' } });
    input.pipeInput('a', 1);
    input.pipeInput('b', 13, 99);
    const [dead] = dlt.readRecordsToList();
    expect(dead!.value).toEqual(long(13));
    expect(dead!.timestamp).toBe(99);
    expect(dead!.headers.getString(Kip1034Headers.topic)).toBe('in');
    expect(dead!.headers.getString(Kip1034Headers.partition)).toBe('0');
    expect(dead!.headers.getString(Kip1034Headers.offset)).toBe('1');
    expect(dead!.headers.getString(Kip1034Headers.exception)).toBe('RangeError');
    expect(dead!.headers.getString(Kip1034Headers.message)).toBe('unlucky value 13');
    expect(dead!.headers.getString(Kip1034Headers.stacktrace)).toContain('RangeError: unlucky value 13');
    expect([...dead!.headers].some(([k]) => k.startsWith('kafka_dlt-'))).toBe(false);
  });

  it('deadLetter.topic chooses the dead-letter topic per source topic', () => {
    const { input } = pipeline({ deadLetter: { topic: (t) => `dead.${t}` } });
    input.pipeInput('b', 13);
    expect(driver!.producedTopicNames()).toEqual(new Set(['dead.in']));
  });
});

describe('dead letters keep the record as it was read', () => {
  it('headers that processors added before the failure are not in the dead letter', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', { key: S, value: S })
      .process<string, string>(() => {
        let ctx: ProcessorContext<string, string>;
        return {
          init(c) {
            ctx = c;
          },
          process: (r) => {
            r.headers.add('added-by-processor', 'x');
            ctx.forward(r);
          },
        };
      })
      .mapValues((v) => {
        if (v === 'bad') throw new Error('bad value');
        return v;
      })
      .to('out', { key: S, value: S });
    driver = new TopologyTestDriver(builder.build());
    driver.createInputTopic('in', S, S).pipeInput('k', 'bad', 1, { original: 'yes' });
    const [dead] = driver.createOutputTopic('in-dlt', S, S).readRecordsToList();
    expect(dead!.value).toBe('bad');
    expect(dead!.headers.getString('original')).toBe('yes');
    expect(dead!.headers.has('added-by-processor')).toBe(false);
  });
});
