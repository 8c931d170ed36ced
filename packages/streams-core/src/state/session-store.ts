/**
 * Typed session stores over a SessionBytesStore: one value per (key, session start, session
 * end), kept for a retention period of stream time measured on session ends.
 */
import type { SessionBytesStore } from '@kafka-pattern/state-store';
import type { KeyValue } from '../processor/api/record.ts';
import type { Serde } from '../serdes/serde.ts';
import type { Windowed } from '../serdes/windowed.ts';
import type { StoreContext, StoreSpec } from './store-builder.ts';
import { StoreOperations } from './store-operations.ts';
import { TypedStoreBuilder } from './typed-store-builder.ts';

/** Read access to a session store; sessions are returned by end, then start, ascending. */
export interface ReadOnlySessionStore<K, V> {
  readonly name: string;
  /** Every live session of `key`. */
  fetch(key: K): KeyValue<Windowed<K>, V>[];
  /** Sessions of `key` that end at or after `earliestSessionEndTime` and start at or before `latestSessionStartTime`. */
  findSessions(
    key: K,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): KeyValue<Windowed<K>, V>[];
  findSessionsRange(
    keyFrom: K | null,
    keyTo: K | null,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): KeyValue<Windowed<K>, V>[];
  fetchSession(key: K, sessionStart: number, sessionEnd: number): V | undefined;
}

export interface SessionStore<K, V> extends ReadOnlySessionStore<K, V> {
  readonly retentionMs: number;
  /** A null value removes the session. */
  put(session: Windowed<K>, value: V | null): void;
  remove(session: Windowed<K>): void;
}

export class TypedSessionStore<K, V> implements SessionStore<K, V> {
  readonly name: string;
  readonly inner: SessionBytesStore;
  readonly operations = new StoreOperations();
  readonly operationsKind = 'session';
  readonly #keySerde: Serde<K>;
  readonly #valueSerde: Serde<V>;
  readonly #topic: string;

  constructor(
    name: string,
    inner: SessionBytesStore,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
    serdeTopic: string,
  ) {
    this.name = name;
    this.inner = inner;
    this.#keySerde = keySerde;
    this.#valueSerde = valueSerde;
    this.#topic = serdeTopic;
  }

  get retentionMs(): number {
    return this.inner.retentionMs;
  }

  #key(key: K): Buffer {
    const bytes = this.#keySerde.serialize(this.#topic, key);
    if (bytes === null) throw new Error(`Session store "${this.name}" cannot hold a null key`);
    return bytes;
  }

  #sessions(
    it: Iterable<{ key: Buffer; start: number; end: number; value: Buffer }>,
  ): KeyValue<Windowed<K>, V>[] {
    const out: KeyValue<Windowed<K>, V>[] = [];
    for (const s of it) {
      const key = this.#keySerde.deserialize(this.#topic, s.key) as K;
      out.push({
        key: { key, window: { start: s.start, end: s.end } },
        value: this.#valueSerde.deserialize(this.#topic, s.value) as V,
      });
    }
    return out;
  }

  fetch(key: K): KeyValue<Windowed<K>, V>[] {
    this.operations.scans++;
    return this.#sessions(this.inner.fetch(this.#key(key)));
  }

  findSessions(
    key: K,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): KeyValue<Windowed<K>, V>[] {
    this.operations.scans++;
    return this.#sessions(
      this.inner.findSessions(this.#key(key), earliestSessionEndTime, latestSessionStartTime),
    );
  }

  findSessionsRange(
    keyFrom: K | null,
    keyTo: K | null,
    earliestSessionEndTime: number,
    latestSessionStartTime: number,
  ): KeyValue<Windowed<K>, V>[] {
    this.operations.scans++;
    const from = keyFrom === null || keyFrom === undefined ? null : this.#key(keyFrom);
    const to = keyTo === null || keyTo === undefined ? null : this.#key(keyTo);
    return this.#sessions(
      this.inner.findSessionsKeyRange(from, to, earliestSessionEndTime, latestSessionStartTime),
    );
  }

  fetchSession(key: K, sessionStart: number, sessionEnd: number): V | undefined {
    this.operations.gets++;
    const bytes = this.inner.fetchSession(this.#key(key), sessionStart, sessionEnd);
    return bytes === undefined
      ? undefined
      : ((this.#valueSerde.deserialize(this.#topic, bytes) ?? undefined) as V | undefined);
  }

  put(session: Windowed<K>, value: V | null): void {
    this.operations.puts++;
    const bytes = value === null ? null : this.#valueSerde.serialize(this.#topic, value);
    this.inner.put(this.#key(session.key), session.window.start, session.window.end, bytes);
  }

  remove(session: Windowed<K>): void {
    this.operations.deletes++;
    this.inner.remove(this.#key(session.key), session.window.start, session.window.end);
  }
}

export interface SessionBytesStoreSupplier {
  readonly name: string;
  readonly persistent: boolean;
  readonly retentionMs: number;
}

export type SessionStoreBuilder<K, V> = TypedStoreBuilder<K, V, SessionStore<K, V>>;

export function sessionBytesStoreSupplier(
  name: string,
  persistent: boolean,
  retentionMs: number,
): SessionBytesStoreSupplier {
  if (!Number.isSafeInteger(retentionMs) || retentionMs < 0) {
    throw new RangeError(
      `The retention period of session store "${name}" must be a whole number of milliseconds >= 0, got ${String(retentionMs)}`,
    );
  }
  return { name, persistent, retentionMs };
}

export function sessionStoreBuilder<K, V>(
  supplier: SessionBytesStoreSupplier,
  keySerde: Serde<K>,
  valueSerde: Serde<V>,
): SessionStoreBuilder<K, V> {
  const spec: StoreSpec = {
    name: supplier.name,
    kind: 'session',
    persistent: supplier.persistent,
    logging: true,
    changelogConfig: {},
    caching: false,
    retentionMs: supplier.retentionMs,
  };
  return new TypedStoreBuilder(
    spec,
    keySerde,
    valueSerde,
    (ctx: StoreContext, s, k, v) =>
      new TypedSessionStore(s.name, ctx.sessionBytesStore(s), k, v, ctx.serdeTopic(s.name)),
  );
}
