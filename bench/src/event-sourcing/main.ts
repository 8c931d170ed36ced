/**
 * Event-sourcing replay: the time to rebuild every account's balance from its events, from the
 * first event and from the snapshots, side by side. The events topic is filled once with
 * `--events` (default 1,000,000) events over `--accounts` accounts (3 partitions, idempotent
 * producer, count checked); the balance view then folds them once, writing a snapshot of each
 * account every `--snapshot-every` events; then `--reps` rounds each time `rebuildBalances` from
 * the events and from the snapshots, alternating which goes first. Each rebuild is checked
 * against the balances the filler wrote. Prints the table and writes bench/results/event-sourcing.json.
 *
 *   node bench/src/event-sourcing/main.ts [--events 1000000] [--accounts 10000] [--snapshot-every 100]
 *                                         [--max-events-behind 10000] [--reps 3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { KafkaStreams } from '@kafka-pattern/streams-core';
import { createPlatformaticClientFactory, type ProducedRecord } from '@kafka-pattern/streams-core/client';
import {
  type AccountEvent,
  type AccountState,
  accountLedger,
  type RebuiltBalances,
  rebuildBalances,
} from '@kafka-pattern/topologies/event-sourcing';
import { bootstrapServers, sleep } from '../harness/broker.ts';
import { machineInfo, writeJson } from '../harness/report.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    accounts: { type: 'string', default: '10000' },
    'snapshot-every': { type: 'string', default: '100' },
    'max-events-behind': { type: 'string', default: '10000' },
    reps: { type: 'string', default: '3' },
  },
});
const EVENTS = Number(args.events);
const ACCOUNTS = Number(args.accounts);
const REPS = Number(args.reps);
const PARTITIONS = 3;
const RESULTS = fileURLToPath(new URL('../../results/event-sourcing.json', import.meta.url));
const log = (m: string) => process.stderr.write(`event-sourcing: ${m}\n`);

const servers = bootstrapServers();
const clients = createPlatformaticClientFactory({ bootstrapServers: servers, clientId: 'bench-es' });
const ledger = accountLedger({
  prefix: `bench-es-${Date.now().toString(36)}.`,
  snapshotEvery: Number(args['snapshot-every']),
  maxEventsBehind: Number(args['max-events-behind']),
});
const { topics } = ledger;
const admin = clients.admin();
const stateDir = mkdtempSync(join(tmpdir(), 'kp-bench-es-'));

/** Deposits and withdrawals spread over the accounts (seeded), never overdrawing, with their versions. */
async function fill(): Promise<Map<string, AccountState>> {
  const balances = new Map<string, AccountState>();
  let seed = 42;
  const next = () => {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    return seed / 2 ** 32;
  };
  const producer = clients.producer({ clientId: 'bench-es-fill', idempotent: true });
  try {
    const BATCH = 10_000;
    for (let from = 0; from < EVENTS; from += BATCH) {
      const batch: ProducedRecord[] = [];
      for (let i = from; i < Math.min(EVENTS, from + BATCH); i++) {
        const accountId = `acc-${Math.floor(next() * ACCOUNTS)}`;
        const s = balances.get(accountId) ?? { balance: 0, version: 0 };
        const withdraw = s.balance > 50 && next() < 0.4;
        const amount = 1 + Math.floor(next() * 50);
        const event: AccountEvent = {
          type: withdraw ? 'Withdrawn' : 'Deposited',
          accountId,
          amount,
          version: s.version + 1,
          commandId: `fill-${i}`,
        };
        balances.set(accountId, {
          balance: s.balance + (withdraw ? -amount : amount),
          version: s.version + 1,
        });
        batch.push({
          topic: topics.events,
          key: Buffer.from(accountId),
          value: Buffer.from(JSON.stringify(event)),
        });
      }
      await producer.send(batch);
    }
  } finally {
    await producer.close();
  }
  const ends = await admin.listOffsets(
    Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: topics.events, partition })),
    'latest',
  );
  const written = [...ends.values()].reduce((a, b) => a + Number(b), 0);
  if (written !== EVENTS)
    throw new Error(`filling ${topics.events}: ${written} events written, not ${EVENTS}`);
  return balances;
}

async function snapshot(): Promise<number> {
  const app = new KafkaStreams(ledger.balanceView, {
    applicationId: `${topics.events}-view`,
    bootstrapServers: servers,
    processingGuarantee: 'exactly_once_v2',
    stateDir,
  });
  const started = performance.now();
  await app.start();
  try {
    while (app.metrics().totals.processedRecords < EVENTS) {
      if (app.state === 'ERROR') throw new Error(`the balance view failed: ${String(app.error)}`);
      await sleep(500);
    }
    await sleep(1_000); // its last transaction commits
    return (performance.now() - started) / 1000;
  } finally {
    await app.close();
  }
}

interface Row {
  replay: 'from the first event' | 'from the snapshots';
  seconds: number[];
  medianSeconds: number;
  eventsRead: number;
  snapshotsRead: number;
  /** Records read (events and snapshots) per second. */
  recordsPerSec: number;
  /** Events the history holds, rebuilt per second: what a user waits on. */
  historyPerSec: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  await admin.createTopics(ledger.topicSpecs(PARTITIONS));
  log(`filling ${topics.events} with ${EVENTS.toLocaleString('en-US')} events over ${ACCOUNTS} accounts`);
  let t = performance.now();
  const expected = await fill();
  log(`filled in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  t = performance.now();
  const viewSeconds = await snapshot();
  log(`the balance view folded them and wrote snapshots in ${viewSeconds.toFixed(1)} s`);

  const runs: Record<'events' | 'snapshots', RebuiltBalances[]> = { events: [], snapshots: [] };
  for (let rep = 0; rep < REPS; rep++) {
    const order: Array<'events' | 'snapshots'> =
      rep % 2 === 0 ? ['events', 'snapshots'] : ['snapshots', 'events'];
    for (const from of order) {
      const r = await rebuildBalances({ clients, topics, from });
      if (!isDeepStrictEqual(r.balances, expected))
        throw new Error(
          `the rebuild from the ${from} differs from the balances the events were written with`,
        );
      runs[from].push(r);
      log(
        `rep ${rep + 1} from ${from}: ${(r.durationMs / 1000).toFixed(2)} s, ${r.eventsRead} events, ${r.snapshotsRead} snapshots`,
      );
    }
  }
  const rows: Row[] = (['events', 'snapshots'] as const).map((from) => {
    const rs = runs[from];
    const seconds = rs.map((r) => r.durationMs / 1000);
    const m = median(seconds);
    const last = rs.at(-1)!;
    return {
      replay: from === 'events' ? 'from the first event' : 'from the snapshots',
      seconds,
      medianSeconds: m,
      eventsRead: last.eventsRead,
      snapshotsRead: last.snapshotsRead,
      recordsPerSec: (last.eventsRead + last.snapshotsRead) / m,
      historyPerSec: EVENTS / m,
    };
  });
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(`\nrebuild of ${fmt(EVENTS)} events over ${fmt(ACCOUNTS)} accounts (median of ${REPS}):`);
  console.log('| replay | seconds | events read | snapshots read | records read/s | history events/s |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows)
    console.log(
      `| ${r.replay} | ${r.medianSeconds.toFixed(2)} | ${fmt(r.eventsRead)} | ${fmt(r.snapshotsRead)} | ${fmt(r.recordsPerSec)} | ${fmt(r.historyPerSec)} |`,
    );
  console.log(
    `\nspeed-up from the snapshots: ${(rows[0]!.medianSeconds / rows[1]!.medianSeconds).toFixed(1)}x`,
  );
  writeJson(RESULTS, {
    when: new Date().toISOString(),
    machine: machineInfo(servers),
    settings: {
      events: EVENTS,
      accounts: ACCOUNTS,
      partitions: PARTITIONS,
      snapshotEvery: ledger.snapshotEvery,
      maxEventsBehind: ledger.maxEventsBehind,
      reps: REPS,
    },
    balanceViewSeconds: viewSeconds,
    rows,
  });
} finally {
  await admin
    .deleteTopics([...Object.values(topics), `${topics.events}-view-ledger-balances-changelog`])
    .catch(() => {});
  await admin.close();
  rmSync(stateDir, { recursive: true, force: true });
}
