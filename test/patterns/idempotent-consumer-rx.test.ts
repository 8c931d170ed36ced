/**
 * The idempotent consumer twice on the real broker, PostgreSQL and Redis, fed the same input: the
 * topology (idempotentConsumer on KafkaStreams, the events produced to its topic) and the RxJS
 * HTTP service (each event POSTed to /events, a re-POST for every duplicate). Each run reads its
 * topic once, then again from the start under a fresh group, as after a group reset, with Redis
 * having forgotten some of the events. Both must give the same outcome sequence for every event,
 * the same processed_events ids and the same ledger rows, one per distinct event.
 */
import { KafkaStreams, Serdes } from '@kafka-pattern/streams-core';
import { KafkaReceiver, KafkaSender, type ReceiverRecord } from '@kafka-pattern/streams-core/rx';
import {
  dedupCacheKey,
  type EventOutcome,
  idempotentConsumer,
} from '@kafka-pattern/topologies/idempotent-consumer';
import {
  type IncomingEvent,
  RxIdempotentService,
  type RxOutcome,
} from '@kafka-pattern/topologies/idempotent-consumer/rx';
import { Redis } from 'ioredis';
import pg from 'pg';
import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { committed, sum } from '../rx/support.ts';
import { createLedgerTable } from '../support/idempotent-ledger.ts';
import {
  bootstrapServers,
  collect,
  createTopic,
  deleteTopics,
  eventually,
  produce,
  uniqueName,
} from '../support/kafka.ts';
import { databaseUrl, redisUrl } from '../support/services.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';

const cleanups = teardownAfterEach();
/**
 * A Redis database of this test's own: the ledger tests flush theirs mid-run, which would turn
 * this test's expected Redis duplicates into PostgreSQL ones.
 */
const RX_REDIS_DB = 13;

interface PaymentEvent extends IncomingEvent {
  account: string;
  amount: number;
}

/** 18 payments; every third sent three times, every third but one twice; the copies spread out. */
function input(prefix: string): PaymentEvent[] {
  const distinct = Array.from({ length: 18 }, (_, i) => ({
    eventId: `${prefix}-e${i}`,
    account: `acc-${i % 4}`,
    amount: 10 + i * 7,
  }));
  const copies = distinct.flatMap((e, i) =>
    Array.from({ length: i % 3 === 0 ? 3 : i % 3 === 1 ? 2 : 1 }, () => e),
  );
  // A fixed interleaving (7 and the 36 copies are coprime) that spreads each event's copies apart.
  return copies
    .map((e, i) => ({ e, k: (i * 7) % copies.length }))
    .sort((a, b) => a.k - b.k)
    .map((x) => x.e);
}

const RESULT_NAMES: Record<EventOutcome<string>['result'], RxOutcome['outcome']> = {
  applied: 'processed',
  'duplicate-cache': 'duplicate-redis',
  'duplicate-db': 'duplicate-postgres',
};

/** Each event's outcomes in the order they happened (one key's copies go one at a time in both versions). */
function perEvent(
  outcomes: ReadonlyArray<{ eventId: string; outcome: RxOutcome['outcome'] }>,
  prefix: string,
) {
  const out = new Map<string, string[]>();
  for (const o of outcomes) {
    const id = o.eventId.slice(prefix.length);
    out.set(id, [...(out.get(id) ?? []), o.outcome]);
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

async function ledgerRows(pool: pg.Pool, table: string, prefix: string) {
  const rows = await pool.query<{ event_id: string; account: string; amount: string }>(
    `SELECT event_id, account, amount FROM ${table} ORDER BY event_id, id`,
  );
  return rows.rows.map((r) => `${r.event_id.slice(prefix.length)} ${r.account} ${r.amount}`);
}

async function processedIds(pool: pg.Pool, consumerId: string, prefix: string): Promise<string[]> {
  const rows = await pool.query<{ event_id: string }>(
    'SELECT event_id FROM processed_events WHERE consumer_id = $1 ORDER BY event_id',
    [consumerId],
  );
  return rows.rows.map((r) => r.event_id.slice(prefix.length)).sort();
}

async function setup(name: string) {
  const admin = new pg.Pool({ connectionString: databaseUrl(), max: 4 });
  const postgres = new pg.Pool({ connectionString: databaseUrl() });
  const redis = new Redis(redisUrl(RX_REDIS_DB));
  redis.on('error', () => {});
  const topic = await createTopic(uniqueName(`payments-${name}`), 3);
  const table = `ledger_${uniqueName(name).replaceAll('-', '_')}`;
  const consumerId = uniqueName(`ledger-${name}`);
  await createLedgerTable(admin, table);
  cleanups.push(async () => {
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.query('DELETE FROM processed_events WHERE consumer_id = $1', [consumerId]);
    await Promise.allSettled([admin.end(), postgres.end()]);
    redis.disconnect();
    await deleteTopics([topic]).catch(() => {});
  });
  const handle = async (e: PaymentEvent, db: pg.PoolClient) => {
    await db.query(`INSERT INTO ${table} (event_id, account, amount) VALUES ($1, $2, $3)`, [
      e.eventId,
      e.account,
      e.amount,
    ]);
  };
  /** Redis forgets these events, so the pass from the start finds them only in PostgreSQL. */
  const forget = (ids: string[]) => redis.del(...ids.map((id) => dedupCacheKey(consumerId, id)));
  return { admin, postgres, redis, topic, table, consumerId, handle, forget };
}

type Setup = Awaited<ReturnType<typeof setup>>;

async function viaTopology(s: Setup, events: PaymentEvent[], forgotten: string[]) {
  const outcomes: RxOutcome['outcome'][] = [];
  const seen: Array<{ eventId: string; outcome: RxOutcome['outcome'] }> = [];
  const run = async (pass: number) => {
    const topology = idempotentConsumer<string, PaymentEvent>({
      topic: s.topic,
      key: Serdes.String(),
      value: Serdes.JSON<PaymentEvent>(),
      consumerId: s.consumerId,
      eventId: (e) => e.eventId,
      redis: s.redis,
      postgres: s.postgres,
      handle: s.handle,
      onOutcome: (o) => {
        outcomes.push(RESULT_NAMES[o.result]);
        seen.push({ eventId: o.eventId, outcome: RESULT_NAMES[o.result] });
      },
    });
    const app = new KafkaStreams(topology, {
      applicationId: uniqueName(`idem-topo-${pass}`),
      bootstrapServers: bootstrapServers(),
      stateDir: tempStateDir(cleanups, 'kp-idem-rx-'),
      commitIntervalMs: 200,
    });
    cleanups.push(async () => {
      await app.close();
      await deleteTopics(app.internalTopicNames()).catch(() => {});
    });
    await app.start();
    await app.waitForRunning();
    await eventually(
      () => (seen.length >= events.length * pass ? true : undefined),
      30_000,
      `topology pass ${pass}: ${events.length * pass} deliveries settled (${seen.length} so far)`,
    );
    await app.close();
  };
  await produce(
    events.map((e) => ({
      topic: s.topic,
      key: Buffer.from(e.eventId),
      value: Buffer.from(JSON.stringify(e)),
    })),
  );
  await run(1);
  await s.forget(forgotten);
  await run(2);
  return seen;
}

async function viaRx(s: Setup, events: PaymentEvent[], forgotten: string[]) {
  const seen: RxOutcome[] = [];
  const accepted: string[] = [];
  const sender = KafkaSender.create({
    bootstrapServers: bootstrapServers(),
    keySerializer: Serdes.String(),
    valueSerializer: Serdes.JSON<PaymentEvent>(),
  });
  cleanups.push(() => sender.close());
  const service = (pass: number) => {
    const receiver = KafkaReceiver.create({
      bootstrapServers: bootstrapServers(),
      groupId: uniqueName(`idem-rx-${pass}`),
      topics: [s.topic],
      keyDeserializer: Serdes.String(),
      valueDeserializer: Serdes.JSON<PaymentEvent>(),
      commitIntervalMs: 100,
    });
    const svc = new RxIdempotentService<PaymentEvent>({
      topic: s.topic,
      sender,
      receiver,
      consumerId: s.consumerId,
      redis: s.redis,
      postgres: s.postgres,
      handle: s.handle,
    });
    svc.outcomes$.subscribe((o) => seen.push(o));
    const errors: Error[] = [];
    svc.errors$.subscribe((e) => errors.push(e));
    const stop = async () => {
      await svc.close();
      await receiver.close();
    };
    cleanups.push(stop);
    return { svc, errors, stop };
  };
  const first = service(1);
  const { url } = await first.svc.start();
  // Every copy POSTed: the duplicates are re-POSTs of the same event.
  for (const e of events) {
    const res = await fetch(`${url}/events`, { method: 'POST', body: JSON.stringify(e) });
    const body = (await res.json()) as { topic: string; partition: number; offset: string };
    expect(res.status, JSON.stringify(body)).toBe(202);
    expect(body.topic).toBe(s.topic);
    accepted.push(`${body.partition}@${body.offset}`);
  }
  await eventually(
    () => (seen.length >= events.length ? true : undefined),
    30_000,
    `rx pass 1: ${events.length} deliveries settled (${seen.length} so far)`,
  );
  const lookups = await Promise.all(
    [...new Set(events.map((e) => e.eventId)), `${events[0]!.eventId}-never-sent`].map(async (id) => {
      const res = await fetch(`${url}/events/${encodeURIComponent(id)}`);
      return [id, res.status, ((await res.json()) as { processed: boolean }).processed] as const;
    }),
  );
  await first.stop();
  await s.forget(forgotten);
  const second = service(2);
  await second.svc.start();
  await eventually(
    () => (seen.length >= events.length * 2 ? true : undefined),
    30_000,
    `rx pass 2: ${events.length * 2} deliveries settled (${seen.length} so far)`,
  );
  await second.stop();
  return { seen, accepted, lookups, errors: [...first.errors, ...second.errors] };
}

describe('idempotent consumer: the topology and the RxJS service on the same input', () => {
  it('process each event once, find the same duplicates in Redis and PostgreSQL, and leave the same ledger', async () => {
    const events = input('pay');
    const distinct = [...new Set(events.map((e) => e.eventId))];
    const forgotten = distinct.filter((_, i) => i % 2 === 0);
    const t = await setup('topo');
    const r = await setup('rx');
    const topoPrefix = 'pay';
    const topoOutcomes = await viaTopology(t, events, forgotten);
    const rx = await viaRx(r, events, forgotten);

    expect(rx.errors).toEqual([]);
    // Every POST was written once: as many distinct offsets as records in the topic.
    expect(new Set(rx.accepted).size).toBe(events.length);
    expect((await collect(r.topic)).length).toBe(events.length);

    const topoPerEvent = perEvent(topoOutcomes, topoPrefix);
    const rxPerEvent = perEvent(rx.seen, topoPrefix);
    expect(rxPerEvent).toEqual(topoPerEvent);
    // What that sequence is: processed once, each further copy caught by Redis, and in the pass
    // from the start the forgotten events caught by PostgreSQL (then Redis knows them again).
    for (const id of distinct) {
      const copies = events.filter((e) => e.eventId === id).length;
      const second = forgotten.includes(id)
        ? ['duplicate-postgres', ...Array(copies - 1).fill('duplicate-redis')]
        : Array(copies).fill('duplicate-redis');
      expect(rxPerEvent.get(id.slice(topoPrefix.length)), id).toEqual([
        'processed',
        ...Array(copies - 1).fill('duplicate-redis'),
        ...second,
      ]);
    }

    const ids = distinct.map((id) => id.slice(topoPrefix.length)).sort();
    expect(await processedIds(t.admin, t.consumerId, topoPrefix)).toEqual(ids);
    expect(await processedIds(r.admin, r.consumerId, topoPrefix)).toEqual(ids);
    const topoLedger = await ledgerRows(t.admin, t.table, topoPrefix);
    expect(topoLedger).toHaveLength(distinct.length);
    expect(await ledgerRows(r.admin, r.table, topoPrefix)).toEqual(topoLedger);

    expect(rx.lookups).toEqual([
      ...distinct.map((id) => [id, 200, true]),
      [`${events[0]!.eventId}-never-sent`, 404, false],
    ]);
  });

  it('the RxJS service stopped after the PostgreSQL commit and before the acknowledgement: the same group receives the events again, and none has a second effect', async () => {
    const s = await setup('rx-redeliver');
    const events = input('re').filter((e, i, all) => all.findIndex((x) => x.eventId === e.eventId) === i);
    const forgotten = events.filter((_, i) => i % 3 === 0).map((e) => e.eventId);
    const groupId = uniqueName('idem-rx-same');
    const sender = KafkaSender.create({
      bootstrapServers: bootstrapServers(),
      keySerializer: Serdes.String(),
      valueSerializer: Serdes.JSON<PaymentEvent>(),
    });
    cleanups.push(() => sender.close());
    const seen: RxOutcome[] = [];
    const run = async (acknowledge: boolean) => {
      const receiver = KafkaReceiver.create({
        bootstrapServers: bootstrapServers(),
        groupId,
        topics: [s.topic],
        keyDeserializer: Serdes.String(),
        valueDeserializer: Serdes.JSON<PaymentEvent>(),
        commitIntervalMs: 100,
      });
      // Without acknowledgements the run is a process that dies after each event's PostgreSQL
      // commit (and Redis mark) and before its acknowledgement: nothing gets committed.
      const svc = new RxIdempotentService<PaymentEvent>({
        topic: s.topic,
        sender,
        receiver: acknowledge
          ? receiver
          : {
              receive: () =>
                receiver.receive().pipe(
                  map(
                    (r): ReceiverRecord<string, PaymentEvent> => ({
                      topic: r.topic,
                      partition: r.partition,
                      offset: r.offset,
                      timestamp: r.timestamp,
                      key: r.key,
                      value: r.value,
                      headers: r.headers,
                      receiverOffset: {
                        topic: r.topic,
                        partition: r.partition,
                        offset: r.offset,
                        acknowledge: () => {},
                        commit: () => Promise.reject(new Error('not acknowledged in this run')),
                      },
                    }),
                  ),
                ),
            },
        consumerId: s.consumerId,
        redis: s.redis,
        postgres: s.postgres,
        handle: s.handle,
      });
      svc.outcomes$.subscribe((o) => seen.push(o));
      const stop = async () => {
        await svc.close();
        await receiver.close();
      };
      cleanups.push(stop);
      return { svc, stop };
    };
    const first = await run(false);
    const { url } = await first.svc.start();
    for (const e of events)
      expect((await fetch(`${url}/events`, { method: 'POST', body: JSON.stringify(e) })).status).toBe(202);
    await eventually(() => (seen.length >= events.length ? true : undefined), 30_000, 'first run settled');
    await first.stop();
    expect(await committed(groupId, s.topic, 3)).toEqual([-1n, -1n, -1n]);
    // For these the process died before the Redis mark, too.
    await s.forget(forgotten);
    const second = await run(true);
    await second.svc.start();
    await eventually(
      () => (seen.length >= events.length * 2 ? true : undefined),
      30_000,
      'redelivery settled',
    );
    await eventually(
      async () => (sum(await committed(groupId, s.topic, 3)) === events.length ? true : undefined),
      10_000,
      'the redelivered offsets committed',
    );
    await second.stop();
    expect(seen.slice(0, events.length).map((o) => o.outcome)).toEqual(events.map(() => 'processed'));
    expect(new Map(seen.slice(events.length).map((o) => [o.eventId, o.outcome]))).toEqual(
      new Map(
        events.map((e) => [
          e.eventId,
          forgotten.includes(e.eventId) ? 'duplicate-postgres' : 'duplicate-redis',
        ]),
      ),
    );
    const ledger = await ledgerRows(s.admin, s.table, '');
    expect(ledger.sort()).toEqual(events.map((e) => `${e.eventId} ${e.account} ${e.amount}`).sort());
    expect(await processedIds(s.admin, s.consumerId, '')).toEqual(events.map((e) => e.eventId).sort());
  });
});
