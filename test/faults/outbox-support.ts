/**
 * The outbox side of the CDC fault tests: a writer that appends events through appendToOutbox
 * (some transactions rolled back, some committing out of id order), the relay's records read
 * back, and their check against what the writer committed.
 */
import type { ConsumedRecord } from '@kafka-pattern/streams-core/client';
import { appendToOutbox } from '@kafka-pattern/topologies/outbox';
import pg from 'pg';
import { databaseUrl } from '../support/services.ts';
import { pushTo } from './cdc-support.ts';
import { sleep } from './support.ts';

const AGGREGATES = 20;

export interface OutboxPayload {
  aggregate: string;
  /** Per aggregate, in the order the events were appended. */
  seq: number;
  /** Unique over the run: which event a record is. */
  n: number;
  amount: number;
}

/** Ordered ids: a later event has a larger id, so "commits out of id order" has a meaning. */
export const eventId = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/**
 * Appends events through appendToOutbox in transactions of 1-3 events: some rolled back, and
 * every 12th round a pair on two connections where the transaction that appended first (smaller
 * ids) commits second. `order` holds per aggregate the ids in commit order.
 */
export class OutboxWriter {
  readonly order = new Map<string, string[]>();
  readonly committed = new Map<string, OutboxPayload>();
  readonly rolledBack = new Set<string>();
  pairs = 0;
  #a: pg.Client | undefined;
  #b: pg.Client | undefined;
  #n = 0;
  #round = 0;
  #seq = new Map<string, number>();
  #stop = false;
  #loop: Promise<void> | undefined;

  readonly table: string;

  constructor(table: string) {
    this.table = table;
  }

  start(paceMs: number): void {
    this.#loop = (async () => {
      this.#a = new pg.Client({ connectionString: databaseUrl() });
      this.#b = new pg.Client({ connectionString: databaseUrl() });
      await Promise.all([this.#a.connect(), this.#b.connect()]);
      while (!this.#stop) {
        await this.round();
        await sleep(paceMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#loop;
    await Promise.allSettled([this.#a?.end(), this.#b?.end()]);
  }

  #aggregate(): string {
    return `agg-${Math.floor(Math.random() * AGGREGATES)}`;
  }

  async #append(client: pg.Client, aggregate: string): Promise<[string, OutboxPayload]> {
    const n = ++this.#n;
    const seq = (this.#seq.get(aggregate) ?? 0) + 1;
    this.#seq.set(aggregate, seq);
    const payload: OutboxPayload = { aggregate, seq, n, amount: 1 + (n % 97) };
    const id = await appendToOutbox(
      client,
      { aggregateType: 'order', aggregateId: aggregate, type: 'OrderPaid', payload, id: eventId(n) },
      { table: this.table },
    );
    return [id, payload];
  }

  #committedNow(events: [string, OutboxPayload][]): void {
    for (const [id, p] of events) {
      this.committed.set(id, p);
      pushTo(this.order, p.aggregate, id);
    }
  }

  async round(): Promise<void> {
    const a = this.#a!;
    if (++this.#round % 12 === 0) {
      const shared = this.#aggregate();
      await a.query('BEGIN');
      const first = [await this.#append(a, shared), await this.#append(a, this.#aggregate())];
      await this.#b!.query('BEGIN');
      const second = [await this.#append(this.#b!, shared)];
      await this.#b!.query('COMMIT');
      this.#committedNow(second);
      await a.query('COMMIT');
      this.#committedNow(first);
      this.pairs++;
      return;
    }
    await a.query('BEGIN');
    const events: [string, OutboxPayload][] = [];
    const count = 1 + Math.floor(Math.random() * 3);
    for (let i = 0; i < count; i++) events.push(await this.#append(a, this.#aggregate()));
    if (Math.random() < 0.08) {
      await a.query('ROLLBACK');
      for (const [id] of events) this.rolledBack.add(id);
    } else {
      await a.query('COMMIT');
      this.#committedNow(events);
    }
  }
}

export interface OutboxRecord {
  partition: number;
  offset: bigint;
  aggregate: string;
  id: string;
  type: string;
  payload: OutboxPayload;
}

export function decodeOutbox(records: readonly ConsumedRecord[]): OutboxRecord[] {
  const header = (r: ConsumedRecord, name: string) => r.headers.lastValue(name)?.toString('utf8') ?? '';
  return [...records]
    .sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0))
    .map((r) => ({
      partition: r.partition,
      offset: r.offset,
      aggregate: r.key!.toString('utf8'),
      id: header(r, 'id'),
      type: header(r, 'type'),
      payload: JSON.parse(r.value!.toString()) as OutboxPayload,
    }));
}

/** The relay's records against the writer: first copies, repeats, and what is wrong or missing. */
export function checkOutbox(records: readonly OutboxRecord[], writer: OutboxWriter) {
  const firstSeen = new Map<string, OutboxRecord>();
  const duplicates: OutboxRecord[] = [];
  const wrong: string[] = [];
  for (const r of records) {
    // A repeat is recognised by its payload; it must carry the id its event was appended with.
    const want = eventId(r.payload.n);
    if (r.id !== want) wrong.push(`event n=${r.payload.n} carries id ${r.id}, appended as ${want}`);
    if (r.type !== 'OrderPaid' || r.aggregate !== r.payload.aggregate)
      wrong.push(`event ${r.id}: type ${r.type}, key ${r.aggregate}`);
    if (firstSeen.has(r.id)) duplicates.push(r);
    else firstSeen.set(r.id, r);
  }
  const fromRolledBack = [...firstSeen.keys()].filter((i) => writer.rolledBack.has(i));
  const notCommitted = [...firstSeen.keys()].filter((i) => !writer.committed.has(i));
  const missing = [...writer.committed.keys()].filter((i) => !firstSeen.has(i));
  const outOfOrder: string[] = [];
  for (const [aggregate, ids] of writer.order) {
    const got = records
      .filter((r) => r.aggregate === aggregate && firstSeen.get(r.id) === r)
      .map((r) => r.id);
    if (got.join() !== ids.join()) outOfOrder.push(aggregate);
  }
  // A pair's later-id transaction committed first: its event precedes the earlier id on Kafka.
  const committedBeforeSmallerId = [...writer.order.values()].reduce(
    (n, ids) => n + ids.filter((x, i) => i > 0 && x < ids[i - 1]!).length,
    0,
  );
  return {
    firstSeen,
    duplicates,
    wrong,
    fromRolledBack,
    notCommitted,
    missing,
    outOfOrder,
    committedBeforeSmallerId,
  };
}
