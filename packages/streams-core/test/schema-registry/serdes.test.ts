/**
 * The Schema Registry serdes against a test double of the registry's REST API
 * (registry-double.ts): subjects, registration and look-up, what is cached, and the errors.
 */
import { Headers, SerializationException } from '@kafka-pattern/streams-core';
import {
  avroSerde,
  createSchemaRegistryClient,
  frame,
  IncompatibleSchemaError,
  InvalidSchemaError,
  jsonSchemaSerde,
  protobufSerde,
  SchemaNotFoundError,
  SchemaRegistryError,
  SchemaRegistryUnreachableError,
} from '@kafka-pattern/streams-core/schema-registry';
import avsc from 'avsc';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closedPort, type RegistryDouble, startRegistryDouble } from './registry-double.ts';

const USER = {
  type: 'record',
  name: 'User',
  namespace: 'kp.test',
  fields: [
    { name: 'name', type: 'string' },
    { name: 'age', type: 'int' },
  ],
} as const;
const USER_V2 = {
  ...USER,
  fields: [...USER.fields, { name: 'email', type: 'string', default: 'none' }],
};
const PROTO = `syntax = "proto3";
package kp.test;
enum Kind { PLAIN = 0; EXPRESS = 1; }
message Order {
  string id = 1;
  int64 cents = 2;
  Kind kind = 3;
  message Line { string sku = 1; int32 qty = 2; }
  repeated Line lines = 4;
  map<string, string> tags = 5;
}
message Refund { string order_id = 1; }
`;
const JSON_SCHEMA = {
  title: 'Payment',
  type: 'object',
  properties: { id: { type: 'string' }, amount: { type: 'number', minimum: 0 } },
  required: ['id', 'amount'],
  additionalProperties: false,
};

let registry: RegistryDouble;
const headers = () => new Headers();
const gets = () => registry.requests.filter((r) => r.method === 'GET');
const posts = () => registry.requests.filter((r) => r.method === 'POST');

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

beforeEach(async () => {
  registry = await startRegistryDouble();
});
afterEach(async () => {
  await registry.close();
});

describe('avroSerde', () => {
  it('registers under <topic>-value once, frames with the id, and reads back through the id', async () => {
    const writer = avroSerde<{ name: string; age: number }>({
      registry: { url: registry.url },
      schema: USER,
    });
    const a = await writer.serializeAsync('users', { name: 'x', age: 3 }, headers());
    const b = await writer.serializeAsync('users', { name: 'y', age: 4 }, headers());
    expect(registry.subjects.get('users-value')).toEqual([1]);
    expect(posts().map((r) => r.path)).toEqual(['/subjects/users-value/versions']);
    // Hand-checked Avro: string length 1 zigzag = 02, 'x' = 78, int 3 zigzag = 06.
    expect(a!.toString('hex')).toBe('0000000001027806');
    expect(writer.subjectFor('users')).toBe('users-value');

    const reader = avroSerde<{ name: string; age: number }>({ registry: { url: registry.url } });
    expect(await reader.deserializeAsync('users', a, headers())).toEqual({ name: 'x', age: 3 });
    expect(await reader.deserializeAsync('users', b, headers())).toEqual({ name: 'y', age: 4 });
    expect(gets().map((r) => r.path)).toEqual(['/schemas/ids/1']);
    // The writer's own client knows the id's schema from registering it.
    expect(await writer.deserializeAsync('users', a, headers())).toEqual({ name: 'x', age: 3 });
    expect(gets()).toHaveLength(1);
  });

  it('asks the registry once for records read at the same time, and again after a failed look-up', async () => {
    const client = createSchemaRegistryClient({ url: registry.url, retries: 0 });
    const reader = avroSerde<unknown>({ registry: client });
    const record = frame(1, Buffer.from([0x02, 0x78, 0x06]));
    expect(await failure(reader.deserializeAsync('users', record, headers()))).toBeInstanceOf(
      SchemaNotFoundError,
    );
    registry.add('users-value', 'AVRO', JSON.stringify(USER));
    const all = await Promise.all(
      Array.from({ length: 5 }, () => reader.deserializeAsync('users', record, headers())),
    );
    expect(all).toEqual(Array.from({ length: 5 }, () => ({ name: 'x', age: 3 })));
    expect(gets()).toHaveLength(2);
  });

  it('resolves records of an earlier schema version to its reader schema', async () => {
    const v1 = avroSerde<unknown>({ registry: { url: registry.url }, schema: USER });
    const v2 = avroSerde<unknown>({ registry: { url: registry.url }, schema: USER_V2 });
    const old = await v1.serializeAsync('users', { name: 'a', age: 1 }, headers());
    const fresh = await v2.serializeAsync('users', { name: 'b', age: 2, email: 'b@x' }, headers());
    expect(registry.subjects.get('users-value')).toEqual([1, 2]);
    expect(await v2.deserializeAsync('users', old, headers())).toEqual({ name: 'a', age: 1, email: 'none' });
    expect(await v1.deserializeAsync('users', fresh, headers())).toEqual({ name: 'b', age: 2 });
  });

  it('names subjects by TopicNameStrategy, RecordNameStrategy, TopicRecordNameStrategy or as given', async () => {
    const subjectOf = async (options: Partial<Parameters<typeof avroSerde>[0]>) => {
      const serde = avroSerde<unknown>({ registry: { url: registry.url }, schema: USER, ...options });
      await serde.serializeAsync('orders', { name: 'n', age: 0 }, headers());
      return serde.subjectFor('orders');
    };
    expect(await subjectOf({})).toBe('orders-value');
    expect(await subjectOf({ isKey: true })).toBe('orders-key');
    expect(await subjectOf({ subject: 'record' })).toBe('kp.test.User');
    expect(await subjectOf({ subject: 'topic-record' })).toBe('orders-kp.test.User');
    expect(await subjectOf({ subject: 'users-v1' })).toBe('users-v1');
    expect(await subjectOf({ subject: (topic, isKey, name) => `${topic}/${isKey}/${name}` })).toBe(
      'orders/false/kp.test.User',
    );
    expect([...registry.subjects.keys()].sort()).toEqual(
      [
        'kp.test.User',
        'orders-key',
        'orders-kp.test.User',
        'orders-value',
        'orders/false/kp.test.User',
        'users-v1',
      ].sort(),
    );
  });

  it('with autoRegister false only looks the schema up, and says when it is not registered', async () => {
    const serde = avroSerde<unknown>({ registry: { url: registry.url }, schema: USER, autoRegister: false });
    const error = await failure(serde.serializeAsync('users', { name: 'x', age: 1 }, headers()));
    expect(error).toBeInstanceOf(SchemaNotFoundError);
    expect(error).toBeInstanceOf(SerializationException);
    expect(error.message).toMatch(/looking up a AVRO schema under subject "users-value"/);
    expect(error.message).toMatch(/not registered under this subject/);
    const id = registry.add('users-value', 'AVRO', JSON.stringify(USER));
    const bytes = await serde.serializeAsync('users', { name: 'x', age: 1 }, headers());
    expect(bytes!.readInt32BE(1)).toBe(id);
    expect(posts().map((r) => r.path)).toEqual(['/subjects/users-value', '/subjects/users-value']);
    expect(registry.subjects.get('users-value')).toEqual([id]);
  });

  it('says a schema is incompatible (409) or invalid (422)', async () => {
    registry.incompatible.add('users-value');
    const serde = avroSerde<unknown>({ registry: { url: registry.url }, schema: USER });
    const error = await failure(serde.serializeAsync('users', { name: 'x', age: 1 }, headers()));
    expect(error).toBeInstanceOf(IncompatibleSchemaError);
    expect(error).toBeInstanceOf(SerializationException);
    expect((error as IncompatibleSchemaError).status).toBe(409);
    expect(error.message).toMatch(/subject "users-value": the schema is incompatible/);
    expect(error.message).toContain(registry.url);
    // A refusal is not remembered: once the subject takes the schema, the next record goes through.
    registry.incompatible.delete('users-value');
    expect((await serde.serializeAsync('users', { name: 'x', age: 1 }, headers()))!.readInt32BE(1)).toBe(1);

    const client = createSchemaRegistryClient({ url: registry.url });
    const invalid = await failure(client.register('x-value', { schemaType: 'AVRO', schema: 'not json' }));
    expect(invalid).toBeInstanceOf(InvalidSchemaError);
    expect((invalid as InvalidSchemaError).errorCode).toBe(42201);
  });

  it('says which schema id the registry does not have', async () => {
    const reader = avroSerde<unknown>({ registry: { url: registry.url } });
    const error = await failure(reader.deserializeAsync('users', frame(42, Buffer.from([2])), headers()));
    expect(error).toBeInstanceOf(SchemaNotFoundError);
    expect((error as SchemaNotFoundError).errorCode).toBe(40403);
    expect(error.message).toMatch(/fetching schema id 42 \(404\/40403: Schema 42 not found\)/);
  });

  it('says the registry is unreachable, with its url and what to check, after its retries', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const reader = avroSerde<unknown>({ registry: { url, retries: 2, retryBackoffMs: 1 } });
    const error = await failure(reader.deserializeAsync('users', frame(1, Buffer.from([2])), headers()));
    expect(error).toBeInstanceOf(SchemaRegistryUnreachableError);
    expect(error).toBeInstanceOf(SerializationException);
    expect(error.message).toContain(`Schema Registry at ${url} is unreachable`);
    expect(error.message).toMatch(/after 3 attempts/);
    expect(error.message).toMatch(/Check that the registry runs/);
  });

  it('retries a registry error (5xx) and gives up after its retries', async () => {
    registry.add('users-value', 'AVRO', JSON.stringify(USER));
    registry.failNext = 1;
    const reader = avroSerde<unknown>({ registry: { url: registry.url, retryBackoffMs: 1 } });
    const record = frame(1, Buffer.from([0x02, 0x78, 0x06]));
    expect(await reader.deserializeAsync('users', record, headers())).toEqual({ name: 'x', age: 3 });
    registry.failNext = 5;
    const other = avroSerde<unknown>({ registry: { url: registry.url, retries: 1, retryBackoffMs: 1 } });
    const error = await failure(other.deserializeAsync('users', record, headers()));
    expect(error).toBeInstanceOf(SchemaRegistryError);
    expect((error as SchemaRegistryError).status).toBe(500);
  });

  it('says when a value or a payload does not match the schema', async () => {
    const serde = avroSerde<unknown>({ registry: { url: registry.url }, schema: USER });
    const write = await failure(serde.serializeAsync('users', { name: 7 }, headers()));
    expect(write).toBeInstanceOf(SerializationException);
    expect(write.message).toMatch(/does not match the Avro schema kp.test.User \(name: 7; age: missing\)/);
    await serde.serializeAsync('users', { name: 'x', age: 1 }, headers());
    const read = await failure(serde.deserializeAsync('users', frame(1, Buffer.from([0x40])), headers()));
    expect(read).toBeInstanceOf(SerializationException);
    expect(read.message).toMatch(/payload does not match schema id 1/);
    const notWire = await failure(serde.deserializeAsync('users', Buffer.from('{"name":"x"}'), headers()));
    expect(notWire.message).toMatch(/not in the Schema Registry wire format/);
  });

  it('says when the id is a schema of another format, and when the serde has no schema to write', async () => {
    const id = registry.add('p-value', 'PROTOBUF', PROTO);
    const reader = avroSerde<unknown>({ registry: { url: registry.url } });
    expect(
      (await failure(reader.deserializeAsync('p', frame(id, Buffer.from([0])), headers()))).message,
    ).toMatch(/schema id 1 is a PROTOBUF schema, not Avro/);
    expect((await failure(reader.serializeAsync('p', { a: 1 }, headers()))).message).toMatch(
      /made without a schema \(pass schema to write\)/,
    );
  });

  it('passes forSchemaOptions to avsc, for logical types', async () => {
    class DateType extends avsc.types.LogicalType {
      override _fromValue(value: number) {
        return new Date(value);
      }
      override _toValue(value: unknown) {
        return value instanceof Date ? value.getTime() : undefined;
      }
    }
    const schema = {
      type: 'record',
      name: 'Event',
      fields: [{ name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } }],
    };
    const options = { logicalTypes: { 'timestamp-millis': DateType } };
    const serde = avroSerde<{ at: Date }>({
      registry: { url: registry.url },
      schema,
      forSchemaOptions: options,
    });
    const at = new Date('2026-01-02T03:04:05.678Z');
    const bytes = await serde.serializeAsync('events', { at }, headers());
    const reader = avroSerde<{ at: Date }>({ registry: { url: registry.url }, forSchemaOptions: options });
    expect(await reader.deserializeAsync('events', bytes, headers())).toEqual({ at });
    const plain = avroSerde<{ at: number }>({ registry: { url: registry.url } });
    expect(await plain.deserializeAsync('events', bytes, headers())).toEqual({ at: at.getTime() });
  });

  it('passes null (tombstones) through both ways without the registry', async () => {
    const serde = avroSerde<unknown>({ registry: { url: registry.url }, schema: USER });
    expect(await serde.serializeAsync('users', null, headers())).toBeNull();
    expect(await serde.deserializeAsync('users', null, headers())).toBeNull();
    expect(registry.requests).toEqual([]);
  });
});

describe('protobufSerde', () => {
  it('writes the message indexes of the type and reads it back as a plain object', async () => {
    const orders = protobufSerde<unknown>({ registry: { url: registry.url }, schema: PROTO });
    const value = {
      id: 'o-1',
      cents: '9007199254740993',
      kind: 'EXPRESS',
      lines: [{ sku: 'a', qty: 2 }],
      tags: { gift: 'yes' },
    };
    const bytes = await orders.serializeAsync('orders', value, headers());
    expect(bytes!.subarray(0, 6).toString('hex')).toBe('000000000100');
    expect(registry.requests[0]!.body).toEqual({ schemaType: 'PROTOBUF', schema: PROTO });
    const reader = protobufSerde<unknown>({ registry: { url: registry.url } });
    expect(await reader.deserializeAsync('orders', bytes, headers())).toEqual(value);

    const refunds = protobufSerde<unknown>({
      registry: { url: registry.url },
      schema: PROTO,
      messageType: 'kp.test.Refund',
    });
    const refund = await refunds.serializeAsync('refunds', { order_id: 'o-1' }, headers());
    expect(refund!.subarray(0, 7).toString('hex')).toBe('00000000010202');
    expect(await reader.deserializeAsync('refunds', refund, headers())).toEqual({ order_id: 'o-1' });

    const lines = protobufSerde<unknown>({
      registry: { url: registry.url },
      schema: PROTO,
      messageType: 'kp.test.Order.Line',
      subject: 'record',
    });
    const line = await lines.serializeAsync('lines', { sku: 'z', qty: 5 }, headers());
    expect(line!.subarray(0, 8).toString('hex')).toBe('0000000001040000');
    expect(lines.subjectFor('lines')).toBe('kp.test.Order.Line');
    expect(await reader.deserializeAsync('lines', line, headers())).toEqual({ sku: 'z', qty: 5 });
    // One schema, one id: the reader fetched it once for the three records.
    expect(registry.subjects.get('orders-value')).toEqual([1]);
    expect(gets().map((r) => r.path)).toEqual(['/schemas/ids/1']);
  });

  it('numbers declared messages only: enums and map fields do not count', async () => {
    const schema = `syntax = "proto3";
package kp.idx;
enum First { F = 0; }
message A {
  map<string, int32> counts = 1;
  enum Inner { I = 0; }
  message B { int32 x = 1; }
  B b = 2;
  message C { string s = 1; }
}
enum Between { W = 0; }
message D { A.C c = 1; }
`;
    const indexesOf = async (messageType: string) => {
      const serde = protobufSerde<unknown>({ registry: { url: registry.url }, schema, messageType });
      const bytes = await serde.serializeAsync('idx', {}, headers());
      return bytes!.subarray(5).toString('hex');
    };
    expect(await indexesOf('kp.idx.A')).toBe('00');
    expect(await indexesOf('kp.idx.D')).toBe('0202');
    expect(await indexesOf('kp.idx.A.B')).toBe('040000');
    expect(await indexesOf('kp.idx.A.C')).toBe('040002');
    const reader = protobufSerde<unknown>({ registry: { url: registry.url } });
    const d = protobufSerde<unknown>({ registry: { url: registry.url }, schema, messageType: 'kp.idx.D' });
    const bytes = await d.serializeAsync('idx', { c: { s: 'deep' } }, headers());
    expect(await reader.deserializeAsync('idx', bytes, headers())).toEqual({ c: { s: 'deep' } });
  });

  it('says when a value is not a message of the type, or the indexes point at none', async () => {
    const serde = protobufSerde<unknown>({ registry: { url: registry.url }, schema: PROTO });
    const cases: Array<[unknown, RegExp]> = [
      [{ id: 5 }, /id: string expected, got 5/],
      [{ kind: 'SLOW' }, /kind: one of PLAIN, EXPRESS expected, got "SLOW"/],
      [{ cents: 'lots' }, /cents: int64 expected/],
      [{ lines: [{ qty: 1.5 }] }, /lines\[0\].qty: int32 expected/],
      [{ idd: 'x' }, /idd: no such field in Order/],
    ];
    for (const [value, why] of cases) {
      const error = await failure(serde.serializeAsync('orders', value, headers()));
      expect(error).toBeInstanceOf(SerializationException);
      expect(error.message).toMatch(/does not match message kp.test.Order/);
      expect(error.message).toMatch(why);
    }
    await serde.serializeAsync('orders', { id: 'x' }, headers());
    const error = await failure(serde.deserializeAsync('orders', frame(1, Buffer.alloc(0), [5]), headers()));
    expect(error.message).toMatch(/schema id 1 has no message at index path \[5\]/);
    const bad = await failure(
      serde.deserializeAsync('orders', frame(1, Buffer.from([0x0a, 0x05]), [0]), headers()),
    );
    expect(bad.message).toMatch(/payload is not a kp.test.Order of schema id 1/);
  });
});

describe('jsonSchemaSerde', () => {
  it('validates on write and on read against the schema of the record id', async () => {
    const serde = jsonSchemaSerde<{ id: string; amount: number }>({
      registry: { url: registry.url },
      schema: JSON_SCHEMA,
    });
    const bytes = await serde.serializeAsync('payments', { id: 'p', amount: 2.5 }, headers());
    expect(bytes!.subarray(5).toString()).toBe('{"id":"p","amount":2.5}');
    expect(registry.subjects.get('payments-value')).toEqual([1]);
    const reader = jsonSchemaSerde<unknown>({ registry: { url: registry.url } });
    expect(await reader.deserializeAsync('payments', bytes, headers())).toEqual({ id: 'p', amount: 2.5 });

    const write = await failure(serde.serializeAsync('payments', { id: 'p', amount: -1 }, headers()));
    expect(write).toBeInstanceOf(SerializationException);
    expect(write.message).toMatch(/does not match the JSON Schema Payment \(data\/amount must be >= 0\)/);
    const read = await failure(
      reader.deserializeAsync('payments', frame(1, Buffer.from('{"id":1}')), headers()),
    );
    expect(read.message).toMatch(
      /payload does not match schema id 1 \(data must have required property 'amount', data\/id must be string\)/,
    );
    const notJson = await failure(reader.deserializeAsync('payments', frame(1, Buffer.from('{')), headers()));
    expect(notJson.message).toMatch(/payload after schema id 1 is not JSON/);
    expect(serde.subjectFor('payments')).toBe('payments-value');
    expect(
      jsonSchemaSerde({ registry: { url: registry.url }, schema: JSON_SCHEMA, subject: 'record' }).subjectFor(
        'x',
      ),
    ).toBe('Payment');
  });

  it('takes draft-06 and 2019-09 schemas', async () => {
    for (const $schema of [
      'http://json-schema.org/draft-06/schema#',
      'https://json-schema.org/draft/2019-09/schema',
    ]) {
      const serde = jsonSchemaSerde<unknown>({
        registry: { url: registry.url },
        schema: { $schema, type: 'object', properties: { n: { type: 'integer' } } },
      });
      const bytes = await serde.serializeAsync('d', { n: 1 }, headers());
      expect(await serde.deserializeAsync('d', bytes, headers())).toEqual({ n: 1 });
      await expect(serde.serializeAsync('d', { n: 1.5 }, headers())).rejects.toThrow(
        /data\/n must be integer/,
      );
    }
  });

  it('takes 2020-12 schemas and refuses draft-04', async () => {
    const modern = jsonSchemaSerde<unknown>({
      registry: { url: registry.url },
      schema: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'array',
        prefixItems: [{ type: 'string' }],
      },
    });
    const bytes = await modern.serializeAsync('a', ['x'], headers());
    expect(await modern.deserializeAsync('a', bytes, headers())).toEqual(['x']);
    await expect(modern.serializeAsync('a', [1], headers())).rejects.toThrow(/data\/0 must be string/);
    const old = jsonSchemaSerde<unknown>({
      registry: { url: registry.url },
      schema: { $schema: 'http://json-schema.org/draft-04/schema#', type: 'string' },
    });
    await expect(old.serializeAsync('a', 'x', headers())).rejects.toThrow(/draft-06 and later are supported/);
  });
});
