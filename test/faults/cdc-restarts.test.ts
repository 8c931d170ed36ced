/**
 * PostgresCdc (at_least_once) while what it depends on restarts mid-stream, with a writer
 * committing transactions throughout:
 *
 * - PostgreSQL restarted (pg_ctlcluster restart, as scripts/stack.sh does it): the capture
 *   loses its replication connection, reconnects by itself (its state goes to 'reconnecting' and
 *   back to 'streaming', the same process), and afterwards every committed change is on Kafka,
 *   per key in commit order, nothing missing (repeats only as whole runs).
 * - The broker stopped and started again (Broker from ./support.ts): the capture's writes fail
 *   and are retried until it is back; the same checks hold.
 * - The same broker restart under the OutboxRelay while events are appended: every committed
 *   event on Kafka, per aggregate in commit order, nothing of a rolled-back transaction.
 *
 * This file restarts the shared PostgreSQL and broker: run it holding the broker lock. Both are
 * up again when each case ends, also when it fails.
 */

import { dropCapture } from '@kafka-pattern/topologies/cdc';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { bootstrapServers, collect, createTopics, deleteTopics, uniqueName } from '../support/kafka.ts';
import { databaseUrl } from '../support/services.ts';
import { teardownAfterEach } from '../support/teardown.ts';
import {
  type CdcCase,
  caughtUp,
  cdcCase,
  checkSequences,
  ensurePostgresUp,
  PARTITIONS,
  pgCtl,
  readChanges,
  sequenceFigures,
  startCapture,
  VersionWriter,
} from './cdc-support.ts';
import type { CdcAppSpec } from './fixtures/cdc-app.ts';
import { checkOutbox, decodeOutbox, OutboxWriter } from './outbox-support.ts';
import { type AppProcess, Broker, endOffsetSum, figures, killAll, seconds, waitUntil } from './support.ts';

const KEYS = 300;
const PACE_MS = 2;
const GROWTH = 800;

const broker = new Broker();
const teardown = teardownAfterEach();
// After hooks run last-registered first: the services are up again before the teardown drops
// the slots, tables and topics.
afterEach(async () => {
  await broker.ensureStarted();
  await ensurePostgresUp();
});
afterAll(async () => {
  await broker.ensureStarted();
  await ensurePostgresUp();
});

async function growBy(topic: string, n: number, app: AppProcess, what: string): Promise<void> {
  const from = await endOffsetSum(topic);
  await waitUntil(
    async () => {
      if (!app.alive) throw new Error(`${app.name} exited\n${app.tail()}`);
      if (app.state === 'failed') throw new Error(`${app.name} failed\n${app.tail()}`);
      return (await endOffsetSum(topic)) >= from + n ? true : undefined;
    },
    60_000,
    what,
    100,
    () => app.tail(),
  );
}

/** Stops the broker until the capture has seen a write fail, starts it, and waits for a write to be taken again. */
async function restartBroker(app: AppProcess): Promise<Record<string, unknown>> {
  const from = app.events.length;
  const at = Date.now();
  let outage = 0;
  try {
    await broker.stop();
    // Down until the capture has seen a write fail (and the writer has piled up changes).
    await app.waitForEvent(
      (e) => e.event === 'warn' && /to Kafka failed/.test(e.message as string),
      60_000,
      'a failed write to Kafka',
      from,
    );
    await broker.start();
    outage = Date.now() - at;
  } finally {
    await broker.ensureStarted();
  }
  const retried = await app.waitForEvent(
    (e) => e.event === 'warn' && /Kafka took the changes after/.test(e.message as string),
    60_000,
    'the write taken after the restart',
    from,
  );
  return { outageS: outage / 1000, writesTakenAgainAfterS: (retried.at - at) / 1000 };
}

/** Runs the capture and the writer, calls `fault` mid-stream, and checks the outcome. */
async function underFault(
  tag: string,
  fault: (c: CdcCase, app: AppProcess) => Promise<Record<string, unknown>>,
) {
  const started = Date.now();
  const c = await cdcCase(teardown, tag);
  const topic = `${c.topicPrefix}.public.${c.table}`;
  const app = await startCapture(c.spec('at_least_once'), `${tag} capture`);
  const writer = new VersionWriter(c.table, KEYS, 11);
  writer.start(PACE_MS);
  let faultFigures: Record<string, unknown>;
  try {
    await growBy(topic, GROWTH, app, 'records before the fault');
    faultFigures = await fault(c, app);
    await growBy(topic, GROWTH, app, 'records after the fault');
  } finally {
    await writer.stop();
  }
  const rows = await waitUntil(
    async () => {
      const r = await readChanges(topic, 'read_uncommitted');
      return caughtUp(r, writer.expected) ? r : undefined;
    },
    60_000,
    'every committed change on Kafka',
    1_000,
    () => app.tail(),
  );
  const states = app.states();
  const alive = app.alive;
  const closed = await app.stop();
  const check = checkSequences(rows, writer.expected);
  figures(tag, {
    transactions: writer.committed,
    rolledBack: writer.rolledBack,
    writerReconnects: writer.reconnects,
    writerLost: writer.lost,
    inDoubtCommitted: writer.inDoubtCommitted,
    records: rows.length,
    ...sequenceFigures(check),
    ...faultFigures,
    states,
    warnings: app.events.filter((e) => e.event === 'warn').length,
    durationS: seconds(started),
  });
  expect(alive).toBe(true);
  expect(states).not.toContain('failed');
  expect(check.violations).toEqual([]);
  expect(check.incomplete).toEqual([]);
  expect(check.unexpected).toEqual([]);
  expect(check.splitKeys).toEqual([]);
  expect(check.missingTombstones).toBe(0);
  expect(closed).toBe(true);
  return { check, states, writer };
}

describe('change capture while PostgreSQL or the broker restarts mid-stream', () => {
  it('PostgreSQL restarted: the capture reconnects by itself, nothing lost, order per key kept', async () => {
    let streamingAgain = 0;
    const { states, writer } = await underFault('cdcpgrestart', async (_c, app) => {
      const from = app.events.length;
      const at = Date.now();
      try {
        await pgCtl('restart');
      } finally {
        await ensurePostgresUp();
      }
      const restartS = seconds(at);
      await app.waitForEvent(
        (e) => e.event === 'state' && e.state === 'reconnecting',
        60_000,
        'reconnecting',
        from,
      );
      const back = await app.waitForEvent(
        (e) => e.event === 'state' && e.state === 'streaming',
        60_000,
        'streaming again',
        from,
      );
      streamingAgain = (back.at - at) / 1000;
      return { pgRestartS: restartS, streamingAgainAfterS: streamingAgain };
    });
    const i = states.indexOf('reconnecting');
    expect(i).toBeGreaterThan(0);
    expect(states.slice(i + 1)).toContain('streaming');
    expect(states.at(-1)).toBe('streaming');
    // The writer saw PostgreSQL go away too: the restart happened under the stream.
    expect(writer.reconnects).toBeGreaterThan(0);
    expect(streamingAgain).toBeGreaterThan(0);
  });

  it('broker restarted: the capture retries its writes until Kafka is back, nothing lost, order per key kept', async () => {
    const { states } = await underFault('cdcbrokerrestart', (_c, app) => restartBroker(app));
    // Kafka going away is no PostgreSQL failure: the stream stayed up all along.
    expect(states).not.toContain('reconnecting');
    expect(states.at(-1)).toBe('streaming');
  });

  it('OutboxRelay, broker restarted: every committed event on Kafka in commit order, none rolled back', async () => {
    const started = Date.now();
    const id = uniqueName('obbroker').replaceAll('-', '_');
    const table = `ob_${id}`;
    const slot = `s_${id}`;
    const publication = `p_${id}`;
    const offsetsTopic = `obbroker-offsets-${id}`;
    const topicPrefix = `obbroker-${id}`;
    const topic = `${topicPrefix}.order`;
    const admin = new pg.Pool({ connectionString: databaseUrl(), max: 2 });
    admin.on('error', () => undefined);
    teardown.push(async () => {
      await dropCapture(databaseUrl(), { slotName: slot, publicationName: publication }).catch((e) =>
        console.warn(`[faults] dropCapture: ${e}`),
      );
      await admin.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
      await deleteTopics([topic, offsetsTopic]).catch(() => undefined);
      await admin.end().catch(() => undefined);
    });
    teardown.push(() => killAll());
    await createTopics([{ name: topic, partitions: PARTITIONS }]);
    const spec: CdcAppSpec = {
      kind: 'outbox',
      postgres: databaseUrl(),
      bootstrapServers: bootstrapServers(),
      slotName: slot,
      publicationName: publication,
      guarantee: 'at_least_once',
      offsetsTopic,
      partitions: PARTITIONS,
      table: `public.${table}`,
      topicPrefix,
    };
    const app = await startCapture(spec, 'relay');
    const writer = new OutboxWriter(`public.${table}`);
    writer.start(PACE_MS);
    let faultFigures: Record<string, unknown>;
    try {
      await growBy(topic, GROWTH / 2, app, 'events before the restart');
      faultFigures = await restartBroker(app);
      await growBy(topic, GROWTH / 2, app, 'events after the restart');
    } finally {
      await writer.stop();
    }
    const records = await waitUntil(
      async () => {
        const r = decodeOutbox(
          await collect(topic, { isolationLevel: 'read_uncommitted', timeoutMs: 30_000 }),
        );
        const ids = new Set(r.map((x) => x.id));
        return [...writer.committed.keys()].every((i) => ids.has(i)) ? r : undefined;
      },
      60_000,
      'every committed event on Kafka',
      1_000,
      () => app.tail(),
    );
    const states = app.states();
    const closed = await app.stop();
    const c = checkOutbox(records, writer);
    figures('outbox relay broker restart', {
      committedEvents: writer.committed.size,
      rolledBackEvents: writer.rolledBack.size,
      outOfOrderPairs: writer.pairs,
      records: records.length,
      duplicates: c.duplicates.length,
      missing: c.missing.length,
      fromRolledBack: c.fromRolledBack.length,
      aggregatesOutOfOrder: c.outOfOrder.length,
      ...faultFigures,
      states,
      durationS: seconds(started),
    });
    expect(states).not.toContain('failed');
    expect(c.wrong).toEqual([]);
    expect(c.missing).toEqual([]);
    expect(c.fromRolledBack).toEqual([]);
    expect(c.notCommitted).toEqual([]);
    expect(c.outOfOrder).toEqual([]);
    expect(c.committedBeforeSmallerId).toBeGreaterThan(0);
    expect(closed).toBe(true);
  });
});
