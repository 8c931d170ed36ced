/**
 * Our side of the CDC benchmark, run in a bench child process (harness/child.ts): PostgresCdc
 * capturing the run's tables, or OutboxRelay relaying its outbox table, from @kafka-pattern/topologies,
 * with the settings the driver passes as params.
 */
import { PostgresCdc } from '@kafka-pattern/topologies/cdc';
import { OutboxRelay } from '@kafka-pattern/topologies/outbox';
import type { PipeRun, RunningPipe, StartPipe } from '../harness/pipe.ts';

export const start: StartPipe = async (run: PipeRun): Promise<RunningPipe> => {
  const p = run.params;
  const postgres = String(p.postgres);
  const tables = String(p.tables).split(',');
  const names = { slotName: String(p.slot), publicationName: String(p.publication) };
  const subject =
    p.pattern === 'cdc'
      ? new PostgresCdc({
          postgres,
          bootstrapServers: run.bootstrapServers,
          topicPrefix: String(p.topicPrefix),
          tables: tables.map((t) => `public.${t}`),
          snapshot: 'initial',
          ...names,
        })
      : // Rows stay, as with Debezium's router, so both relays do the same work in PostgreSQL.
        new OutboxRelay({
          postgres,
          bootstrapServers: run.bootstrapServers,
          table: tables[0]!,
          cleanup: 'keep',
          ...names,
        });
  await subject.start();
  return { close: () => subject.close() };
};
