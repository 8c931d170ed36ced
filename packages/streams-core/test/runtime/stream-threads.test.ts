/**
 * numStreamThreads without a broker: what the constructor refuses (and why), how the threads'
 * states make one state machine, how their metrics add up, and how an instance's members (one
 * per thread) read as one instance in the group's metadata.
 */
import {
  ConfigException,
  KafkaStreams,
  Serdes,
  StreamsBuilder,
  type StreamsConfig,
} from '@kafka-pattern/streams-core';
import { describe, expect, it } from 'vitest';
import type { KafkaClientFactory } from '../../src/client/port.ts';
import { consoleLogger } from '../../src/observability/logger.ts';
import { streamsMetadata } from '../../src/query/metadata.ts';
import { emptyTaskMetrics, mergeThreadMetrics, type StreamsMetrics } from '../../src/runtime/metrics.ts';
import { type StreamsState, StreamsStateMachine } from '../../src/runtime/streams-state.ts';
import { ThreadStates } from '../../src/runtime/thread-states.ts';

const base: StreamsConfig = {
  applicationId: 'app',
  bootstrapServers: ['127.0.0.1:9092'],
  numStreamThreads: 2,
};
const topologyModule = new URL('./fixtures/pass-through-topology.ts', import.meta.url);

function passThrough() {
  const builder = new StreamsBuilder();
  builder.stream('in', { key: Serdes.String(), value: Serdes.String() }).to('out');
  return builder.build();
}

function refusal(
  config: Partial<StreamsConfig>,
  options: ConstructorParameters<typeof KafkaStreams>[2] = { topologyModule },
) {
  try {
    new KafkaStreams(passThrough(), { ...base, ...config }, options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigException);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('numStreamThreads > 1: what KafkaStreams refuses at construction', () => {
  it('refuses to start worker threads without a topology module, saying what to pass', () => {
    expect(refusal({}, {})).toBe(
      "numStreamThreads 2 runs stream threads 2..2 in worker threads, which cannot receive the topology (it holds functions) and build it themselves: pass KafkaStreamsOptions.topologyModule, the URL or path of a module whose default export returns this topology, e.g. new KafkaStreams(topology, config, { topologyModule: new URL('./topology.ts', import.meta.url) })",
    );
    expect(() => new KafkaStreams(passThrough(), { ...base, numStreamThreads: 1 })).not.toThrow();
    expect(() => new KafkaStreams(passThrough(), base, { topologyModule })).not.toThrow();
    expect(
      () => new KafkaStreams(passThrough(), base, { topologyModule: 'test/fixtures/topology.ts' }),
    ).not.toThrow();
  });

  it('refuses config a worker cannot receive, naming the option and what to use instead', () => {
    expect(refusal({ defaultKeySerde: Serdes.String() })).toMatch(
      /^numStreamThreads 2 runs stream threads 2\.\.2 in worker threads, which cannot receive config\.defaultKeySerde(\.\w+)? \((a function|an instance of \w+)\): give the serdes on the topology \(the topology module builds them in each worker\), or use numStreamThreads 1$/,
    );
    expect(refusal({ processingExceptionHandler: () => 'CONTINUE' })).toBe(
      "numStreamThreads 2 runs stream threads 2..2 in worker threads, which cannot receive config.processingExceptionHandler (a function): use 'dead-letter', 'log-and-continue' or 'log-and-fail', or use numStreamThreads 1",
    );
    expect(refusal({ deadLetter: { topic: (t) => `${t}.dead` } })).toBe(
      'numStreamThreads 2 runs stream threads 2..2 in worker threads, which cannot receive config.deadLetter.topic (a function): keep the default dead-letter topics (<topic>-dlt), or use numStreamThreads 1',
    );
    expect(refusal({ numStandbyReplicas: 1 })).toBe(
      'numStreamThreads 2 runs stream threads 2..2 in worker threads, and standby replicas are not supported with more than one stream thread yet: use numStandbyReplicas 0 or numStreamThreads 1',
    );
    expect(refusal({}, { topologyModule, clientFactory: {} as KafkaClientFactory })).toBe(
      'numStreamThreads 2 runs stream threads 2..2 in worker threads, which cannot receive a clientFactory (it holds functions): use numStreamThreads 1 with a custom client',
    );
    expect(refusal({}, { topologyModule, topologyArgs: [() => 1] })).toBe(
      'numStreamThreads 2 runs stream threads 2..2 in worker threads, which cannot receive topologyArgs[0] (a function): topologyArgs are copied into each worker, so give plain data (strings, numbers, arrays, plain objects)',
    );
    // The logger is forwarded: worker threads log through it.
    expect(
      () => new KafkaStreams(passThrough(), { ...base, logger: consoleLogger }, { topologyModule }),
    ).not.toThrow();
  });
});

describe('ThreadStates', () => {
  it('is RUNNING only while every thread runs, and REBALANCING once when the first leaves', () => {
    const machine = new StreamsStateMachine(consoleLogger);
    const seen: StreamsState[] = [];
    machine.onChange((s) => seen.push(s));
    machine.transition('REBALANCING');
    const states = new ThreadStates(machine, 2);
    const [one, two] = [states.thread(0), states.thread(1)];
    one.transition('REBALANCING');
    one.transition('RUNNING');
    expect(machine.state).toBe('REBALANCING');
    two.transition('RUNNING');
    expect(machine.state).toBe('RUNNING');
    two.transition('REBALANCING');
    one.transition('REBALANCING');
    expect(machine.state).toBe('REBALANCING');
    one.transition('RUNNING');
    two.transition('RUNNING');
    // A thread's end is not the instance's.
    two.transition('NOT_RUNNING');
    expect(seen).toEqual(['REBALANCING', 'RUNNING', 'REBALANCING', 'RUNNING']);
  });
});

function threadMetrics(part: Partial<StreamsMetrics>): StreamsMetrics {
  return {
    applicationId: 'app',
    state: '',
    tasks: {},
    processorRecords: {},
    storeOperations: {},
    totals: emptyTaskMetrics(),
    processRate: 0,
    commits: 0,
    commitLatencyAvgMs: 0,
    commitLatencyMaxMs: 0,
    consumerLag: {},
    totalLag: 0,
    restoredRecords: 0,
    standbyRecords: 0,
    restoreRatePerSec: 0,
    producedRecords: 0,
    productionErrors: 0,
    transientFailures: 0,
    outage: undefined,
    ...part,
  };
}

describe('mergeThreadMetrics', () => {
  it('adds counters and rates, joins tasks and lag, weighs commit latency by commits', () => {
    const a = threadMetrics({
      tasks: { '0_0': { ...emptyTaskMetrics(), processedRecords: 10 } },
      totals: { ...emptyTaskMetrics(), processedRecords: 10 },
      processRate: 100,
      commits: 1,
      commitLatencyAvgMs: 10,
      commitLatencyMaxMs: 10,
      consumerLag: { 'in:0': 5 },
      totalLag: 5,
      producedRecords: 10,
    });
    const b = threadMetrics({
      tasks: { '0_1': { ...emptyTaskMetrics(), processedRecords: 30 } },
      totals: { ...emptyTaskMetrics(), processedRecords: 30 },
      processRate: 300,
      commits: 3,
      commitLatencyAvgMs: 2,
      commitLatencyMaxMs: 4,
      consumerLag: { 'in:1': 1 },
      totalLag: 1,
      producedRecords: 30,
    });
    const m = mergeThreadMetrics('RUNNING', [a, b]);
    expect(m.state).toBe('RUNNING');
    expect(Object.keys(m.tasks)).toEqual(['0_0', '0_1']);
    expect(m.totals.processedRecords).toBe(40);
    expect(m.processRate).toBe(400);
    expect(m.commits).toBe(4);
    expect(m.commitLatencyAvgMs).toBe(4);
    expect(m.commitLatencyMaxMs).toBe(10);
    expect(m.consumerLag).toEqual({ 'in:0': 5, 'in:1': 1 });
    expect(m.totalLag).toBe(6);
    expect(m.producedRecords).toBe(40);
    expect(a.totals.processedRecords).toBe(10);
  });
});

describe('streamsMetadata', () => {
  it('reads the members of one instance (one per stream thread) as one instance', () => {
    const member = (clientId: string, instanceId: string | undefined, partition: number) => ({
      clientId,
      instanceId,
      applicationServer: undefined,
      hostInfo: undefined,
      local: instanceId === 'here',
      partitions: [{ topic: 'in', partition }],
    });
    const metadata = streamsMetadata(
      {
        stable: true,
        members: [
          member('app-p-StreamThread-2-consumer', 'here', 1),
          member('app-p-StreamThread-1-consumer', 'here', 0),
          member('other-consumer', 'there', 2),
        ],
      },
      [{ id: 0, stores: [] }],
      new Map([[0, ['in']]]),
    );
    expect(metadata.map((m) => [m.clientId, m.local, m.tasks])).toEqual([
      ['app-p-StreamThread-1-consumer', true, ['0_0', '0_1']],
      ['other-consumer', false, ['0_2']],
    ]);
  });
});
