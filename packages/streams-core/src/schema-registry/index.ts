/**
 * Serdes in the Confluent Schema Registry wire format (Avro, Protobuf, JSON Schema) and a client
 * of the registry's REST API. Import from `@kafka-pattern/streams-core/schema-registry`; each
 * format needs its library, an optional peer dependency of streams-core loaded on first use:
 * avsc (Avro), protobufjs (Protobuf), ajv (JSON Schema).
 */
export { type AvroSchema, type AvroSerdeOptions, avroSerde, type SchemaRegistrySerde } from './avro.ts';
export {
  createSchemaRegistryClient,
  IncompatibleSchemaError,
  InvalidSchemaError,
  type SchemaDefinition,
  SchemaNotFoundError,
  type SchemaRegistry,
  type SchemaRegistryClientOptions,
  SchemaRegistryError,
  SchemaRegistryUnreachableError,
  type SchemaType,
} from './client.ts';
export { type JsonSchemaSerdeOptions, jsonSchemaSerde } from './json-schema.ts';
export {
  recordNameStrategy,
  type SchemaRegistrySerdeOptions,
  type SubjectNameStrategy,
  topicNameStrategy,
  topicRecordNameStrategy,
} from './options.ts';
export { type ProtobufSerdeOptions, protobufSerde } from './protobuf.ts';
export { decodeMessageIndexes, encodeMessageIndexes, frame, MAGIC_BYTE, unframe } from './wire-format.ts';
