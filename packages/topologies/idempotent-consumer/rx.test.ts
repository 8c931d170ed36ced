/**
 * The RxJS idempotent service (./rx.ts) without services: the HTTP endpoint's answers (202 with
 * the send's result, 400 saying what is wrong with a body, 503 when Kafka refused the event),
 * the pipeline's outcomes and when it acknowledges, and the error of a start without PostgreSQL.
 * On the broker, PostgreSQL and Redis, against the topology: test/patterns/idempotent-consumer-rx.test.ts.
 */
import type { ReceiverRecord, SenderRecord, SenderResult } from '@kafka-pattern/streams-core/rx';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { Observable, of, Subject, throwError } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type EventReceiver,
  type EventSender,
  type IncomingEvent,
  parseEvent,
  RxIdempotentService,
  type RxOutcome,
  ServiceUnavailableError,
} from './rx.ts';

interface Payment extends IncomingEvent {
  amount: number;
}

class FakeRedis {
  status = 'ready';
  readonly values = new Map<string, string>();
  async set(key: string, value: string, _px: 'PX', _ms: number, nx?: 'NX', get?: 'GET'): Promise<unknown> {
    const previous = this.values.get(key) ?? null;
    if (nx && previous !== null) return get ? previous : null;
    this.values.set(key, value);
    return get ? previous : 'OK';
  }
}

/** processed_events in memory: a row per committed event id, and the handler's effects. */
class FakePostgres {
  readonly processed = new Map<string, Date>();
  down = false;
  readonly listeners: Array<() => void> = [];

  pool(): Pool {
    const client = () => {
      let pending: string | undefined;
      return {
        query: async (sql: string, params?: unknown[]) => {
          if (sql.startsWith('INSERT INTO processed_events')) {
            const id = String(params?.[1]);
            pending = id;
            return { rowCount: this.processed.has(id) ? 0 : 1 };
          }
          if (sql === 'COMMIT') {
            if (pending) this.processed.set(pending, new Date());
            pending = undefined;
            return { command: 'COMMIT' };
          }
          if (sql === 'ROLLBACK') pending = undefined;
          return { command: sql.split(' ')[0], rowCount: 0 };
        },
        on: () => {},
        off: () => {},
        release: () => {},
      };
    };
    const pool = {
      connect: async () => client(),
      query: async (sql: string, params?: unknown[]) => {
        if (this.down)
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
        if (sql.startsWith('SELECT processed_at')) {
          const at = this.processed.get(String(params?.[1]));
          return { rows: at ? [{ processed_at: at }] : [] };
        }
        return { rows: [] };
      },
      listenerCount: () => 1,
      on: () => {},
    };
    return pool as unknown as Pool;
  }
}

function record(
  partition: number,
  offset: number,
  value: Payment,
  acked: string[],
): ReceiverRecord<string, Payment> {
  return {
    topic: 'events',
    partition,
    offset: BigInt(offset),
    timestamp: 0,
    key: value.eventId,
    value,
    headers: { lastValue: () => undefined } as unknown as ReceiverRecord<string, Payment>['headers'],
    receiverOffset: {
      topic: 'events',
      partition,
      offset: BigInt(offset),
      acknowledge: () => acked.push(`${partition}@${offset}`),
      commit: async () => {},
    },
  };
}

const closing: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closing.length) await closing.pop()!();
});

function service(o: {
  records$?: Observable<ReceiverRecord<string, Payment>>;
  send?: (r: SenderRecord<string, Payment, string>) => Observable<SenderResult<string>>;
  postgres?: FakePostgres;
  redis?: FakeRedis;
  handle?: (p: Payment) => Promise<void>;
}) {
  const sent: Payment[] = [];
  const sender: EventSender<Payment> = {
    send: <C>(records$: Observable<SenderRecord<string, Payment, C>>) =>
      new Observable<SenderResult<C>>((subscriber) =>
        records$.subscribe((r) => {
          sent.push(r.value!);
          const answer: Observable<SenderResult<string>> =
            o.send?.(r as unknown as SenderRecord<string, Payment, string>) ??
            of({ correlationMetadata: '', recordMetadata: { topic: r.topic, partition: 1, offset: 41n } });
          answer.subscribe({
            next: (result) => subscriber.next({ ...result, correlationMetadata: r.correlationMetadata }),
            error: (e: unknown) => subscriber.error(e),
            complete: () => subscriber.complete(),
          });
        }),
      ),
  };
  const receiver: EventReceiver<Payment> = { receive: () => o.records$ ?? new Subject() };
  const postgres = o.postgres ?? new FakePostgres();
  const effects: string[] = [];
  const svc = new RxIdempotentService<Payment>({
    topic: 'events',
    sender,
    receiver,
    consumerId: 'ledger',
    redis: (o.redis ?? new FakeRedis()) as unknown as Redis,
    postgres: postgres.pool(),
    handle: async (p) => {
      await o.handle?.(p);
      effects.push(p.eventId);
    },
  });
  const outcomes: RxOutcome[] = [];
  svc.outcomes$.subscribe((x) => outcomes.push(x));
  closing.push(() => svc.close());
  return { svc, sent, effects, outcomes, postgres };
}

async function post(url: string, body: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/events`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`never: ${what}`);
}

describe('the RxJS idempotent service', () => {
  it('parseEvent says what is wrong with a body', () => {
    expect(() => parseEvent('{"eventId":')).toThrow(/not valid JSON/);
    expect(() => parseEvent('[1]')).toThrow(/JSON object .* got an array/);
    expect(() => parseEvent('{"amount":1}')).toThrow(/no "eventId"/);
    expect(() => parseEvent('{"eventId":7}')).toThrow(/non-empty string, got number/);
    expect(() => parseEvent('{"eventId":" "}')).toThrow(/got an empty string/);
    expect(parseEvent('{"eventId":"e-1","amount":3}')).toEqual({ eventId: 'e-1', amount: 3 });
  });

  it('POST /events answers 202 with where the event was written, 400 for a bad body, 503 when Kafka refused it', async () => {
    const { svc, sent } = service({
      send: (r) =>
        r.value!.eventId === 'refused'
          ? of({ correlationMetadata: 'refused', error: new Error('UNKNOWN_TOPIC_OR_PARTITION') })
          : r.value!.eventId === 'broken'
            ? throwError(() => new Error('the producer is closed'))
            : of({ correlationMetadata: '', recordMetadata: { topic: r.topic, partition: 2, offset: 7n } }),
    });
    const { url } = await svc.start();
    expect(await post(url, '{"eventId":"e-1","amount":5}')).toEqual({
      status: 202,
      body: { eventId: 'e-1', topic: 'events', partition: 2, offset: '7' },
    });
    const bad = await post(url, 'not json');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/not valid JSON/);
    const missing = await post(url, '{"amount":5}');
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatch(/no "eventId"/);
    for (const id of ['refused', 'broken']) {
      const failed = await post(url, JSON.stringify({ eventId: id, amount: 1 }));
      expect(failed.status).toBe(503);
      expect(failed.body.error).toMatch(
        new RegExp(`"${id}" could not be written to Kafka topic "events".*send it again`),
      );
    }
    expect(sent.map((p) => p.eventId)).toEqual(['e-1', 'refused', 'broken']);
    expect((await fetch(`${url}/nowhere`)).status).toBe(404);
  });

  it('applies each event once, acknowledges a record only after its transaction and Redis mark', async () => {
    const records$ = new Subject<ReceiverRecord<string, Payment>>();
    const redis = new FakeRedis();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const acked: string[] = [];
    const { svc, effects, outcomes, postgres } = service({
      records$,
      redis,
      handle: (p) => (p.eventId === 'slow' ? gate : Promise.resolve()),
    });
    const { url } = await svc.start();
    records$.next(record(0, 0, { eventId: 'a', amount: 1 }, acked));
    records$.next(record(0, 1, { eventId: 'a', amount: 1 }, acked));
    records$.next(record(1, 0, { eventId: 'slow', amount: 2 }, acked));
    records$.next(record(1, 1, { eventId: 'b', amount: 3 }, acked));
    await until(() => outcomes.length === 2, 'partition 0 settled');
    // Partition 1 waits on its first record: neither it nor the one behind it is acknowledged.
    expect(acked).toEqual(['0@0', '0@1']);
    release();
    await until(() => outcomes.length === 4, 'partition 1 settled');
    expect(acked).toEqual(['0@0', '0@1', '1@0', '1@1']);
    // Redis forgot "a": PostgreSQL's row catches the redelivery.
    redis.values.clear();
    records$.next(record(0, 0, { eventId: 'a', amount: 1 }, acked));
    await until(() => outcomes.length === 5, 'redelivery settled');
    expect(outcomes.map((o) => [o.eventId, o.outcome])).toEqual([
      ['a', 'processed'],
      ['a', 'duplicate-redis'],
      ['slow', 'processed'],
      ['b', 'processed'],
      ['a', 'duplicate-postgres'],
    ]);
    expect(effects).toEqual(['a', 'slow', 'b']);
    expect([...postgres.processed.keys()].sort()).toEqual(['a', 'b', 'slow']);
    const found = await fetch(`${url}/events/slow`);
    expect(found.status).toBe(200);
    expect(await found.json()).toMatchObject({ eventId: 'slow', processed: true });
    const unknown = await fetch(`${url}/events/never`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ eventId: 'never', processed: false });
  });

  it('close() waits for the transaction in flight; a closed service does not start again', async () => {
    const records$ = new Subject<ReceiverRecord<string, Payment>>();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let entered = false;
    const acked: string[] = [];
    const { svc, effects } = service({
      records$,
      handle: async () => {
        entered = true;
        await gate;
      },
    });
    await svc.start();
    records$.next(record(0, 0, { eventId: 'a', amount: 1 }, acked));
    await until(() => entered, 'the handler runs');
    let closed = false;
    const closing = svc.close().then(() => {
      closed = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    release();
    await closing;
    expect(effects).toEqual(['a']);
    await expect(svc.start()).rejects.toThrow(/closed: create a new one/);
  });

  it('a failed handler leaves its record unacknowledged and receives it again', async () => {
    let subscriptions = 0;
    const acked: string[] = [];
    let fail = true;
    const records$ = new Observable<ReceiverRecord<string, Payment>>((subscriber) => {
      subscriptions++;
      subscriber.next(record(0, 0, { eventId: 'x', amount: 1 }, acked));
    });
    const { svc, outcomes, effects } = service({
      records$,
      handle: async () => {
        if (fail) {
          fail = false;
          throw new Error('the ledger rejected the row');
        }
      },
    });
    const errors: Error[] = [];
    svc.errors$.subscribe((e) => errors.push(e));
    await svc.start();
    await until(() => outcomes.length === 1, 'retried');
    expect(errors.map((e) => e.message)).toEqual(['the ledger rejected the row']);
    expect(subscriptions).toBe(2);
    expect(acked).toEqual(['0@0']);
    expect(effects).toEqual(['x']);
  });

  it('start() without PostgreSQL says what happened and what to do; GET /events/:id and /health answer 503 saying which dependency is down', async () => {
    const postgres = new FakePostgres();
    const redis = new FakeRedis();
    postgres.down = true;
    const { svc } = service({ postgres, redis });
    const error = await svc.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as Error).message).toMatch(
      /PostgreSQL did not answer \(connect ECONNREFUSED.*start PostgreSQL/,
    );
    postgres.down = false;
    const { url } = await svc.start();
    expect(await (await fetch(`${url}/health`)).json()).toEqual({
      ok: true,
      postgres: 'ready',
      redis: 'ready',
    });
    postgres.down = true;
    const res = await fetch(`${url}/events/a`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toMatch(/whether "a" was processed is unknown/);
    redis.status = 'reconnecting';
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({
      ok: false,
      postgres: expect.stringMatching(/^unavailable \(connect ECONNREFUSED .*until it is back/),
      redis: expect.stringMatching(
        /^unavailable \(connection reconnecting\): duplicates are caught by PostgreSQL alone/,
      ),
    });
  });
});
