import { SerializationException } from '../serdes/serialization-exception.ts';
import {
  createSchemaRegistryClient,
  type SchemaDefinition,
  type SchemaRegistry,
  type SchemaRegistryClientOptions,
} from './client.ts';

/**
 * The subject a schema is registered under, from the topic, the side of the record and the
 * schema's record name (Avro full name, Protobuf full message name, JSON Schema `title`).
 */
export type SubjectNameStrategy = (topic: string, isKey: boolean, recordName: string | undefined) => string;

/** Confluent's default, TopicNameStrategy: `<topic>-value` or `<topic>-key`. */
export const topicNameStrategy: SubjectNameStrategy = (topic, isKey) => `${topic}-${isKey ? 'key' : 'value'}`;

/** RecordNameStrategy: the record's full name, so one topic can carry several record types. */
export const recordNameStrategy: SubjectNameStrategy = (topic, _isKey, recordName) => {
  if (recordName === undefined)
    throw new TypeError(`recordNameStrategy needs a schema with a record name (topic "${topic}")`);
  return recordName;
};

/** TopicRecordNameStrategy: `<topic>-<record full name>`. */
export const topicRecordNameStrategy: SubjectNameStrategy = (topic, isKey, recordName) =>
  `${topic}-${recordNameStrategy(topic, isKey, recordName)}`;

export interface SchemaRegistrySerdeOptions {
  /** The registry: its url and options (a client of its own), or a client shared by several serdes. */
  readonly registry: SchemaRegistry | SchemaRegistryClientOptions;
  /**
   * The subject of the schema this serde writes: a fixed name, a strategy, or `'topic'`
   * (TopicNameStrategy, the default), `'record'` (RecordNameStrategy), `'topic-record'`.
   */
  readonly subject?: string | SubjectNameStrategy | 'topic' | 'record' | 'topic-record';
  /**
   * On serialize, register the schema under its subject when it is not there yet (default true).
   * false: the schema must be registered already; a serializer only looks its id up.
   */
  readonly autoRegister?: boolean;
  /** For record keys: subjects end in `-key` under TopicNameStrategy. Default false. */
  readonly isKey?: boolean;
}

export function resolveRegistry(registry: SchemaRegistry | SchemaRegistryClientOptions): SchemaRegistry {
  if (registry === undefined || registry === null)
    throw new TypeError('a Schema Registry serde needs a registry option: { url } or a client');
  if (typeof (registry as SchemaRegistry).getSchemaById === 'function') return registry as SchemaRegistry;
  return createSchemaRegistryClient(registry as SchemaRegistryClientOptions);
}

export function resolveSubject(
  subject: SchemaRegistrySerdeOptions['subject'],
): (topic: string, isKey: boolean, recordName: string | undefined) => string {
  if (subject === undefined || subject === 'topic') return topicNameStrategy;
  if (subject === 'record') return recordNameStrategy;
  if (subject === 'topic-record') return topicRecordNameStrategy;
  if (typeof subject === 'function') return subject;
  if (typeof subject === 'string' && subject.length > 0) return () => subject;
  throw new TypeError(
    `subject must be a name, a strategy, 'topic', 'record' or 'topic-record' (got ${String(subject)})`,
  );
}

/**
 * Memoizes an asynchronous lookup per schema id. A lookup that fails is forgotten, so the next
 * record with that id asks again instead of failing on a cached error.
 */
export function cachedById<R>(
  load: (id: number, topic: string) => Promise<R>,
): (id: number, topic: string) => Promise<R> {
  const byId = new Map<number, Promise<R>>();
  return (id, topic) => {
    let found = byId.get(id);
    if (!found) {
      const loading = load(id, topic);
      found = loading;
      byId.set(id, loading);
      loading.catch(() => {
        if (byId.get(id) === loading) byId.delete(id);
      });
    }
    return found;
  };
}

/** A serde made for reading only was asked to write. */
export function noWriterSchema(serde: string, topic: string): SerializationException {
  return new SerializationException(
    `${serde} cannot write to topic "${topic}": it was made without a schema (pass schema to write)`,
    { topic },
  );
}

/**
 * An optional peer dependency's module, imported on first use and kept; a module's CommonJS
 * `default` export is taken when it has one.
 */
export function lazyPeer<M>(name: string, serde: string, load: () => Promise<unknown>): () => Promise<M> {
  let loaded: Promise<M> | undefined;
  return () => {
    loaded ??= loadPeer(name, serde, async () => {
      const mod = (await load()) as { default?: unknown };
      return (mod.default ?? mod) as M;
    });
    return loaded;
  };
}

/** Loads an optional peer dependency, or says how to install it. */
export async function loadPeer<M>(name: string, serde: string, load: () => Promise<M>): Promise<M> {
  try {
    return await load();
  } catch (error) {
    throw new Error(
      `${serde} needs the ${name} package, an optional peer dependency: install it (pnpm add ${name})`,
      {
        cause: error,
      },
    );
  }
}

/**
 * The id a serializer writes for its one schema under a subject: registered or looked up once
 * per subject (a failure is asked again on the next record), then taken from a map by subject.
 */
export function writerIds(
  registry: SchemaRegistry,
  autoRegister: boolean,
): (subject: string, definition: SchemaDefinition) => Promise<number> {
  const bySubject = new Map<string, Promise<number>>();
  return (subject, definition) => {
    let id = bySubject.get(subject);
    if (!id) {
      id = autoRegister ? registry.register(subject, definition) : registry.lookup(subject, definition);
      bySubject.set(subject, id);
      id.catch(() => {
        if (bySubject.get(subject) === id) bySubject.delete(subject);
      });
    }
    return id;
  };
}
