/**
 * Our side of the CDC benchmark, run in a bench child process (harness/child.ts): PostgresCdc
 * capturing the run's tables, or OutboxRelay relaying its outbox table, from @kafka-pattern/topologies,
 * with the settings the driver passes as params.
 */
import type { PipeRun, RunningPipe, StartPipe } from '../harness/pipe.ts';

// The API of @kafka-pattern/topologies/cdc and /outbox as this module uses it. The modules are
// imported by a specifier tsc does not resolve, so that the bench compiles before they exist on
// this branch; once they do, import them statically and drop these types.
interface Closeable {
  start(): Promise<void>;
  close(): Promise<void>;
}
interface CdcModule {
  PostgresCdc: new (o: {
    postgres: string;
    bootstrapServers: string[];
    topicPrefix: string;
    tables: string[];
    slotName?: string;
    publicationName?: string;
    snapshot?: 'initial' | 'never';
  }) => Closeable;
}
interface OutboxModule {
  OutboxRelay: new (o: { postgres: string; bootstrapServers: string[]; table?: string }) => Closeable;
}
const CDC_MODULE: string = '@kafka-pattern/topologies/cdc';
const OUTBOX_MODULE: string = '@kafka-pattern/topologies/outbox';

export const start: StartPipe = async (run: PipeRun): Promise<RunningPipe> => {
  const p = run.params;
  const postgres = String(p.postgres);
  const tables = String(p.tables).split(',');
  let subject: Closeable;
  if (p.pattern === 'cdc') {
    const { PostgresCdc } = (await import(CDC_MODULE)) as CdcModule;
    subject = new PostgresCdc({
      postgres,
      bootstrapServers: run.bootstrapServers,
      topicPrefix: String(p.topicPrefix),
      tables: tables.map((t) => `public.${t}`),
      slotName: String(p.slot),
      publicationName: String(p.publication),
      snapshot: 'initial',
    });
  } else {
    const { OutboxRelay } = (await import(OUTBOX_MODULE)) as OutboxModule;
    subject = new OutboxRelay({ postgres, bootstrapServers: run.bootstrapServers, table: tables[0]! });
  }
  await subject.start();
  return { close: () => subject.close() };
};
