import {
  type KeyValueStore,
  type ProcessorContext,
  type ProcessorSupplier,
  type RecordMetadata,
  Serdes,
  Stores,
  StreamsBuilder,
  StreamsException,
  Topology,
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

describe('KStream.process with the Processor API', () => {
  it('forwards to every child, with a new key, value and timestamp', () => {
    const builder = new StreamsBuilder();
    const upper: ProcessorSupplier<string, string, string, number> = () => {
      let ctx: ProcessorContext<string, number>;
      return {
        init: (c) => {
          ctx = c;
        },
        process: (r) =>
          ctx.forward({
            key: r.key.toUpperCase(),
            value: r.value.length,
            timestamp: r.timestamp + 1,
            headers: r.headers,
          }),
      };
    };
    const processed = builder.stream('in', { key: S, value: S }).process(upper);
    processed.to('one', { key: S, value: Serdes.Integer() });
    processed.mapValues((n) => n * 100).to('two', { key: S, value: Serdes.Integer() });
    driver = new TopologyTestDriver(builder.build());
    driver.createInputTopic('in', S, S).pipeInput('k', 'abc', 10);
    expect(
      driver
        .createOutputTopic('one', S, Serdes.Integer())
        .readRecordsToList()
        .map((r) => [r.key, r.value, r.timestamp]),
    ).toEqual([['K', 3, 11]]);
    expect(driver.createOutputTopic('two', S, Serdes.Integer()).readKeyValuesToList()).toEqual([
      { key: 'K', value: 300 },
    ]);
  });

  it('forwards to one named child only', () => {
    const builder = new StreamsBuilder();
    const router: ProcessorSupplier<string, string, string, string> = () => {
      let ctx: ProcessorContext<string, string>;
      return {
        init: (c) => {
          ctx = c;
        },
        process: (r) => ctx.forward(r, r.value.startsWith('!') ? 'to-alerts' : 'to-normal'),
      };
    };
    const routed = builder.stream('in', { key: S, value: S }).process(router, { name: 'router' });
    routed.to('alerts', { key: S, value: S, name: 'to-alerts' });
    routed.to('normal', { key: S, value: S, name: 'to-normal' });
    driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('in', S, S);
    input.pipeInput('a', '!fire');
    input.pipeInput('b', 'ok');
    expect(driver.createOutputTopic('alerts', S, S).readValuesToList()).toEqual(['!fire']);
    expect(driver.createOutputTopic('normal', S, S).readValuesToList()).toEqual(['ok']);
  });

  it('forwarding to a name that is not a child fails with the names of the children', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', { key: S, value: S })
      .process<string, string>(
        () => {
          let ctx: ProcessorContext<string, string>;
          return {
            init(c) {
              ctx = c;
            },
            process: (r) => ctx.forward(r, 'nope'),
          };
        },
        { name: 'p' },
      )
      .to('out', { key: S, value: S, name: 'the-sink' });
    driver = new TopologyTestDriver(builder.build());
    expect(() => driver!.createInputTopic('in', S, S).pipeInput('k', 'v')).toThrow(
      /p forwarded to "nope", which is not one of its children \(the-sink\)/,
    );
  });

  it('reads and writes a key-value store added with builder.addStateStore', () => {
    const builder = new StreamsBuilder();
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('seen'), S, L));
    const dedupe: ProcessorSupplier<string, string, string, string> = () => {
      let ctx: ProcessorContext<string, string>;
      let store: KeyValueStore<string, number>;
      return {
        init(c) {
          ctx = c;
          store = c.getStateStore('seen');
        },
        process(r) {
          const n = store.get(r.value) ?? 0;
          store.put(r.value, n + 1);
          if (n === 0) ctx.forward(r);
        },
      };
    };
    builder.stream('in', { key: S, value: S }).process(dedupe, 'seen').to('unique', { key: S, value: S });
    driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('in', S, S);
    input.pipeValueList(['x', 'y', 'x', 'z', 'y', 'x']);
    expect(driver.createOutputTopic('unique', S, S).readValuesToList()).toEqual(['x', 'y', 'z']);
    const store = driver.getKeyValueStore<string, number>('seen');
    expect(store.all()).toEqual([
      { key: 'x', value: 3 },
      { key: 'y', value: 2 },
      { key: 'z', value: 1 },
    ]);
  });

  it('recordMetadata gives the topic, partition and offset of the record being processed', () => {
    const seen: Array<RecordMetadata | undefined> = [];
    const ids: string[] = [];
    const builder = new StreamsBuilder();
    builder.stream('in', { key: S, value: S }).process<never, never>(() => {
      let ctx: ProcessorContext<never, never>;
      return {
        init(c) {
          ctx = c;
          ids.push(`${c.applicationId}/${c.taskId}/${c.partition}`);
        },
        process() {
          seen.push(ctx.recordMetadata());
        },
      };
    });
    driver = new TopologyTestDriver(builder.build(), { config: { applicationId: 'meta-app' } });
    const input = driver.createInputTopic('in', S, S);
    input.pipeInput('a', '1');
    input.pipeInput('b', '2');
    expect(ids).toEqual(['meta-app/0_0/0']);
    expect(seen).toEqual([
      { topic: 'in', partition: 0, offset: 0n },
      { topic: 'in', partition: 0, offset: 1n },
    ]);
  });

  it('a store that is not connected to the processor is refused with a message that says how to connect it', () => {
    const builder = new StreamsBuilder();
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('connected'), S, L));
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('other'), S, L));
    builder.stream('a', { key: S, value: S }).process<never, never>(() => ({ process() {} }), 'other');
    builder.stream('in', { key: S, value: S }).process<never, never>(
      () => {
        let ctx: ProcessorContext<never, never>;
        return {
          init(c) {
            ctx = c;
          },
          process: () => void ctx.getStateStore('other'),
        };
      },
      { name: 'reader' },
      'connected',
    );
    driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('in', S, S);
    const error = (() => {
      try {
        input.pipeInput('k', 'v');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(StreamsException);
    expect((error as Error).message).toMatch(
      /Processor reader has no access to store "other": connect it with addStateStore\(builder, "reader"\)/,
    );
    // A topology mistake is not a bad record: nothing goes to a dead-letter topic.
    expect(driver.producedTopicNames().size).toBe(0);
  });

  it('a store asked for in init that was never connected fails when the driver starts', () => {
    const builder = new StreamsBuilder();
    builder.stream('in', { key: S, value: S }).process<never, never>(() => ({
      init: (c) => void c.getStateStore('missing'),
      process() {},
    }));
    expect(() => new TopologyTestDriver(builder.build())).toThrow(/has no access to store "missing"/);
  });

  it('naming a store that was never added fails while building', () => {
    const builder = new StreamsBuilder();
    const s = builder.stream('in', { key: S, value: S });
    expect(() => s.process(() => ({ process() {} }), 'ghost')).toThrow(
      /Store "ghost" is not in this topology/,
    );
  });
});

describe('Topology built with the Processor API alone', () => {
  it('runs source → processor (with a store) → sink', () => {
    const topology = new Topology()
      .addSource('src', 'in', { keySerde: S, valueSerde: L })
      .addProcessor<string, number, string, number>(
        'sum',
        () => {
          let ctx: ProcessorContext<string, number>;
          let store: KeyValueStore<string, number>;
          return {
            init(c) {
              ctx = c;
              store = c.getStateStore('sums');
            },
            process(r) {
              const total = (store.get(r.key) ?? 0) + r.value;
              store.put(r.key, total);
              ctx.forward({ ...r, value: total });
            },
          };
        },
        'src',
      )
      .addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore('sums'), S, L), 'sum')
      .addSink('sink', 'out', { keySerde: S, valueSerde: L }, 'sum');
    driver = new TopologyTestDriver(topology);
    const input = driver.createInputTopic('in', S, L);
    input.pipeInput('a', 5, 1);
    input.pipeInput('a', 6, 2);
    expect(
      driver
        .createOutputTopic('out', S, L)
        .readRecordsToList()
        .map((r) => [r.key, r.value, r.timestamp]),
    ).toEqual([
      ['a', 5, 1],
      ['a', 11, 2],
    ]);
    expect(driver.getKeyValueStore('sums').get('a')).toBe(11);
  });
});
