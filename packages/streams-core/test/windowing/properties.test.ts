/**
 * Property tests: random record sequences (keys, out-of-order timestamps within and beyond grace,
 * null values for joins) through each windowed operator, compared with a small brute-force model
 * of Kafka Streams' semantics written with plain arrays.
 */

import {
  JoinWindows,
  SessionWindows,
  SlidingWindows,
  StreamsBuilder,
  Suppressed,
  TimeWindows,
} from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { append, type Row, S, windowedAppend } from './support.ts';

interface In {
  key: string;
  /** Applied to the previous timestamp: negative steps are out-of-order records. */
  step: number;
}

const inputs = (maxBack: number, maxLength = 30) =>
  fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c'), step: fc.integer({ min: -maxBack, max: 12 }) }), {
    minLength: 1,
    maxLength,
  });

/** Absolute timestamps (never negative) and values v0, v1, ... */
function timeline(records: In[], start = 20): Array<{ key: string; ts: number; value: string }> {
  let t = start;
  return records.map((r, i) => {
    t = Math.max(0, t + r.step);
    return { key: r.key, ts: t, value: `v${i}` };
  });
}

function runAggregation(
  define: Parameters<typeof windowedAppend>[0],
  records: Array<{ key: string; ts: number; value: string }>,
): Row[][] {
  const { driver, input, read } = windowedAppend(define);
  const out = records.map((r) => {
    input.pipeInput(r.key, r.value, r.ts);
    return read();
  });
  driver.close();
  return out;
}

describe('TimeWindows (tumbling and hopping) against a model', () => {
  it('emits, per record, the updated content of every open window it falls in', () => {
    const windows = fc
      .record({
        size: fc.integer({ min: 1, max: 20 }),
        advance: fc.integer({ min: 1, max: 20 }),
        grace: fc.integer({ min: 0, max: 15 }),
      })
      .map((w) => ({ ...w, advance: Math.min(w.advance, w.size) }));
    fc.assert(
      fc.property(windows, inputs(30), (w, raw) => {
        const records = timeline(raw);
        const actual = runAggregation(
          (g) =>
            g
              .windowedBy(TimeWindows.ofSizeAndGrace(w.size, w.grace).advanceBy(w.advance))
              .aggregate(() => '', append, { value: S }),
          records,
        );
        const content = new Map<string, { agg: string; ts: number }>();
        let streamTime = -1;
        const expected = records.map((r) => {
          streamTime = Math.max(streamTime, r.ts);
          const rows: Row[] = [];
          for (let start = 0; start <= r.ts; start += w.advance) {
            const end = start + w.size;
            if (r.ts >= end || end <= streamTime - w.grace) continue;
            const id = `${r.key}@${start}`;
            const old = content.get(id);
            const next = { agg: `${old?.agg ?? ''}${r.value},`, ts: Math.max(old?.ts ?? -1, r.ts) };
            content.set(id, next);
            rows.push([r.key, start, end, next.agg, next.ts]);
          }
          return rows;
        });
        expect(actual).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it('suppress(untilWindowCloses) emits each window once, with its final content, after end + grace', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 15 }),
        inputs(30),
        (size, grace, raw) => {
          const records = timeline(raw);
          const actual = runAggregation(
            (g) =>
              g
                .windowedBy(TimeWindows.ofSizeAndGrace(size, grace))
                .aggregate(() => '', append, { value: S })
                .suppress(Suppressed.untilWindowCloses()),
            records,
          );
          const content = new Map<string, { key: string; start: number; agg: string; ts: number }>();
          const emitted = new Set<string>();
          let streamTime = -1;
          // The suppress node's stream time: the largest timestamp of the updates that reach it.
          let suppressTime = -1;
          const expected = records.map((r) => {
            streamTime = Math.max(streamTime, r.ts);
            const start = Math.floor(r.ts / size) * size;
            if (start + size > streamTime - grace) {
              const id = `${r.key}@${start}`;
              const old = content.get(id);
              content.set(id, {
                key: r.key,
                start,
                agg: `${old?.agg ?? ''}${r.value},`,
                ts: Math.max(old?.ts ?? -1, r.ts),
              });
              suppressTime = Math.max(suppressTime, r.ts);
            }
            const due = [...content.entries()]
              .filter(([id, c]) => !emitted.has(id) && c.start + size <= suppressTime - grace)
              .sort(([, a], [, b]) => a.start - b.start || (a.key < b.key ? -1 : 1));
            return due.map(([id, c]): Row => {
              emitted.add(id);
              return [c.key, c.start, c.start + size, c.agg, c.ts];
            });
          });
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 120 },
    );
  });
});

describe('SlidingWindows against a model', () => {
  /**
   * Sorted values of a window, so that the model need not follow the order of copies; distinct
   * rows, because Kafka Streams emits a window twice, with the same content, when a record's left
   * window is also the previous record's right window (the record is `timeDifference + 1` after it).
   */
  const canonical = (rows: Row[]) =>
    [
      ...new Set(
        rows.map(([k, s, e, v, t]) =>
          [k, s, e, (v ?? '').split(',').filter(Boolean).sort().join(','), t].join(' '),
        ),
      ),
    ].sort();

  it('emits every window that holds the new record, plus its new right window, with that window’s full content', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 10 }),
        fc.array(
          fc.record({
            key: fc.constantFrom('a', 'b'),
            late: fc.boolean(),
            step: fc.integer({ min: 0, max: 30 }),
          }),
          { minLength: 1, maxLength: 25 },
        ),
        (d, grace, raw) => {
          // Each record is on time (within grace of stream time) or entirely late (all its windows closed).
          let streamTime = -1;
          const records = raw.map((r, i) => {
            const late = r.late && streamTime - grace - d - 1 >= 0;
            const ts =
              streamTime < 0
                ? 15 + r.step
                : late
                  ? Math.max(0, streamTime - grace - d - 1 - (r.step % 5))
                  : r.step % 3 === 0
                    ? streamTime + r.step
                    : Math.max(0, streamTime - (r.step % (grace + 1)));
            streamTime = Math.max(streamTime, ts);
            return { key: r.key, ts, value: `v${i}` };
          });
          const actual = runAggregation(
            (g) =>
              g
                .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(d, grace))
                .aggregate(() => '', append, { value: S }),
            records,
          );
          const accepted: Array<{ key: string; ts: number; value: string }> = [];
          let time = -1;
          const windowsOf = (key: string, set: typeof accepted) => {
            const ts = set.filter((x) => x.key === key).map((x) => x.ts);
            const starts = new Set<number>();
            for (const t of ts) {
              starts.add(Math.max(0, t - d));
              if (ts.some((s) => s > t && s <= t + d)) starts.add(t + 1);
            }
            return starts;
          };
          const rowFor = (key: string, start: number, set: typeof accepted): Row => {
            const inside = set.filter((x) => x.key === key && x.ts >= start && x.ts <= start + d);
            return [
              key,
              start,
              start + d,
              inside.map((x) => `${x.value},`).join(''),
              Math.max(...inside.map((x) => x.ts)),
            ];
          };
          const expected = records.map((r) => {
            time = Math.max(time, r.ts);
            if (r.ts + d < time - grace) return [];
            const before = windowsOf(r.key, accepted);
            accepted.push(r);
            const after = windowsOf(r.key, accepted);
            const rows: Row[] = [];
            for (const start of after) {
              const holds = start <= r.ts && r.ts <= start + d;
              if (holds || (start === r.ts + 1 && !before.has(start)))
                rows.push(rowFor(r.key, start, accepted));
            }
            return rows;
          });
          expect(actual.map(canonical)).toEqual(expected.map(canonical));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('SessionWindows against a model', () => {
  it('merges sessions within the gap, forwarding deletes, and drops records for closed sessions', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 0, max: 12 }),
        inputs(35),
        (gap, grace, raw) => {
          const records = timeline(raw);
          const actual = runAggregation(
            (g) =>
              g.windowedBy(SessionWindows.ofInactivityGapAndGrace(gap, grace)).aggregate(
                () => '',
                append,
                (_k, a, b) => a + b,
                { value: S },
              ),
            records,
          );
          let sessions: Array<{ key: string; start: number; end: number; agg: string }> = [];
          let streamTime = -1;
          // The store forgets sessions that ended gap + grace before the latest session end it holds.
          let storeTime = -1;
          const expected = records.map((r) => {
            streamTime = Math.max(streamTime, r.ts);
            const live = (s: { end: number }) => s.end > storeTime - (gap + grace);
            const found = sessions
              .filter((s) => s.key === r.key && s.end >= r.ts - gap && s.start <= r.ts + gap && live(s))
              .sort((a, b) => a.end - b.end || a.start - b.start);
            const start = Math.min(r.ts, ...found.map((s) => s.start));
            const end = Math.max(r.ts, ...found.map((s) => s.end));
            if (end < streamTime - grace - gap) return [];
            const rows: Row[] = [];
            if (start !== r.ts || end !== r.ts)
              for (const s of found) rows.push([s.key, s.start, s.end, null, s.end]);
            const agg = `${found.map((s) => s.agg).join('')}${r.value},`;
            sessions = sessions.filter(
              (s) => !found.includes(s) && !(s.key === r.key && s.start === start && s.end === end),
            );
            storeTime = Math.max(storeTime, end);
            if (end > storeTime - (gap + grace)) sessions.push({ key: r.key, start, end, agg });
            rows.push([r.key, start, end, agg, end]);
            return rows;
          });
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('stream-stream joins against a model', () => {
  type Side = 'L' | 'R';
  interface Rec {
    side: Side;
    key: string;
    ts: number;
    value: string | null;
  }
  const joinInputs = fc.array(
    fc.record({
      side: fc.constantFrom<Side>('L', 'R'),
      key: fc.constantFrom('a', 'b', 'c'),
      step: fc.integer({ min: -25, max: 12 }),
      nullValue: fc.integer({ min: 0, max: 14 }),
    }),
    { minLength: 1, maxLength: 30 },
  );
  const params = fc.record({
    before: fc.integer({ min: 0, max: 12 }),
    after: fc.integer({ min: 0, max: 12 }),
    grace: fc.integer({ min: 0, max: 10 }),
  });

  function runJoin(
    kind: 'join' | 'leftJoin' | 'outerJoin',
    p: { before: number; after: number; grace: number },
    records: Rec[],
  ): string[][] {
    const builder = new StreamsBuilder();
    const left = builder.stream<string, string>('L', { key: S, value: S });
    const right = builder.stream<string, string>('R', { key: S, value: S });
    const windows = JoinWindows.ofTimeDifferenceAndGrace(0, p.grace).before(p.before).after(p.after);
    const joiner = (l: string | null, r: string | null) => `${l}+${r}`;
    const serdes = { key: S, value: S, otherValue: S };
    (kind === 'join'
      ? left.join(right, joiner, windows, serdes)
      : kind === 'leftJoin'
        ? left.leftJoin(right, joiner, windows, serdes)
        : left.outerJoin(right, joiner, windows, serdes)
    ).to('O', {
      key: S,
      value: S,
    });
    const driver = new TopologyTestDriver(builder.build());
    const topics = { L: driver.createInputTopic('L', S, S), R: driver.createInputTopic('R', S, S) };
    const output = driver.createOutputTopic('O', S, S);
    const out = records.map((r) => {
      topics[r.side].pipeInput(r.key, r.value as string, r.ts);
      return output.readRecordsToList().map((o) => `${o.key} ${o.value} ${o.timestamp}`);
    });
    driver.close();
    return out;
  }

  function toRecords(raw: Array<{ side: Side; key: string; step: number; nullValue: number }>): Rec[] {
    let t = 30;
    return raw.map((r, i) => {
      t = Math.max(0, t + r.step);
      return {
        side: r.side,
        key: r.key,
        ts: t,
        value: r.nullValue === 0 ? null : `${r.side.toLowerCase()}${i}`,
      };
    });
  }

  /**
   * Kafka Streams' semantics: each side keeps its records for before + after + grace after the
   * newest one; a record joins the other side's records within [t - before, t + after] (the right
   * side looks the other way). A left/outer record without a match waits in a shared store ordered
   * by (timestamp, right before left, key) and is emitted when a record that advances stream time
   * finds its window closed (timestamp + window + grace < stream time), skipping the scan while the
   * oldest waiting record's window is still open.
   */
  function model(
    kind: 'join' | 'leftJoin' | 'outerJoin',
    p: { before: number; after: number; grace: number },
    records: Rec[],
  ): string[][] {
    const retention = p.before + p.after + p.grace;
    const buffers = { L: [] as Rec[], R: [] as Rec[] };
    const observed = { L: -1, R: -1 };
    const outer = { L: kind !== 'join', R: kind === 'outerJoin' };
    const shared = kind !== 'join';
    let pending: Array<Rec & { seq: number }> = [];
    let seq = 0;
    let streamTime = -1;
    let minTime = Number.POSITIVE_INFINITY;
    const show = (l: string | null, r: string | null) => `${l}+${r}`;
    return records.map((r) => {
      const out: string[] = [];
      const other: Side = r.side === 'L' ? 'R' : 'L';
      const [joinBefore, joinAfter] = r.side === 'L' ? [p.before, p.after] : [p.after, p.before];
      streamTime = Math.max(streamTime, r.ts);
      if (r.value !== null) {
        if (
          shared &&
          r.ts === streamTime &&
          !(minTime !== Number.POSITIVE_INFINITY && minTime + joinAfter + p.grace >= streamTime)
        ) {
          const ordered = [...pending].sort(
            (a, b) =>
              a.ts - b.ts ||
              (a.side === b.side ? 0 : a.side === 'R' ? -1 : 1) ||
              (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) ||
              a.seq - b.seq,
          );
          minTime = Number.POSITIVE_INFINITY;
          const open = { L: false, R: false };
          const due: typeof pending = [];
          for (const x of ordered) {
            minTime = x.ts;
            if (open.L && open.R) break;
            if (x.ts + (x.side === 'L' ? p.after : p.before) + p.grace >= streamTime) {
              open[x.side] = true;
              continue;
            }
            due.push(x);
          }
          for (const x of due)
            out.push(`${x.key} ${x.side === 'L' ? show(x.value, null) : show(null, x.value)} ${x.ts}`);
          pending = pending.filter((x) => !due.includes(x));
        }
        const from = Math.max(0, r.ts - joinBefore);
        const to = Math.max(0, r.ts + joinAfter);
        const matches = buffers[other]
          .filter((o) => o.key === r.key && o.ts >= from && o.ts <= to && o.ts > observed[other] - retention)
          .sort((a, b) => a.ts - b.ts);
        for (const m of matches) {
          pending = pending.filter((x) => !(x.side === other && x.key === r.key && x.ts === m.ts));
          out.push(
            `${r.key} ${r.side === 'L' ? show(r.value, m.value) : show(m.value, r.value)} ${Math.max(r.ts, m.ts)}`,
          );
        }
        if (outer[r.side] && matches.length === 0) {
          if (!shared || to < streamTime)
            out.push(`${r.key} ${r.side === 'L' ? show(r.value, null) : show(null, r.value)} ${r.ts}`);
          else {
            minTime = Math.min(minTime, r.ts);
            pending.push({ ...r, seq: seq++ });
          }
        }
        observed[r.side] = Math.max(observed[r.side], r.ts);
        if (r.ts > observed[r.side] - retention) buffers[r.side].push(r);
      }
      return out;
    });
  }

  for (const kind of ['join', 'leftJoin', 'outerJoin'] as const) {
    it(`${kind}: the full output sequence matches the model`, () => {
      fc.assert(
        fc.property(params, joinInputs, (p, raw) => {
          const records = toRecords(raw);
          expect(runJoin(kind, p, records)).toEqual(model(kind, p, records));
        }),
        { numRuns: 150 },
      );
    });
  }
});
