/**
 * Compile-time checks of the DSL's types: `pnpm tsc -p packages/streams-core --noEmit` fails when
 * an `expectTypeOf` does not hold or a `@ts-expect-error` line compiles. The blocks also run, so
 * each builds its topology; lines that would fail at run time sit in functions never called.
 */

import {
  type KGroupedStream,
  type KGroupedTable,
  type KStream,
  type KTable,
  type ProcessorSupplier,
  Serdes,
  StreamsBuilder,
} from '@kafka-pattern/streams-core';
import {
  type TestInputTopic,
  type TestOutputTopic,
  type TestRecord,
  TopologyTestDriver,
} from '@kafka-pattern/streams-core/testing';
import { describe, expectTypeOf, it } from 'vitest';

const S = Serdes.String();
const L = Serdes.Long();

function source() {
  const builder = new StreamsBuilder();
  return { builder, s: builder.stream('in', { key: S, value: L }) };
}

type Order = { kind: 'order'; id: string; amount: number };
type Refund = { kind: 'refund'; id: string; orderId: string };
type Event = Order | Refund;

describe('KStream types', () => {
  it('a stream takes its key and value types from the serdes', () => {
    const { s } = source();
    expectTypeOf(s).toEqualTypeOf<KStream<string, number>>();
    const untyped = new StreamsBuilder().stream('t');
    expectTypeOf(untyped).toEqualTypeOf<KStream<unknown, unknown>>();
  });

  it('mapValues changes the value type and takes (value, key)', () => {
    const { s } = source();
    const mapped = s.mapValues((value, key) => {
      expectTypeOf(value).toEqualTypeOf<number>();
      expectTypeOf(key).toEqualTypeOf<string>();
      return { total: value, key };
    });
    expectTypeOf(mapped).toEqualTypeOf<KStream<string, { total: number; key: string }>>();
    expectTypeOf(s.flatMapValues((v) => [String(v)])).toEqualTypeOf<KStream<string, string>>();
    // @ts-expect-error the first argument is the value (a number), not the key
    s.mapValues((v: string) => v);
  });

  it('map returns a [key, value] tuple and changes both types', () => {
    const { s } = source();
    expectTypeOf(s.map((k, v) => [v, k.length > 0] as const)).toEqualTypeOf<KStream<number, boolean>>();
    expectTypeOf(s.map((k, v) => [v, k])).toEqualTypeOf<KStream<number, string>>();
    // @ts-expect-error a key-value object is not a tuple
    s.map((k, v) => ({ key: k, value: v }));
    // @ts-expect-error a one-element array is not a [key, value] tuple
    s.map((k) => [k] as const);
    expectTypeOf(s.flatMap((k, v) => [[v, k] as const])).toEqualTypeOf<KStream<number, string>>();
    expectTypeOf(s.selectKey((_k, v) => v > 0)).toEqualTypeOf<KStream<boolean, number>>();
  });

  it('filter with a type guard narrows; a plain predicate and filterNot keep the type', () => {
    const events = new StreamsBuilder().stream('e', { key: S, value: Serdes.JSON<Event>() });
    expectTypeOf(events.filter((_k, e): e is Order => e.kind === 'order')).toEqualTypeOf<
      KStream<string, Order>
    >();
    // TypeScript infers the guard from a discriminant check, so this narrows too.
    expectTypeOf(events.filter((_k, e) => e.kind === 'order')).toEqualTypeOf<KStream<string, Order>>();
    expectTypeOf(events.filter((_k, e) => e.id.length > 0)).toEqualTypeOf<KStream<string, Event>>();
    expectTypeOf(events.filterNot((_k, e) => e.kind === 'order')).toEqualTypeOf<KStream<string, Event>>();
    const orders = events.filter((_k, e): e is Order => e.kind === 'order');
    orders.mapValues((o) => o.amount);
    // @ts-expect-error a refund field is not on the narrowed type
    orders.mapValues((o) => o.orderId);
  });

  it('split returns one typed stream per named branch, narrowed by type guards', () => {
    const events = new StreamsBuilder().stream('e', { key: S, value: Serdes.JSON<Event>() });
    const branches = events.split({
      orders: (_k, e): e is Order => e.kind === 'order',
      refunds: (_k, e): e is Refund => e.kind === 'refund',
      other: () => true,
    });
    expectTypeOf(branches.orders).toEqualTypeOf<KStream<string, Order>>();
    expectTypeOf(branches.refunds).toEqualTypeOf<KStream<string, Refund>>();
    expectTypeOf(branches.other).toEqualTypeOf<KStream<string, Event>>();
    // @ts-expect-error there is no branch of that name
    branches.missing;
  });

  it('to takes serdes of the stream types; a serde of another type does not compile', () => {
    const { s } = source();
    s.to('ok', { key: S, value: L });
    s.to((key, value) => `${key}-${value.toFixed(0)}`);
    // @ts-expect-error the values are numbers, not strings
    s.to('wrong', { value: S });
    // @ts-expect-error the keys are strings, not numbers
    s.to('wrong-key', { key: L });
    // @ts-expect-error a partitioner sees the stream's types
    s.to('p', { partitioner: (_t: string, key: number) => key });
  });

  it('merge needs a stream of the same types', () => {
    const { builder, s } = source();
    const other = builder.stream('other', { key: S, value: L });
    expectTypeOf(s.merge(other)).toEqualTypeOf<KStream<string, number>>();
    const strings = builder.stream('strings', { key: S, value: S });
    // @ts-expect-error the other stream carries strings
    s.merge(strings);
  });

  it('process gives the stream the processor output types', () => {
    const { s } = source();
    const supplier: ProcessorSupplier<string, number, number, string> = () => ({ process() {} });
    expectTypeOf(s.process(supplier)).toEqualTypeOf<KStream<number, string>>();
    const forStrings: ProcessorSupplier<string, string, string, string> = () => ({ process() {} });
    // @ts-expect-error the processor reads string values, the stream has numbers
    s.process(forStrings);
  });
});

describe('grouping and table types', () => {
  it('grouping and aggregating give typed grouped streams and tables', () => {
    const { s } = source();
    expectTypeOf(s.groupByKey()).toEqualTypeOf<KGroupedStream<string, number>>();
    const byParity = s.groupBy((_k, v) => v % 2 === 0, { key: Serdes.Boolean() });
    expectTypeOf(byParity).toEqualTypeOf<KGroupedStream<boolean, number>>();
    expectTypeOf(byParity.count()).toEqualTypeOf<KTable<boolean, number>>();
    expectTypeOf(s.groupByKey().reduce((a, b) => a + b)).toEqualTypeOf<KTable<string, number>>();
    const agg = s.groupByKey().aggregate(
      () => [] as number[],
      (_k, v, list) => [...list, v],
      { value: Serdes.JSON<number[]>() },
    );
    expectTypeOf(agg).toEqualTypeOf<KTable<string, number[]>>();
    const toText = (_k: string, v: number) => String(v);
    const zero = () => 0;
    // @ts-expect-error the aggregator must return the aggregate type
    s.groupByKey().aggregate(zero, toText);
    const sum = (_k: string, v: number, a: number) => a + v;
    // @ts-expect-error the store serde must hold the aggregate type
    s.groupByKey().aggregate(zero, sum, { value: S });
  });

  it('KTable operators keep or change types as KStream ones do', () => {
    const t = new StreamsBuilder().table('t', { key: S, value: L });
    expectTypeOf(t).toEqualTypeOf<KTable<string, number>>();
    expectTypeOf(t.filter((_k, v) => v > 0)).toEqualTypeOf<KTable<string, number>>();
    expectTypeOf(t.mapValues((v, k) => `${k}${v}`)).toEqualTypeOf<KTable<string, string>>();
    expectTypeOf(t.toStream()).toEqualTypeOf<KStream<string, number>>();
    const regrouped = t.groupBy((k, v) => [v, k] as const, { key: L, value: S });
    expectTypeOf(regrouped).toEqualTypeOf<KGroupedTable<number, string>>();
    expectTypeOf(
      regrouped.reduce(
        (a, b) => a + b,
        (a) => a,
      ),
    ).toEqualTypeOf<KTable<number, string>>();
    // @ts-expect-error KTable.groupBy needs a [key, value] tuple
    t.groupBy((k) => k);
  });

  it('joins type the joiner arguments, with null where a side may be missing', () => {
    const builder = new StreamsBuilder();
    const left = builder.table('l', { key: S, value: L });
    const right = builder.table('r', { key: S, value: S });
    expectTypeOf(
      left.join(right, (l, r) => {
        expectTypeOf(l).toEqualTypeOf<number>();
        expectTypeOf(r).toEqualTypeOf<string>();
        return r.length + l;
      }),
    ).toEqualTypeOf<KTable<string, number>>();
    left.leftJoin(right, (l, r) => {
      expectTypeOf(l).toEqualTypeOf<number>();
      expectTypeOf(r).toEqualTypeOf<string | null>();
      return l;
    });
    left.outerJoin(right, (l, r) => {
      expectTypeOf(l).toEqualTypeOf<number | null>();
      expectTypeOf(r).toEqualTypeOf<string | null>();
      return 0;
    });
    const stream = builder.stream('s', { key: S, value: Serdes.Boolean() });
    expectTypeOf(stream.join(right, (sv, tv) => (sv ? tv : ''))).toEqualTypeOf<KStream<string, string>>();
    stream.leftJoin(right, (_sv, tv) => {
      expectTypeOf(tv).toEqualTypeOf<string | null>();
      return tv ?? '';
    });
    const numericKeys = builder.table('n', { key: L, value: S });
    // @ts-expect-error tables joined on the key must share the key type
    left.join(numericKeys, (l, r) => l + r);
  });
});

describe('test driver types', () => {
  it('input and output topics take their types from the serdes', () => {
    const builder = new StreamsBuilder();
    builder.stream('in', { key: S, value: L }).to('out');
    const driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('in', S, L);
    const output = driver.createOutputTopic('out', S, L);
    expectTypeOf(input).toEqualTypeOf<TestInputTopic<string, number>>();
    expectTypeOf(output).toEqualTypeOf<TestOutputTopic<string, number>>();
    expectTypeOf(output.readRecordsToList()).toEqualTypeOf<TestRecord<string, number>[]>();
    expectTypeOf(output.readKeyValuesToMap()).toEqualTypeOf<Map<string, number>>();
    const wrongValue = () => {
      // @ts-expect-error the input topic's values are numbers
      input.pipeInput('k', 'one');
    };
    void wrongValue;
    driver.close();
  });
});
