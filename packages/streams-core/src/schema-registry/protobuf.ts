/**
 * `protobufSerde`: Protobuf values in the Schema Registry wire format, with protobufjs. The
 * message type is named by its message indexes after the schema id, so one schema file can hold
 * several message types.
 */
import type * as Protobuf from 'protobufjs';
import type { Headers } from '../processor/api/headers.ts';
import { SerializationException } from '../serdes/serialization-exception.ts';
import type { SchemaRegistrySerde } from './avro.ts';
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
import { decodeMessageIndexes, frame, unframe } from './wire-format.ts';

export interface ProtobufSerdeOptions extends SchemaRegistrySerdeOptions {
  /**
   * The `.proto` file values are written with (proto2 or proto3; imports of other files are not
   * supported). Without it the serde only reads, each record with its writer's schema.
   */
  readonly schema?: string;
  /**
   * The message type written, by its full name (`package.Message`, `package.Outer.Inner`).
   * Default: the first message of the file.
   */
  readonly messageType?: string;
  /**
   * How decoded messages become plain objects (protobufjs `toObject` options). Default: 64-bit
   * integers and enums as strings, default values, empty arrays and maps filled in.
   */
  readonly toObjectOptions?: Protobuf.IConversionOptions;
}

type ProtobufModule = typeof Protobuf;
const protobufjs = lazyPeer<ProtobufModule>('protobufjs', 'protobufSerde', () => import('protobufjs'));

const DEFAULT_TO_OBJECT: Protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
};

interface ParsedFile {
  readonly root: Protobuf.Root;
  /** The namespace of the file's package, holding its top-level messages. */
  readonly top: Protobuf.Namespace;
}

export function protobufSerde<T>(options: ProtobufSerdeOptions): SchemaRegistrySerde<T> {
  const registry = resolveRegistry(options.registry);
  const subjectOf = resolveSubject(options.subject);
  const autoRegister = options.autoRegister ?? true;
  const isKey = options.isKey ?? false;
  const ids = writerIds(registry, autoRegister);
  const toObjectOptions = options.toObjectOptions ?? DEFAULT_TO_OBJECT;
  const name = 'protobufSerde';
  const text = options.schema;
  let writer:
    | Promise<{ type: Protobuf.Type; indexes: number[]; definition: SchemaDefinition; fullName: string }>
    | undefined;

  const writerType = () => {
    writer ??= protobufjs().then((pb) => {
      const file = parseFile(pb, text!, 'the schema');
      const types = messagesOf(pb, file.top);
      let type: Protobuf.Type | undefined;
      if (options.messageType === undefined) {
        type = types[0];
        if (!type) throw new TypeError('protobufSerde: the schema declares no message');
      } else {
        const found = file.root.lookup(options.messageType);
        if (!(found instanceof pb.Type))
          throw new TypeError(`protobufSerde: the schema has no message ${options.messageType}`);
        type = found;
      }
      return {
        type,
        indexes: indexesOf(pb, type, file.top),
        definition: { schemaType: 'PROTOBUF' as const, schema: text! },
        fullName: type.fullName.replace(/^\./, ''),
      };
    });
    return writer;
  };

  // One lookup per schema id; a failed one is forgotten, so the next record asks again.
  const readerFor = cachedById(async (id: number, topic: string): Promise<ParsedFile> => {
    const pb = await protobufjs();
    const written = await registry.getSchemaById(id);
    if (written.schemaType !== 'PROTOBUF')
      throw new SerializationException(
        `${name} cannot read a record from topic "${topic}": schema id ${id} is a ${written.schemaType} schema, not Protobuf`,
        { topic },
      );
    try {
      return parseFile(pb, written.schema, `schema id ${id}`);
    } catch (error) {
      throw new SerializationException((error as Error).message, { topic, cause: error });
    }
  });

  // The record name of RecordNameStrategy is known once the schema is parsed; the subject of a
  // topic is only asked for after that on the write path.
  let fullName: string | undefined;

  return {
    name,
    asynchronous: true,
    subjectFor: (topic) => subjectOf(topic, isKey, fullName ?? options.messageType),
    async serializeAsync(topic: string, data: T | null, _headers: Headers): Promise<Buffer | null> {
      if (data === null || data === undefined) return null;
      if (text === undefined) throw noWriterSchema(name, topic);
      const pb = await protobufjs();
      const w = await writerType();
      fullName = w.fullName;
      const problem = checkMessage(pb, w.type, data, '');
      if (problem !== undefined)
        throw new SerializationException(
          `${name} cannot write to topic "${topic}": the value does not match message ${w.fullName} (${problem})`,
          { topic },
        );
      const subject = subjectOf(topic, isKey, w.fullName);
      const id = await ids(subject, w.definition);
      return frame(id, w.type.encode(w.type.fromObject(data as Record<string, unknown>)).finish(), w.indexes);
    },
    async deserializeAsync(topic: string, data: Buffer | null, _headers: Headers): Promise<T | null> {
      if (data === null || data === undefined) return null;
      const { schemaId, body } = unframe(topic, data, name);
      const { indexes, rest } = decodeMessageIndexes(topic, body, name);
      const file = await readerFor(schemaId, topic);
      const pb = await protobufjs();
      const type = typeAt(pb, file.top, indexes);
      if (!type)
        throw new SerializationException(
          `${name} cannot read a record from topic "${topic}": schema id ${schemaId} has no message at index path [${indexes.join(', ')}]`,
          { topic },
        );
      try {
        return type.toObject(type.decode(rest), toObjectOptions) as T;
      } catch (error) {
        throw new SerializationException(
          `${name} cannot read a record from topic "${topic}": its payload is not a ${type.fullName.replace(/^\./, '')} ` +
            `of schema id ${schemaId} (${(error as Error).message})`,
          { topic, cause: error },
        );
      }
    },
  };
}

function parseFile(pb: ProtobufModule, source: string, what: string): ParsedFile {
  let parsed: Protobuf.IParserResult;
  try {
    parsed = pb.parse(source, { keepCase: true });
    parsed.root.resolveAll();
  } catch (error) {
    throw new TypeError(
      `protobufSerde: ${what} is not a .proto file protobufjs can read: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const top = parsed.package ? parsed.root.lookup(parsed.package) : parsed.root;
  if (!(top instanceof pb.Namespace))
    throw new TypeError(`protobufSerde: ${what}: package ${parsed.package} not found`);
  return { root: parsed.root, top };
}

/**
 * The message types declared directly in a namespace or message, in the order of the file: the
 * numbering of the message indexes, which counts declared messages only (not enums, not the
 * types of proto2 groups; map fields add none, as in the `.proto` text).
 */
function messagesOf(pb: ProtobufModule, ns: Protobuf.NamespaceBase): Protobuf.Type[] {
  return ns.nestedArray.filter(
    (n): n is Protobuf.Type =>
      n instanceof pb.Type && (n as Protobuf.Type & { group?: boolean }).group !== true,
  );
}

/** The path of a message in its file: its index among the top-level messages, then nested ones. */
function indexesOf(pb: ProtobufModule, type: Protobuf.Type, top: Protobuf.Namespace): number[] {
  const path: number[] = [];
  let at: Protobuf.Type = type;
  for (;;) {
    const parent = at.parent;
    if (!parent)
      throw new TypeError(`protobufSerde: message ${type.fullName} is outside the schema's package`);
    const index = messagesOf(pb, parent).indexOf(at);
    if (index < 0)
      throw new TypeError(`protobufSerde: ${type.fullName} is the type of a group, not a message of its own`);
    path.unshift(index);
    if (parent === top) return path;
    if (!(parent instanceof pb.Type))
      throw new TypeError(`protobufSerde: message ${type.fullName} is outside the schema's package`);
    at = parent;
  }
}

function typeAt(
  pb: ProtobufModule,
  top: Protobuf.Namespace,
  indexes: readonly number[],
): Protobuf.Type | undefined {
  let ns: Protobuf.NamespaceBase = top;
  let type: Protobuf.Type | undefined;
  for (const index of indexes) {
    type = messagesOf(pb, ns)[index];
    if (!type) return undefined;
    ns = type;
  }
  return type;
}

const INTEGER_32 = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const INTEGER_64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

/**
 * Why a plain object is not a message of the type, or undefined. Takes what the decoder gives
 * back (64-bit integers as strings, bigints or numbers, enums by name or number, bytes as
 * Uint8Array or base64), so a decoded value writes back as it was; unknown fields are an error.
 */
function checkMessage(
  pb: ProtobufModule,
  type: Protobuf.Type,
  value: unknown,
  path: string,
): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return `${path || '(value)'}: object expected`;
  for (const [key, fieldValue] of Object.entries(value)) {
    const field = type.fields[key];
    const at = path ? `${path}.${key}` : key;
    if (!field) return `${at}: no such field in ${type.name}`;
    if (fieldValue === null || fieldValue === undefined) continue;
    if (field instanceof pb.MapField) {
      if (typeof fieldValue !== 'object' || Array.isArray(fieldValue)) return `${at}: map (object) expected`;
      for (const [k, v] of Object.entries(fieldValue)) {
        const p = checkScalar(pb, field, v, `${at}[${k}]`);
        if (p) return p;
      }
    } else if (field.repeated) {
      if (!Array.isArray(fieldValue)) return `${at}: array expected`;
      for (const [i, v] of fieldValue.entries()) {
        const p = checkScalar(pb, field, v, `${at}[${i}]`);
        if (p) return p;
      }
    } else {
      const p = checkScalar(pb, field, fieldValue, at);
      if (p) return p;
    }
  }
  return undefined;
}

function checkScalar(
  pb: ProtobufModule,
  field: Protobuf.FieldBase,
  v: unknown,
  at: string,
): string | undefined {
  const resolved = field.resolvedType;
  if (resolved instanceof pb.Type) return checkMessage(pb, resolved, v, at);
  if (resolved instanceof pb.Enum) {
    if (typeof v === 'string' ? v in resolved.values : typeof v === 'number' && Number.isInteger(v))
      return undefined;
    return `${at}: one of ${Object.keys(resolved.values).join(', ')} expected, got ${JSON.stringify(v)}`;
  }
  const t = field.type;
  const ok =
    t === 'string'
      ? typeof v === 'string'
      : t === 'bool'
        ? typeof v === 'boolean'
        : t === 'double' || t === 'float'
          ? typeof v === 'number'
          : t === 'bytes'
            ? v instanceof Uint8Array || typeof v === 'string'
            : INTEGER_32.has(t)
              ? typeof v === 'number' && Number.isInteger(v)
              : INTEGER_64.has(t)
                ? (typeof v === 'number' && Number.isInteger(v)) ||
                  typeof v === 'bigint' ||
                  (typeof v === 'string' && /^-?\d+$/.test(v)) ||
                  (typeof v === 'object' && v !== null && 'low' in v && 'high' in v)
                : true;
  return ok ? undefined : `${at}: ${t} expected, got ${JSON.stringify(typeof v === 'bigint' ? `${v}n` : v)}`;
}
