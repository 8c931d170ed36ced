/** Small helpers shared by the windowing tests: windowed string aggregations and joins through the test driver. */
import {
  type KGroupedStream,
  type KTable,
  Serdes,
  StreamsBuilder,
  type Windowed,
} from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';

export const S = Serdes.String();

export type Row = [key: string, start: number, end: number, value: string | null, timestamp: number];

/** Appends each value to its window's string; outputs rows [key, start, end, value, timestamp]. */
export function windowedAppend(
  define: (grouped: KGroupedStream<string, string>) => KTable<Windowed<string>, string>,
) {
  const builder = new StreamsBuilder();
  const grouped = builder.stream<string, string>('in', { key: S, value: S }).groupByKey({ key: S, value: S });
  define(grouped)
    .toStream()
    .map((wk, v): [string, string] => [`${wk.key}|${wk.window.start}|${wk.window.end}`, v])
    .to('out', { key: S, value: S });
  const driver = new TopologyTestDriver(builder.build());
  const input = driver.createInputTopic('in', S, S);
  const output = driver.createOutputTopic('out', S, S);
  const read = (): Row[] =>
    output.readRecordsToList().map((r) => {
      const [k, start, end] = r.key.split('|');
      return [k!, Number(start), Number(end), r.value, r.timestamp];
    });
  return { driver, input, read };
}

export const append = (_k: string, v: string, agg: string) => `${agg}${v},`;
