import { InMemoryKeyValueStore } from '@kafka-pattern/state-store';
import {
  BufferConfig,
  Headers,
  type KTable,
  Serdes,
  SessionWindows,
  StreamsBuilder,
  Suppressed,
  TimeWindows,
} from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { describe, expect, it } from 'vitest';
import { suppressProcessor } from '../../src/kstream/internals/suppress.ts';
import { SuppressionBuffer } from '../../src/kstream/internals/suppress-buffer.ts';
import { append, S, windowedAppend } from './support.ts';

/** A per-key count of the input, suppressed as given, written as [key, count, timestamp]. */
function countsSuppressed(suppress: (t: KTable<string, number>) => KTable<string, number>) {
  const builder = new StreamsBuilder();
  suppress(builder.stream<string, string>('in', { key: S, value: S }).groupByKey().count())
    .toStream()
    .to('out', { key: S, value: Serdes.Long() });
  const driver = new TopologyTestDriver(builder.build());
  const input = driver.createInputTopic('in', S, S);
  const output = driver.createOutputTopic('out', S, Serdes.Long());
  return { driver, input, read: () => output.readRecordsToList().map((r) => [r.key, r.value, r.timestamp]) };
}

describe('Suppressed and BufferConfig', () => {
  it('untilWindowCloses takes only strict buffers; limits must be positive', () => {
    expect(() => Suppressed.untilWindowCloses(BufferConfig.maxRecords(5) as never)).toThrow(/strict buffer/);
    expect(
      Suppressed.untilWindowCloses(BufferConfig.maxRecords(5).shutDownWhenFull()).bufferConfig.maxRecords,
    ).toBe(5);
    expect(() => BufferConfig.maxBytes(0)).toThrow(/positive whole number/);
    expect(() => Suppressed.untilTimeLimit(-1)).toThrow(/must not be negative/);
    expect(BufferConfig.unbounded().emitEarlyWhenFull().whenFull).toBe('EMIT_EARLY');
  });

  it('needs a windowed table for untilWindowCloses', () => {
    const builder = new StreamsBuilder();
    const table = builder.stream<string, string>('in', { key: S, value: S }).groupByKey().count();
    expect(() => table.suppress(Suppressed.untilWindowCloses() as never)).toThrow(/needs a windowed KTable/);
  });
});

describe('KTable.suppress', () => {
  it('untilWindowCloses: one final result per window, once stream time passes end + grace', () => {
    const { driver, input, read } = windowedAppend((g) =>
      g
        .windowedBy(TimeWindows.ofSizeAndGrace(10, 5))
        .aggregate(() => '', append, { value: S })
        .suppress(Suppressed.untilWindowCloses()),
    );
    input.pipeInput('a', 'v1', 1);
    input.pipeInput('a', 'v2', 8);
    input.pipeInput('b', 'v3', 12);
    input.pipeInput('a', 'v4', 14);
    input.pipeInput('a', 'v5', 9); // within grace: still part of [0, 10)
    expect(read()).toEqual([]);
    input.pipeInput('a', 'v6', 15); // 10 + 5 <= 15: [0, 10) is final
    expect(read()).toEqual([['a', 0, 10, 'v1,v2,v5,', 9]]);
    input.pipeInput('a', 'v7', 26);
    expect(read()).toEqual([
      ['a', 10, 20, 'v4,v6,', 15],
      ['b', 10, 20, 'v3,', 12],
    ]);
    driver.close();
  });

  it('untilWindowCloses drops the deletes of merged sessions and waits for gap + grace', () => {
    const { driver, input, read } = windowedAppend((g) =>
      g
        .windowedBy(SessionWindows.ofInactivityGapAndGrace(5, 2))
        .aggregate(
          () => '',
          append,
          (_k, a, b) => a + b,
          { value: S },
        )
        .suppress(Suppressed.untilWindowCloses()),
    );
    input.pipeInput('a', 'v1', 10);
    input.pipeInput('a', 'v2', 14);
    input.pipeInput('a', 'v3', 15); // [10, 14] merges into [10, 15]: its delete is never emitted
    input.pipeInput('b', 'v4', 21); // 15 + 5 + 2 = 22 > 21: the session could still grow
    expect(read()).toEqual([]);
    input.pipeInput('b', 'v5', 22);
    expect(read()).toEqual([['a', 10, 15, 'v1,v2,v3,', 15]]);
    driver.close();
  });

  it('untilTimeLimit: the latest value of a key, a time limit after its first held-back update', () => {
    const { driver, input, read } = countsSuppressed((t) =>
      t.suppress(Suppressed.untilTimeLimit(10, BufferConfig.unbounded())),
    );
    input.pipeInput('a', 'x', 0);
    input.pipeInput('a', 'x', 5);
    input.pipeInput('b', 'x', 6);
    expect(read()).toEqual([]);
    input.pipeInput('a', 'x', 12); // a was first held back at 0: due at 10
    expect(read()).toEqual([['a', 3, 12]]);
    input.pipeInput('c', 'x', 16);
    expect(read()).toEqual([['b', 1, 6]]);
    driver.close();
  });

  it('a bounded buffer emits early when full, or fails the task when told to', () => {
    const eager = countsSuppressed((t) =>
      t.suppress(Suppressed.untilTimeLimit(1_000, BufferConfig.maxRecords(1))),
    );
    eager.input.pipeInput('a', 'x', 0);
    eager.input.pipeInput('b', 'x', 1);
    eager.input.pipeInput('b', 'x', 2);
    eager.input.pipeInput('c', 'x', 3);
    expect(eager.read()).toEqual([
      ['a', 1, 0],
      ['b', 2, 2],
    ]);
    eager.driver.close();
    const strict = countsSuppressed((t) =>
      t.suppress(Suppressed.untilTimeLimit(1_000, BufferConfig.maxRecords(1).shutDownWhenFull())),
    );
    strict.input.pipeInput('a', 'x', 0);
    expect(() => strict.input.pipeInput('b', 'x', 1)).toThrow(/exceeded its capacity: 2\/1 records/);
    strict.driver.close();
    // About 39 bytes per held-back count, by Kafka Streams' estimate (times, key, value, record context).
    const bytes = countsSuppressed((t) =>
      t.suppress(Suppressed.untilTimeLimit(1_000, BufferConfig.maxBytes(60))),
    );
    bytes.input.pipeInput('a', 'x', 0);
    bytes.input.pipeInput('b', 'x', 1);
    expect(bytes.read()).toEqual([['a', 1, 0]]);
    bytes.driver.close();
  });

  it('rebuilds its buffer from the store when a task starts again', () => {
    const bytes = new InMemoryKeyValueStore('buffer');
    const before = new SuppressionBuffer<string, number>(
      'buffer',
      bytes,
      S,
      Serdes.Long(),
      'app-buffer-changelog',
    );
    const context = { timestamp: 0, headers: new Headers([['h', 'v']]), topic: 'in' };
    before.put(20, 'late', { newValue: 1, oldValue: null }, { ...context, timestamp: 18 });
    before.put(10, 'early', { newValue: 1, oldValue: null }, { ...context, timestamp: 7 });
    before.put(10, 'early', { newValue: 2, oldValue: 1 }, { ...context, timestamp: 9 });
    // A new task over the same (restored) store: nothing held back is lost, the order is kept.
    const forwarded: unknown[] = [];
    const processor = suppressProcessor<string, number>({
      storeName: 'buffer',
      suppressDurationMs: 5,
      windowEndTime: false,
      maxRecords: Number.POSITIVE_INFINITY,
      maxBytes: Number.POSITIVE_INFINITY,
      emitEarlyWhenFull: false,
      dropTombstones: false,
    })();
    processor.init?.({
      getStateStore: () =>
        new SuppressionBuffer<string, number>('buffer', bytes, S, Serdes.Long(), 'app-buffer-changelog'),
      forward: (r: { key: string; value: { newValue: number }; timestamp: number; headers: Headers }) =>
        forwarded.push([r.key, r.value.newValue, r.timestamp, r.headers.getString('h')]),
      recordMetadata: () => undefined,
    } as never);
    processor.process({
      key: 'next',
      value: { newValue: 5, oldValue: null },
      timestamp: 25,
      headers: new Headers(),
    });
    expect(forwarded).toEqual([
      ['early', 2, 9, 'v'],
      ['late', 1, 18, 'v'],
    ]);
    expect(before.numRecords).toBe(2);
    expect([...bytes.all()].length).toBe(1); // only "next" is still held back
  });
});
