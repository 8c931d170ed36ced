/**
 * Asynchronous steps, asynchronous serdes and holds in the TopologyTestDriver: piping starts the
 * work, `settle()` waits for it, results keep the order records were piped in, failures go to
 * the exception handler, and a store cannot be given an asynchronous serde.
 */
import {
  type AsyncSerde,
  Headers,
  Serdes,
  StreamsBuilder,
  Topology,
  TopologyException,
} from '@kafka-pattern/streams-core';
import { TopologyTestDriver } from '@kafka-pattern/streams-core/testing';
import { afterEach, describe, expect, it } from 'vitest';

const S = Serdes.String();
let driver: TopologyTestDriver | undefined;
afterEach(() => {
  driver?.close();
  driver = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Values stored aside under a reference, as a claim check does, with a header saying so. */
function referenceSerde(): AsyncSerde<string> & { stored: Map<string, string> } {
  const stored = new Map<string, string>();
  return {
    name: 'reference',
    asynchronous: true,
    stored,
    async serializeAsync(_topic, data, headers) {
      if (data === null) return null;
      await sleep(1);
      const ref = `ref-${stored.size}`;
      stored.set(ref, data);
      headers.set('stored-aside', '1');
      return Buffer.from(ref);
    },
    async deserializeAsync(_topic, data) {
      if (data === null) return null;
      await sleep(1);
      const value = stored.get(data.toString());
      if (value === undefined) throw new Error(`nothing stored under ${data.toString()}`);
      return value;
    },
  };
}

describe('mapValuesAsync in the test driver', () => {
  it('runs the calls and settle() waits for their results, in the order records were piped', async () => {
    const b = new StreamsBuilder();
    b.stream('in', { key: S, value: S })
      .mapValuesAsync(async (v, k) => {
        await sleep(k === 'slow' ? 20 : 1);
        return v.toUpperCase();
      })
      .mapValues((v, _k, headers) => `${v}/${headers.getString('h') ?? '-'}`)
      .to('out', { key: S, value: S });
    driver = new TopologyTestDriver(b.build());
    const input = driver.createInputTopic('in', S, S);
    const output = driver.createOutputTopic('out', S, S);
    input.pipeInput('slow', 'a', undefined, new Headers([['h', 'x']]));
    input.pipeInput('fast', 'b');
    input.pipeInput('slow', 'c');
    expect(output.readValuesToList()).toEqual([]);
    await driver.settle();
    expect(output.readKeyValuesToList()).toEqual([
      { key: 'slow', value: 'A/x' },
      { key: 'fast', value: 'B/-' },
      { key: 'slow', value: 'C/-' },
    ]);
  });

  it('sends a rejected call to the dead-letter topic with the record as it was read', async () => {
    const b = new StreamsBuilder();
    b.stream('in', { key: S, value: S })
      .mapValuesAsync(async (v) => {
        if (v === 'bad') throw new RangeError('no such account');
        return v;
      })
      .to('out', { key: S, value: S });
    driver = new TopologyTestDriver(b.build());
    const input = driver.createInputTopic('in', S, S);
    input.pipeInput('k', 'bad');
    input.pipeInput('k', 'good');
    await driver.settle();
    expect(driver.createOutputTopic('out', S, S).readValuesToList()).toEqual(['good']);
    const dlt = driver.createOutputTopic('in-dlt', S, S).readRecordsToList();
    expect(dlt.map((r) => r.value)).toEqual(['bad']);
    expect(dlt[0]!.headers.getString('kafka_dlt-exception-message')).toBe('no such account');
  });

  it("holdUntil keeps a topic's records until the wall clock passes the due time", async () => {
    const b = new StreamsBuilder();
    b.stream('in', { key: S, value: S })
      .holdUntil((_k, _v, headers) => Number(headers.getString('due') ?? 0))
      .to('out', { key: S, value: S });
    driver = new TopologyTestDriver(b.build(), { initialWallClockTime: 1_000 });
    const input = driver.createInputTopic('in', S, S);
    const output = driver.createOutputTopic('out', S, S);
    input.pipeInput('a', 'now');
    input.pipeInput('b', 'later', undefined, new Headers([['due', '5000']]));
    input.pipeInput('c', 'behind-later');
    expect(output.readValuesToList()).toEqual(['now']);
    driver.advanceWallClockTime(3_000);
    expect(output.readValuesToList()).toEqual([]);
    driver.advanceWallClockTime(1_000);
    expect(output.readValuesToList()).toEqual(['later', 'behind-later']);
  });
});

describe('asynchronous serdes', () => {
  it("decode at a source and encode at a sink, keeping order and the serde's headers", async () => {
    const serde = referenceSerde();
    serde.stored.set('in-0', 'first');
    serde.stored.set('in-1', 'second');
    const b = new StreamsBuilder();
    b.stream('in', { key: S, value: serde })
      .mapValues((v) => `${v}!`)
      .to('out', { key: S, value: serde });
    driver = new TopologyTestDriver(b.build());
    const input = driver.createInputTopic('in', S, S);
    const output = driver.createOutputTopic('out', S, S);
    input.pipeInput('k', 'in-0');
    input.pipeInput('k', 'in-1');
    input.pipeInput('k', 'missing');
    await driver.settle();
    const out = output.readRecordsToList();
    expect(out.map((r) => serde.stored.get(r.value))).toEqual(['first!', 'second!']);
    expect(out.every((r) => r.headers.getString('stored-aside') === '1')).toBe(true);
    // A value the serde cannot read is a deserialization failure: dead-lettered with its bytes.
    expect(driver.createOutputTopic('in-dlt', S, S).readValuesToList()).toEqual(['missing']);
  });

  it('a store given an asynchronous serde fails the build and says why', () => {
    const serde = referenceSerde();
    const b = new StreamsBuilder();
    const stream = b.stream('in', { key: S, value: S });
    expect(() => stream.toTable({ name: 'latest', value: serde as never })).toThrow(
      /asynchronous value serde "reference".*synchronous serde/,
    );
    const t = new Topology();
    expect(() => t.addSource('src', 'in', { keySerde: serde as never })).toThrow(TopologyException);
  });
});

describe('holds and asynchronous steps', () => {
  it('a hold downstream of an asynchronous step fails and says where to put it', async () => {
    const b = new StreamsBuilder();
    b.stream('in', { key: S, value: S })
      .mapValuesAsync(async (v) => v)
      .holdUntil(() => Number.MAX_SAFE_INTEGER)
      .to('out', { key: S, value: S });
    driver = new TopologyTestDriver(b.build());
    driver.createInputTopic('in', S, S).pipeInput('k', 'v');
    await expect(driver.settle()).rejects.toThrow(
      /hold right after the source, before any asynchronous step/,
    );
  });
});
