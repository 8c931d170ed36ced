/**
 * The two subjects of the CDC benchmark, each a process of its own whose CPU time is read from
 * /proc: embedded Debezium, producing to Kafka as a Connect worker would
 * (test/patterns/debezium-runner.ts), and ours, PostgresCdc or OutboxRelay of
 * @kafka-pattern/topologies in a bench child process ([`kafka-pattern.ts`](./kafka-pattern.ts)).
 * A subject captures the tables it is given (or relays the outbox table) from start to stop, and
 * names the topic each table's (or aggregate type's) records go to.
 */
import { DebeziumApp } from '@kafka-pattern/test/patterns/debezium-runner.ts';
import { PipeProcess } from '../harness/measure.ts';
import type { Pattern } from './database.ts';

export type SubjectName = 'kafka-pattern' | 'Debezium';

export interface SubjectSettings {
  readonly pattern: Pattern;
  readonly postgres: string;
  readonly bootstrapServers: string[];
  /** cdc: the captured tables. outbox: one, the outbox table. */
  readonly tables: readonly string[];
  /** cdc: topics are `<topicPrefix>.public.<table>`. */
  readonly topicPrefix: string;
  readonly slot: string;
  readonly publication: string;
}

export interface Subject {
  readonly name: SubjectName;
  /** Resolves once the slot exists: every change committed afterwards is captured. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The process whose CPU time counts. */
  pid(): number;
}

/** The topic a table's changes (cdc) or an aggregate type's events (outbox) go to. */
export function topicOf(pattern: Pattern, topicPrefix: string, tableOrAggregateType: string): string {
  return pattern === 'cdc'
    ? `${topicPrefix}.public.${tableOrAggregateType}`
    : `outbox.event.${tableOrAggregateType}`;
}

export function debezium(s: SubjectSettings, jvmOptions: string[]): Subject {
  let app: DebeziumApp | undefined;
  return {
    name: 'Debezium',
    async start() {
      app = new DebeziumApp({
        databaseUrl: s.postgres,
        name: s.topicPrefix,
        slot: s.slot,
        publication: s.publication,
        tables: s.tables.map((t) => `public.${t}`),
        outbox: s.pattern === 'outbox',
        kafka: s.bootstrapServers.join(','),
        jvmOptions,
      });
      await app.started(120_000);
    },
    async stop() {
      await app?.stop();
    },
    pid() {
      const pid = app?.pid;
      if (pid === undefined) throw new Error('Debezium: not running');
      return pid;
    },
  };
}

const MODULE = new URL('./kafka-pattern.ts', import.meta.url);

export function kafkaPattern(s: SubjectSettings): Subject {
  const pipe = new PipeProcess(`kafka-pattern ${s.pattern}`);
  return {
    name: 'kafka-pattern',
    async start() {
      await pipe.start(MODULE, {
        bootstrapServers: s.bootstrapServers,
        input: '',
        inputs: [],
        output: '',
        groupId: '',
        guarantee: 'at_least_once',
        commitIntervalMs: 0,
        stateDir: '',
        params: {
          pattern: s.pattern,
          postgres: s.postgres,
          tables: s.tables.join(','),
          topicPrefix: s.topicPrefix,
          slot: s.slot,
          publication: s.publication,
        },
      });
    },
    async stop() {
      try {
        if (!pipe.failure) await pipe.stop();
      } finally {
        await pipe.exit();
      }
    },
    pid() {
      if (pipe.failure) throw pipe.failure;
      const pid = pipe.pid;
      if (pid === undefined) throw new Error('kafka-pattern: not running');
      return pid;
    },
  };
}
