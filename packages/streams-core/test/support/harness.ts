/**
 * Helpers for runtime tests on the in-memory cluster: bounded waits for conditions (never fixed
 * sleeps), a gate a test opens, temporary state directories and instances closed after each
 * test, and record shorthands.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  KafkaStreams,
  type KafkaStreamsOptions,
  Serdes,
  StreamsBuilder,
  type StreamsConfig,
  type Topology,
} from '@kafka-pattern/streams-core';
import type { ConsumedRecord, PartitionBatch, ProducedRecord } from '@kafka-pattern/streams-core/client';
import { afterEach } from 'vitest';
import { InMemoryKafka } from './in-memory-kafka.ts';

/**
 * Calls `probe` until it returns something other than `undefined` or `false`, and returns that;
 * fails after `timeoutMs` saying what it waited for and what it last saw.
 */
export async function eventually<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 5_000,
  describe?: () => unknown,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const seen = describe ? ` (last seen: ${JSON.stringify(describe(), jsonBigints)})` : '';
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${what}${seen}${lastError ? `: ${String(lastError)}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function jsonBigints(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** Holds whoever waits on it until the test opens it. */
export class Gate {
  #open = false;
  #release: Array<() => void> = [];
  /** How many are held now. */
  waiting = 0;
  /** How many were ever held. */
  held = 0;

  wait(): Promise<void> {
    if (this.#open) return Promise.resolve();
    this.waiting++;
    this.held++;
    return new Promise((resolve) => {
      this.#release.push(() => {
        this.waiting--;
        resolve();
      });
    });
  }

  open(): void {
    this.#open = true;
    const release = this.#release;
    this.#release = [];
    for (const r of release) r();
  }
}

export interface Harness {
  readonly kafka: InMemoryKafka;
  /** A new temporary state directory, removed after the test. */
  stateDir(): string;
  /** A KafkaStreams instance on the in-memory cluster, closed after the test. */
  app(topology: Topology, config: Partial<StreamsConfig> & { applicationId: string }): KafkaStreams;
}

/** Sets up a fresh cluster per test and tears down every instance and directory after it. */
export function useHarness(): () => Harness {
  let current: { harness: Harness; apps: KafkaStreams[]; dirs: string[] } | undefined;
  afterEach(async () => {
    const c = current;
    current = undefined;
    if (!c) return;
    await Promise.allSettled(c.apps.map((a) => a.close()));
    for (const d of c.dirs) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    if (current) return current.harness;
    const kafka = new InMemoryKafka();
    const apps: KafkaStreams[] = [];
    const dirs: string[] = [];
    const stateDir = () => {
      const d = mkdtempSync(join(tmpdir(), 'kp-runtime-'));
      dirs.push(d);
      return d;
    };
    const harness: Harness = {
      kafka,
      stateDir,
      app(topology, config) {
        const options: KafkaStreamsOptions = { clientFactory: kafka.factory() };
        const app = new KafkaStreams(
          topology,
          {
            bootstrapServers: 'in-memory:9092',
            stateDir: config.stateDir ?? stateDir(),
            ...config,
            client: { maxWaitMs: 20, ...config.client },
          },
          options,
        );
        apps.push(app);
        return app;
      },
    };
    current = { harness, apps, dirs };
    return harness;
  };
}

/** String key and value, UTF-8. */
export function rec(
  topic: string,
  key: string | null,
  value: string | null,
  options: { partition?: number; timestamp?: number } = {},
): ProducedRecord {
  return {
    topic,
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    ...options,
  };
}

/** `[key, value]` of string records. */
/** `[key, value]` strings of records, or of a poll's batches in the order they came. */
export function strings(records: ConsumedRecord[] | PartitionBatch[]): Array<[string | null, string | null]> {
  const flat = records.flatMap((r): ConsumedRecord[] => ('records' in r ? r.records : [r]));
  return flat.map((r) => [r.key?.toString() ?? null, r.value?.toString() ?? null]);
}

/** `[key, count]` of records with a string key and a Serdes.Long value. */
export function longs(records: ConsumedRecord[]): Array<[string | null, number | null]> {
  return records.map((r) => [r.key?.toString() ?? null, r.value ? Number(r.value.readBigInt64BE(0)) : null]);
}

/** The last value per key. */
export function latest<V>(pairs: Array<[string | null, V]>): Map<string | null, V> {
  return new Map(pairs);
}

/** `[key, count]` of a timestamped count store's changelog: an 8-byte timestamp, then the Long. */
export function changelogLongs(records: ConsumedRecord[]): Array<[string | null, number | null]> {
  return records.map((r) => [r.key?.toString() ?? null, r.value ? Number(r.value.readBigInt64BE(8)) : null]);
}

/** The count most runtime tests run: 'in' (string keys and values) counted per key into 'out' (Long), store "counts". */
export function counting(): Topology {
  const S = Serdes.String();
  const builder = new StreamsBuilder();
  builder
    .stream('in', { key: S, value: S })
    .groupByKey()
    .count({ name: 'counts' })
    .toStream()
    .to('out', { key: S, value: Serdes.Long() });
  return builder.build();
}
