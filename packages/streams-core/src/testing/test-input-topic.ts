import { Headers, type HeaderValue } from '../processor/api/headers.ts';
import type { Serde } from '../serdes/serde.ts';

export interface TestInputTopicOptions {
  /** Timestamp of the first record piped without one; default the driver's wall clock. */
  startTimestamp?: number;
  /** How far the timestamp of records piped without one advances per record. */
  autoAdvanceMs?: number;
}

export interface TestInputRecord<K, V> {
  key?: K | null;
  value: V | null;
  timestamp?: number;
  headers?: Headers | Iterable<readonly [string, HeaderValue]> | Record<string, HeaderValue>;
}

type Pipe = (record: {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: Headers;
}) => void;

/** Writes records to one input topic of a TopologyTestDriver; each is processed before the call returns. */
export class TestInputTopic<K, V> {
  readonly topic: string;
  readonly #keySerde: Serde<K>;
  readonly #valueSerde: Serde<V>;
  readonly #pipe: Pipe;
  readonly #autoAdvance: number;
  #nextTimestamp: number;

  /** @internal created by TopologyTestDriver.createInputTopic */
  constructor(
    topic: string,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
    options: TestInputTopicOptions,
    wallClock: number,
    pipe: Pipe,
  ) {
    this.topic = topic;
    this.#keySerde = keySerde;
    this.#valueSerde = valueSerde;
    this.#pipe = pipe;
    this.#nextTimestamp = options.startTimestamp ?? wallClock;
    this.#autoAdvance = options.autoAdvanceMs ?? 0;
  }

  /** Pipes one record; without a timestamp it gets the topic's current time. */
  pipeInput(
    key: K | null,
    value: V | null,
    timestamp?: number,
    headers?: TestInputRecord<K, V>['headers'],
  ): void {
    this.pipeRecord({
      key,
      value,
      ...(timestamp !== undefined ? { timestamp } : {}),
      ...(headers ? { headers } : {}),
    });
  }

  /** Pipes a value with a null key. */
  pipeValue(value: V | null, timestamp?: number): void {
    this.pipeInput(null, value, timestamp);
  }

  pipeRecord(record: TestInputRecord<K, V>): void {
    let timestamp = record.timestamp;
    if (timestamp === undefined) {
      timestamp = this.#nextTimestamp;
      this.#nextTimestamp += this.#autoAdvance;
    }
    const headers = toHeaders(record.headers);
    const key =
      record.key === undefined || record.key === null
        ? null
        : this.#keySerde.serialize(this.topic, record.key, headers);
    const value =
      record.value === null ? null : this.#valueSerde.serialize(this.topic, record.value, headers);
    this.#pipe({ topic: this.topic, key, value, timestamp, headers });
  }

  pipeRecordList(records: ReadonlyArray<TestInputRecord<K, V>>): void {
    for (const r of records) this.pipeRecord(r);
  }

  pipeKeyValueList(
    pairs: ReadonlyArray<{ key: K | null; value: V | null }>,
    timestamp?: number,
    advanceMs = 0,
  ): void {
    let ts = timestamp;
    for (const p of pairs) {
      this.pipeInput(p.key, p.value, ts);
      if (ts !== undefined) ts += advanceMs;
    }
  }

  pipeValueList(values: ReadonlyArray<V | null>): void {
    for (const v of values) this.pipeValue(v);
  }

  /** Moves the time of records piped without a timestamp. */
  advanceTime(ms: number): void {
    this.#nextTimestamp += ms;
  }
}

function toHeaders(h: TestInputRecord<unknown, unknown>['headers']): Headers {
  if (h === undefined) return new Headers();
  if (h instanceof Headers) return h.clone();
  if (Symbol.iterator in (h as object)) return new Headers(h as Iterable<readonly [string, HeaderValue]>);
  return new Headers(Object.entries(h as Record<string, HeaderValue>));
}
