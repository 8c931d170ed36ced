/**
 * `avroSerde`: Avro values in the Schema Registry wire format, with avsc.
 */
import type * as Avsc from 'avsc';
import type { Headers } from '../processor/api/headers.ts';
import type { AsyncSerde } from '../serdes/async-serde.ts';
import { SerializationException } from '../serdes/serialization-exception.ts';
import type { SchemaDefinition } from './client.ts';
import {
  cachedById,
  lazyPeer,
  noWriterSchema,
  resolveRegistry,
  resolveSubject,
  type SchemaRegistrySerdeOptions,
  writerIds,
} from './options.ts';
import { frame, unframe } from './wire-format.ts';

/**
 * An Avro schema: its JSON as an object (`Avsc.Schema`, or a literal `as const`) or as text, a
 * primitive type name such as `"string"`, or an avsc `Type`.
 */
export type AvroSchema = Avsc.Schema | string | Readonly<object>;

export interface AvroSerdeOptions extends SchemaRegistrySerdeOptions {
  /**
   * The schema values are written with. On read it is the reader schema: a record written with
   * another (compatible) version of the schema is resolved to this one, as Avro's schema
   * resolution says. Without it the serde only reads, each record as its writer's schema has it.
   */
  readonly schema?: AvroSchema;
  /**
   * avsc's `Type.forSchema` options for the writer and every reader schema: `logicalTypes`
   * (dates, decimals), a `registry` with a long type that keeps 64-bit values past 2^53, and so on.
   */
  readonly forSchemaOptions?: Partial<Avsc.ForSchemaOptions>;
}

export interface SchemaRegistrySerde<T> extends AsyncSerde<T> {
  /** The subject values are registered under for a topic. */
  subjectFor(topic: string): string;
}

const avsc = lazyPeer<typeof Avsc>('avsc', 'avroSerde', () => import('avsc'));

export function avroSerde<T>(options: AvroSerdeOptions): SchemaRegistrySerde<T> {
  const registry = resolveRegistry(options.registry);
  const subjectOf = resolveSubject(options.subject);
  const autoRegister = options.autoRegister ?? true;
  const isKey = options.isKey ?? false;
  const ids = writerIds(registry, autoRegister);
  const name = 'avroSerde';
  const text = options.schema === undefined ? undefined : schemaText(options.schema);
  const recordName = options.schema === undefined ? undefined : avroFullName(JSON.parse(text!) as unknown);
  let writer: Promise<{ type: Avsc.Type; definition: SchemaDefinition }> | undefined;

  const writerType = () => {
    writer ??= avsc().then((avro) => {
      try {
        return {
          type: avro.Type.forSchema(JSON.parse(text!) as Avsc.Schema, forSchemaOptions(options)),
          definition: { schemaType: 'AVRO', schema: text! },
        };
      } catch (error) {
        throw new TypeError(`avroSerde: the schema is not a valid Avro schema: ${(error as Error).message}`, {
          cause: error,
        });
      }
    });
    return writer;
  };

  // One lookup per schema id; a failed one is forgotten, so the next record asks again.
  const readerFor = cachedById(async (id: number, topic: string): Promise<(body: Buffer) => unknown> => {
    const avro = await avsc();
    const written = await registry.getSchemaById(id);
    if (written.schemaType !== 'AVRO')
      throw new SerializationException(
        `${name} cannot read a record from topic "${topic}": schema id ${id} is a ${written.schemaType} schema, not Avro`,
        { topic },
      );
    let writerOfRecord: Avsc.Type;
    try {
      writerOfRecord = avro.Type.forSchema(
        JSON.parse(written.schema) as Avsc.Schema,
        options.forSchemaOptions,
      );
    } catch (error) {
      throw new SerializationException(
        `${name}: schema id ${id} from ${registry.url} is not an Avro schema avsc can read: ${(error as Error).message}`,
        { topic, cause: error },
      );
    }
    if (text === undefined) return (body: Buffer) => writerOfRecord.fromBuffer(body);
    const { type: readerType } = await writerType();
    if (readerType.equals(writerOfRecord)) return (body: Buffer) => readerType.fromBuffer(body);
    let resolver: ReturnType<Avsc.Type['createResolver']>;
    try {
      resolver = readerType.createResolver(writerOfRecord);
    } catch (error) {
      throw new SerializationException(
        `${name} cannot read records of schema id ${id} from topic "${topic}" with its reader schema: ` +
          `the two are not compatible (${(error as Error).message})`,
        { topic, cause: error },
      );
    }
    return (body: Buffer) => readerType.fromBuffer(body, resolver);
  });

  return {
    name,
    asynchronous: true,
    subjectFor: (topic) => subjectOf(topic, isKey, recordName),
    async serializeAsync(topic: string, data: T | null, _headers: Headers): Promise<Buffer | null> {
      if (data === null || data === undefined) return null;
      if (text === undefined) throw noWriterSchema(name, topic);
      const { type, definition } = await writerType();
      const problems: string[] = [];
      if (
        !type.isValid(data, {
          errorHook: (path, value) => problems.push(`${path.join('.') || '(value)'}: ${show(value)}`),
        })
      )
        throw new SerializationException(
          `${name} cannot write to topic "${topic}": the value does not match the Avro schema ${recordName ?? ''}`.trimEnd() +
            ` (${problems.slice(0, 5).join('; ')})`,
          { topic },
        );
      const subject = subjectOf(topic, isKey, recordName);
      const id = await ids(subject, definition);
      return frame(id, type.toBuffer(data));
    },
    async deserializeAsync(topic: string, data: Buffer | null, _headers: Headers): Promise<T | null> {
      if (data === null || data === undefined) return null;
      const { schemaId, body } = unframe(topic, data, name);
      const read = await readerFor(schemaId, topic);
      try {
        return read(body) as T;
      } catch (error) {
        throw new SerializationException(
          `${name} cannot read a record from topic "${topic}": its payload does not match schema id ${schemaId} ` +
            `(${(error as Error).message})`,
          { topic, cause: error },
        );
      }
    },
  };
}

/** A copy per schema: avsc adds the schema's named types to the options' registry. */
function forSchemaOptions(options: AvroSerdeOptions): Partial<Avsc.ForSchemaOptions> {
  const given = options.forSchemaOptions;
  return { ...given, registry: { ...given?.registry } };
}

function schemaText(schema: AvroSchema): string {
  if (typeof (schema as Avsc.Type).toBuffer === 'function')
    return JSON.stringify((schema as Avsc.Type).schema());
  if (typeof schema !== 'string') return JSON.stringify(schema);
  try {
    return JSON.stringify(JSON.parse(schema));
  } catch {
    return JSON.stringify(schema); // a type name such as "string"
  }
}

function avroFullName(schema: unknown): string | undefined {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return undefined;
  const { name, namespace } = schema as { name?: unknown; namespace?: unknown };
  if (typeof name !== 'string') return undefined;
  return name.includes('.') || typeof namespace !== 'string' || namespace === ''
    ? name
    : `${namespace}.${name}`;
}

function show(value: unknown): string {
  if (value === undefined) return 'missing';
  try {
    const s = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
    return s === undefined ? String(value) : s.length > 60 ? `${s.slice(0, 60)}…` : s;
  } catch {
    return String(value);
  }
}
