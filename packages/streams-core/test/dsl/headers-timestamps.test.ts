import {
  Headers,
  type ProcessorContext,
  type ProcessorSupplier,
  Serdes,
  StreamsBuilder,
} from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { afterEach, describe, expect, it } from 'vitest';

const S = Serdes.String();
const L = Serdes.Long();

let driver: TopologyTestDriver | undefined;
afterEach(() => {
  driver?.close();
  driver = undefined;
});

/** Adds `stamp: <value>` to each record's headers, as a processor would to tag provenance. */
function stamp<K, V>(): ProcessorSupplier<K, V, K, V> {
  return () => {
    let ctx: ProcessorContext<K, V>;
    return {
      init(c) {
        ctx = c;
      },
      process: (r) =>
        ctx.forward({ ...r, headers: r.headers.clone().set('stamp', `seen-${String(r.value)}`) }),
    };
  };
}

const headersOf = (records: Array<{ headers: Headers }>) => records.map((r) => r.headers.toJSON());

describe('headers travel with records', () => {
  it('piped headers pass through stateless operators to the output', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', { key: S, value: S })
      .filter(() => true)
      .mapValues((v) => v.toUpperCase())
      .selectKey((_k, v) => v)
      .flatMapValues((v) => [v, v])
      .to('out', { key: S, value: S });
    driver = new TopologyTestDriver(builder.build());
    driver.createInputTopic('in', S, S).pipeInput('k', 'x', 1, [
      ['trace', 't1'],
      ['trace', 't2'],
      ['bin', Buffer.from([0, 255])],
    ]);
    const out = driver.createOutputTopic('out', S, S).readRecordsToList();
    expect(out).toHaveLength(2);
    for (const r of out) {
      expect(r.headers.values('trace').map(String)).toEqual(['t1', 't2']);
      expect(r.headers.get('bin')).toEqual(Buffer.from([0, 255]));
    }
  });

  it('headers set in a processor reach the output through a repartition and an aggregation', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', { key: S, value: S })
      .process(stamp<string, string>())
      .groupBy((_k, v) => v, { key: S, value: S })
      .count({ name: 'counts' })
      .toStream()
      .to('out', { key: S, value: L });
    driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('in', S, S);
    input.pipeInput('k', 'a', 1, { origin: 'web' });
    input.pipeInput('k', 'a', 2, { origin: 'app' });
    const out = driver.createOutputTopic('out', S, L).readRecordsToList();
    expect(out.map((r) => r.value)).toEqual([1, 2]);
    expect(headersOf(out)).toEqual([
      { origin: 'web', stamp: 'seen-a' },
      { origin: 'app', stamp: 'seen-a' },
    ]);
  });

  it('headers pass through toTable, KTable filter/mapValues and a KTable groupBy aggregation', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', { key: S, value: L })
      .toTable()
      .filter((_k, v) => v > 0)
      .mapValues((v) => v * 10)
      .groupBy((k, v) => [k.slice(0, 1), v] as const, { key: S, value: L })
      .reduce(
        (a, b) => a + b,
        (a, b) => a - b,
      )
      .toStream()
      .to('out', { key: S, value: L });
    driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('in', S, L);
    input.pipeInput('a1', 1, 1, { h: '1' });
    input.pipeInput('a2', 2, 2, { h: '2' });
    const out = driver.createOutputTopic('out', S, L).readRecordsToList();
    expect(out.map((r) => [r.key, r.value])).toEqual([
      ['a', 10],
      ['a', 30],
    ]);
    expect(headersOf(out)).toEqual([{ h: '1' }, { h: '2' }]);
  });

  it('stream-table and table-table join results carry the headers of the record that caused them', () => {
    const builder = new StreamsBuilder();
    const t1 = builder.table('t1', { key: S, value: S });
    const t2 = builder.table('t2', { key: S, value: S });
    t1.join(t2, (a, b) => `${a}${b}`)
      .toStream()
      .to('tt', { key: S, value: S });
    builder
      .stream('s', { key: S, value: S })
      .join(t1, (s, t) => `${s}${t}`)
      .to('st', { key: S, value: S });
    driver = new TopologyTestDriver(builder.build());
    driver.createInputTopic('t1', S, S).pipeInput('k', 'A', 1, { from: 't1' });
    driver.createInputTopic('t2', S, S).pipeInput('k', 'B', 2, { from: 't2' });
    driver.createInputTopic('s', S, S).pipeInput('k', 'C', 3, { from: 's' });
    expect(headersOf(driver.createOutputTopic('tt', S, S).readRecordsToList())).toEqual([{ from: 't2' }]);
    expect(headersOf(driver.createOutputTopic('st', S, S).readRecordsToList())).toEqual([{ from: 's' }]);
  });

  it('what was written keeps its headers when a later operator changes the record headers', () => {
    const builder = new StreamsBuilder();
    const s = builder.stream('in', { key: S, value: S });
    s.to('first', { key: S, value: S });
    s.process<string, string>(() => {
      let ctx: ProcessorContext<string, string>;
      return {
        init(c) {
          ctx = c;
        },
        process: (r) => {
          r.headers.add('late', 'x');
          ctx.forward(r);
        },
      };
    }).to('second', { key: S, value: S });
    driver = new TopologyTestDriver(builder.build());
    const h = new Headers([['h', 'v']]);
    driver.createInputTopic('in', S, S).pipeInput('k', 'v', 1, h);
    expect(headersOf(driver.createOutputTopic('first', S, S).readRecordsToList())).toEqual([{ h: 'v' }]);
    expect(headersOf(driver.createOutputTopic('second', S, S).readRecordsToList())).toEqual([
      { h: 'v', late: 'x' },
    ]);
    expect(h.toJSON()).toEqual({ h: 'v' });
  });
});

describe('timestamps', () => {
  it('a timestamp extractor chooses event time from the record; a negative result drops and counts it', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', {
        key: S,
        value: Serdes.JSON<{ at: number }>(),
        timestampExtractor: (r, partitionTime) => {
          const at = (JSON.parse(r.value!.toString()) as { at: number }).at;
          return at === 0 ? partitionTime : at;
        },
      })
      .to('out', { key: S, value: Serdes.JSON() });
    driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('in', S, Serdes.JSON<{ at: number }>());
    input.pipeInput('a', { at: 0 }, 1); // no partition time yet: -1, dropped
    input.pipeInput('b', { at: 500 }, 1);
    input.pipeInput('c', { at: 0 }, 1); // falls back to partition time
    input.pipeInput('d', { at: 300 }, 1);
    expect(
      driver
        .createOutputTopic('out', S, Serdes.JSON())
        .readRecordsToList()
        .map((r) => [r.key, r.timestamp]),
    ).toEqual([
      ['b', 500],
      ['c', 500],
      ['d', 300],
    ]);
    expect(Object.values(driver.metrics())[0]!.droppedRecords).toBe(1);
  });

  it('records piped without a timestamp get the topic time, which starts at the wall clock and auto-advances', () => {
    const builder = new StreamsBuilder();
    builder.stream('in', { key: S, value: S }).to('out', { key: S, value: S });
    driver = new TopologyTestDriver(builder.build(), { initialWallClockTime: 1_000_000 });
    const plain = driver.createInputTopic('in', S, S);
    plain.pipeInput('a', '1');
    const ticking = driver.createInputTopic('in', S, S, { startTimestamp: 50, autoAdvanceMs: 10 });
    ticking.pipeValueList(['x', 'y']);
    ticking.advanceTime(100);
    ticking.pipeInput('z', 'z');
    ticking.pipeInput('t', 't', 7);
    expect(
      driver
        .createOutputTopic('out', S, S)
        .readRecordsToList()
        .map((r) => r.timestamp),
    ).toEqual([1_000_000, 50, 60, 170, 7]);
  });
});
