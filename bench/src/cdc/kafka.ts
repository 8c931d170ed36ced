/**
 * The Kafka side of the CDC benchmark: what a subject wrote, read back for the check (counts,
 * keys, ops), the end offset that says when a throughput run is done, and a reader that notes
 * when each record of a latency run arrives.
 */
import { Consumer, type Message, MessagesStreamModes } from '@platformatic/kafka';
import type { Broker } from '../harness/broker.ts';
import { sleep } from '../harness/broker.ts';
import { readTo } from '../harness/scan.ts';
import type { Pattern } from './database.ts';

/** The id a record is about: a captured row's `{"id":n}`, an outbox event's aggregateid `e-<n>`. */
export function idOf(pattern: Pattern, key: Buffer): number {
  const text = key.toString('utf8');
  if (pattern === 'cdc') return Number((JSON.parse(text) as { id: number }).id);
  // Debezium's JsonConverter writes the aggregateid as a JSON string; a plain string is the same key.
  const aggregateId = text.startsWith('"') ? (JSON.parse(text) as string) : text;
  return Number(aggregateId.slice(2));
}

/** Records in `topic` (one partition, no transactions). */
export async function endOffset(broker: Broker, topic: string): Promise<number> {
  return (await broker.endOffsets(topic, 1))[0]!;
}

/** Waits until `topic` holds at least `count` records; false after `timeoutMs`. */
export async function waitForEnd(
  broker: Broker,
  topic: string,
  count: number,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while ((await endOffset(broker, topic)) < count) {
    if (performance.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** What the check compares between the subjects and with what the changes must give. */
export interface Capture {
  records: number;
  /** cdc: `c`, `u`, `d` and `tombstone` counts; outbox: `event`. */
  kinds: Record<string, number>;
  /** Every record's id, in order per id: the same multiset for both subjects. */
  ids: number[];
  /** How the keys are written, e.g. `{"id":1}` or `e-1` / `"e-1"`: the first record's. */
  firstKey: string;
}

export async function readCapture(
  servers: string[],
  pattern: Pattern,
  topic: string,
  end: number,
): Promise<Capture> {
  const [records = []] = await readTo(servers, topic, [end]);
  const kinds: Record<string, number> = {};
  const ids: number[] = [];
  for (const r of records) {
    ids.push(idOf(pattern, r.key));
    const kind =
      pattern === 'outbox'
        ? 'event'
        : // a null value (the tombstone) reads as undefined
          !r.value || r.value.length === 0
          ? 'tombstone'
          : String((JSON.parse(r.value.toString()) as { op: string }).op);
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return {
    records: records.length,
    kinds,
    ids: ids.sort((a, b) => a - b),
    firstKey: records[0]?.key.toString() ?? '',
  };
}

/**
 * Reads `topic` from its beginning and notes, for every record, Date.now() when it arrived, by
 * the id it is about (the first arrival counts).
 */
export class ArrivalReader {
  readonly arrivedAt = new Map<number, number>();
  readonly #consumer: Consumer;
  readonly #pattern: Pattern;
  readonly topic: string;
  #stream: Awaited<ReturnType<Consumer['consume']>> | undefined;

  constructor(servers: string[], pattern: Pattern, topic: string) {
    this.#pattern = pattern;
    this.topic = topic;
    this.#consumer = new Consumer({
      clientId: 'bench-cdc-latency',
      groupId: `bench-cdc-latency-${topic}-${Date.now().toString(36)}`,
      bootstrapBrokers: servers,
      autocommit: false,
      maxWaitTime: 50,
    });
  }

  async start(): Promise<void> {
    this.#stream = await this.#consumer.consume({ topics: [this.topic], mode: MessagesStreamModes.EARLIEST });
    this.#stream.on('data', (m: Message) => {
      const at = Date.now();
      if (m.key === undefined || m.key === null || m.key.length === 0) return;
      const id = idOf(this.#pattern, m.key);
      if (!this.arrivedAt.has(id)) this.arrivedAt.set(id, at);
    });
  }

  async close(): Promise<void> {
    await this.#stream?.close().catch(() => {});
    await this.#consumer.close().catch(() => {});
  }
}
