/**
 * `jsonSchemaSerde`: JSON values in the Schema Registry wire format, validated with ajv against
 * the serde's schema on write and against the writer's registered schema on read.
 */
import type { Options as AjvOptions, ValidateFunction } from 'ajv';
import type { Headers } from '../processor/api/headers.ts';
import { SerializationException } from '../serdes/serialization-exception.ts';
import type { SchemaRegistrySerde } from './avro.ts';
import type { SchemaDefinition } from './client.ts';
import {
  cachedById,
  loadPeer,
  noWriterSchema,
  resolveRegistry,
  resolveSubject,
  type SchemaRegistrySerdeOptions,
  writerIds,
} from './options.ts';
import { frame, unframe } from './wire-format.ts';

export interface JsonSchemaSerdeOptions extends SchemaRegistrySerdeOptions {
  /**
   * The JSON Schema values are written with (object or JSON text): draft-06, draft-07 (also when
   * `$schema` is absent), 2019-09 or 2020-12. Without it the serde only reads.
   */
  readonly schema?: object | string;
  /** ajv options over the defaults `{ allErrors: true, strict: false }`. */
  readonly ajvOptions?: AjvOptions;
}

type AjvClass = new (
  options?: AjvOptions,
) => {
  compile(schema: object): ValidateFunction;
  addMetaSchema(schema: object): unknown;
  errorsText(errors?: ValidateFunction['errors']): string;
};

interface Validators {
  draft07: Promise<AjvClass>;
  draft2019: Promise<AjvClass>;
  draft2020: Promise<AjvClass>;
}
let ajvClasses: Validators | undefined;

function classes(): Validators {
  const load = (path: string) =>
    loadPeer('ajv', 'jsonSchemaSerde', async () => {
      const mod = (await import(path)) as { default?: unknown };
      const cls = (mod.default as { default?: unknown } | undefined)?.default ?? mod.default;
      return cls as AjvClass;
    });
  ajvClasses ??= {
    draft07: load('ajv'),
    draft2019: load('ajv/dist/2019.js'),
    draft2020: load('ajv/dist/2020.js'),
  };
  return ajvClasses;
}

async function compile(
  schema: object,
  ajvOptions: AjvOptions | undefined,
  what: string,
): Promise<ValidateFunction> {
  const dialect =
    typeof (schema as { $schema?: unknown }).$schema === 'string'
      ? (schema as { $schema: string }).$schema
      : '';
  if (dialect.includes('draft-04') || dialect.includes('draft-03'))
    throw new TypeError(`jsonSchemaSerde: ${what} is a ${dialect} schema; draft-06 and later are supported`);
  const cls = await (dialect.includes('2020-12')
    ? classes().draft2020
    : dialect.includes('2019-09')
      ? classes().draft2019
      : classes().draft07);
  const ajv = new cls({ allErrors: true, strict: false, ...ajvOptions });
  if (dialect.includes('draft-06')) {
    const meta = (await import('ajv/dist/refs/json-schema-draft-06.json', { with: { type: 'json' } })) as {
      default: object;
    };
    ajv.addMetaSchema(meta.default);
  }
  try {
    const validate = ajv.compile(schema);
    return Object.assign(validate, { errorsText: () => ajv.errorsText(validate.errors) });
  } catch (error) {
    throw new TypeError(
      `jsonSchemaSerde: ${what} is not a JSON Schema ajv can compile: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

function errorsOf(validate: ValidateFunction): string {
  return (validate as ValidateFunction & { errorsText(): string }).errorsText();
}

export function jsonSchemaSerde<T>(options: JsonSchemaSerdeOptions): SchemaRegistrySerde<T> {
  const registry = resolveRegistry(options.registry);
  const subjectOf = resolveSubject(options.subject);
  const autoRegister = options.autoRegister ?? true;
  const isKey = options.isKey ?? false;
  const ids = writerIds(registry, autoRegister);
  const name = 'jsonSchemaSerde';
  let schemaObject: object | undefined;
  if (options.schema !== undefined) {
    schemaObject =
      typeof options.schema === 'string' ? (JSON.parse(options.schema) as object) : options.schema;
    if (typeof schemaObject !== 'object' || schemaObject === null)
      throw new TypeError('jsonSchemaSerde: schema must be a JSON Schema object');
  }
  const title =
    typeof (schemaObject as { title?: unknown } | undefined)?.title === 'string'
      ? (schemaObject as { title: string }).title
      : undefined;
  const definition: SchemaDefinition | undefined =
    schemaObject === undefined ? undefined : { schemaType: 'JSON', schema: JSON.stringify(schemaObject) };
  let writer: Promise<ValidateFunction> | undefined;

  // One lookup per schema id; a failed one is forgotten, so the next record asks again.
  const readerFor = cachedById(async (id: number, topic: string): Promise<ValidateFunction> => {
    const written = await registry.getSchemaById(id);
    if (written.schemaType !== 'JSON')
      throw new SerializationException(
        `${name} cannot read a record from topic "${topic}": schema id ${id} is a ${written.schemaType} schema, not JSON Schema`,
        { topic },
      );
    try {
      return await compile(JSON.parse(written.schema) as object, options.ajvOptions, `schema id ${id}`);
    } catch (error) {
      throw new SerializationException((error as Error).message, { topic, cause: error });
    }
  });

  return {
    name,
    asynchronous: true,
    subjectFor: (topic) => subjectOf(topic, isKey, title),
    async serializeAsync(topic: string, data: T | null, _headers: Headers): Promise<Buffer | null> {
      if (data === null || data === undefined) return null;
      if (schemaObject === undefined || definition === undefined) throw noWriterSchema(name, topic);
      writer ??= compile(schemaObject, options.ajvOptions, 'the schema');
      const validate = await writer;
      if (!validate(data))
        throw new SerializationException(
          `${name} cannot write to topic "${topic}": the value does not match the JSON Schema${title ? ` ${title}` : ''} (${errorsOf(validate)})`,
          { topic },
        );
      const subject = subjectOf(topic, isKey, title);
      const id = await ids(subject, definition);
      return frame(id, Buffer.from(JSON.stringify(data), 'utf8'));
    },
    async deserializeAsync(topic: string, data: Buffer | null, _headers: Headers): Promise<T | null> {
      if (data === null || data === undefined) return null;
      const { schemaId, body } = unframe(topic, data, name);
      const validate = await readerFor(schemaId, topic);
      let value: unknown;
      try {
        value = JSON.parse(body.toString('utf8'));
      } catch (error) {
        throw new SerializationException(
          `${name} cannot read a record from topic "${topic}": its payload after schema id ${schemaId} is not JSON (${(error as Error).message})`,
          { topic, cause: error },
        );
      }
      if (!validate(value))
        throw new SerializationException(
          `${name} cannot read a record from topic "${topic}": its payload does not match schema id ${schemaId} (${errorsOf(validate)})`,
          { topic },
        );
      return value as T;
    },
  };
}
