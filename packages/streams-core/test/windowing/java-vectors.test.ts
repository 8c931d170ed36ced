import { readFileSync } from 'node:fs';
import {
  JoinWindows,
  type KTable,
  Serdes,
  SessionWindows,
  SlidingWindows,
  StreamsBuilder,
  Suppressed,
  TimeWindows,
  type Windowed,
} from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { describe, expect, it } from 'vitest';

// Scenarios and Kafka Streams' own output for them: see vectors/README.md.
const dir = new URL('./vectors/', import.meta.url);
const blocks = (file: string) => readFileSync(new URL(file, dir), 'utf8').split('END\n').slice(0, -1);
const scenarios = blocks('scenarios.txt').map((b) =>
  b
    .trim()
    .split('\n')
    .map((l) => l.trim().split(' ')),
);
const javaOutput = blocks('java-output.txt');

const S = Serdes.String();

function run(mode: string[], records: string[][]): string {
  const builder = new StreamsBuilder();
  const left = builder.stream<string, string>('L', { key: S, value: S });
  const kind = mode[0]!;
  const n = (i: number) => Number(mode[i]);
  if (kind.startsWith('join')) {
    const right = builder.stream<string, string>('R', { key: S, value: S });
    const windows = JoinWindows.ofTimeDifferenceAndGrace(n(1), n(3)).before(n(1)).after(n(2));
    const joiner = (l: string | null, r: string | null) => `${l}+${r}`;
    const serdes = { key: S, value: S, otherValue: S };
    const joined =
      kind === 'join-inner'
        ? left.join(right, joiner, windows, serdes)
        : kind === 'join-left'
          ? left.leftJoin(right, joiner, windows, serdes)
          : left.outerJoin(right, joiner, windows, serdes);
    joined.to('O', { key: S, value: S });
  } else {
    const grouped = left.groupByKey({ key: S, value: S });
    const append = (_k: string, v: string, agg: string) => `${agg}${v},`;
    let table: KTable<Windowed<string>, string>;
    if (kind === 'time')
      table = grouped
        .windowedBy(TimeWindows.ofSizeAndGrace(n(1), n(3)).advanceBy(n(2)))
        .aggregate(() => '', append, { value: S });
    else if (kind === 'sliding')
      table = grouped
        .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(n(1), n(2)))
        .aggregate(() => '', append, { value: S });
    else
      table = grouped.windowedBy(SessionWindows.ofInactivityGapAndGrace(n(1), n(2))).aggregate(
        () => '',
        append,
        (_k, a, b) => a + b,
        { value: S },
      );
    if (mode[4] === 'suppress') table = table.suppress(Suppressed.untilWindowCloses());
    if (mode[4]?.startsWith('limit'))
      table = table.suppress(Suppressed.untilTimeLimit(Number(mode[4].slice(5))));
    table
      .toStream()
      .map((wk, v): [string, string] => [`${wk.key}@${wk.window.start}-${wk.window.end}`, v])
      .to('O', { key: S, value: S });
  }
  const driver = new TopologyTestDriver(builder.build());
  const inputs = {
    L: driver.createInputTopic('L', S, S),
    R: kind.startsWith('join') ? driver.createInputTopic('R', S, S) : undefined,
  };
  const output = driver.createOutputTopic('O', S, S);
  let out = '';
  for (const [side, key, value, timestamp] of records) {
    inputs[side as 'L' | 'R']!.pipeInput(
      (key === 'null' ? null : key) as string,
      (value === 'null' ? null : value) as string,
      Number(timestamp),
    );
    for (const r of output.readRecordsToList()) out += `${r.key} ${r.value} ${r.timestamp}\n`;
  }
  driver.close();
  return out;
}

describe('windowing agrees with Kafka Streams 4.1.1 record for record', () => {
  it('has one Java output per scenario', () => {
    expect(javaOutput.length).toBe(scenarios.length);
    expect(scenarios.length).toBeGreaterThan(200);
  });
  for (const kind of ['time', 'sliding', 'session', 'join-inner', 'join-left', 'join-outer']) {
    it(`${kind}: same output, order and timestamps as Java`, () => {
      scenarios.forEach(([mode, ...records], i) => {
        if (mode![0] !== kind) return;
        expect(run(mode!, records), `scenario ${i}: ${mode!.join(' ')}`).toBe(javaOutput[i]);
      });
    });
  }
});
