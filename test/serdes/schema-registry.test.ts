/**
 * The Schema Registry serdes against a real registry (the stack's Apicurio Registry, through its
 * Confluent-compatible API) and the real broker:
 * - Avro, Protobuf and JSON Schema values round-trip: the serializer registers the schema under
 *   `<topic>-value`, the id in each record is the one the registry gives for that subject, and a
 *   serde with no schema of its own reads the records back by their ids;
 * - a topology reads a topic written with a serde and writes another with one; a record not in
 *   the wire format goes to the dead-letter topic with the reason;
 * - Avro schema evolution under BACKWARD compatibility: a compatible version registers and old
 *   records read into it, an incompatible one is refused (409); unknown ids, schemas not
 *   registered (autoRegister false), RecordNameStrategy subjects.
 */
import { Headers, KafkaStreams, Serdes, SpringDltHeaders, StreamsBuilder } from '@kafka-pattern/streams-core';
import type { ProducedRecord } from '@kafka-pattern/streams-core/client';
import {
  avroSerde,
  frame,
  IncompatibleSchemaError,
  jsonSchemaSerde,
  protobufSerde,
  SchemaNotFoundError,
  type SchemaRegistrySerde,
} from '@kafka-pattern/streams-core/schema-registry';
import { describe, expect, it } from 'vitest';
import {
  bootstrapServers,
  collect,
  createTopic,
  deleteTopics,
  produce,
  uniqueName,
} from '../support/kafka.ts';
import { schemaRegistryUrl } from '../support/services.ts';
import { teardownAfterEach, tempStateDir } from '../support/teardown.ts';

const cleanups = teardownAfterEach();
const url = schemaRegistryUrl();
const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** The registry's own REST API, to check what the serdes did there. */
async function rest(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: await response.json().catch(() => undefined) };
}

const USER = {
  type: 'record',
  name: 'User',
  namespace: 'kp.it',
  fields: [
    { name: 'name', type: 'string' },
    { name: 'age', type: 'int' },
  ],
} as const;
const PROTO = `syntax = "proto3";
package kp.it;
message Ping { string id = 1; }
message Order {
  string id = 1;
  int64 cents = 2;
  enum Kind { PLAIN = 0; EXPRESS = 1; }
  Kind kind = 3;
  repeated string skus = 4;
}
`;
const PAYMENT = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Payment',
  type: 'object',
  properties: { id: { type: 'string' }, amount: { type: 'number', minimum: 0 } },
  required: ['id', 'amount'],
  additionalProperties: false,
};

interface FormatCase {
  readonly format: 'AVRO' | 'PROTOBUF' | 'JSON';
  writer(): SchemaRegistrySerde<any>;
  reader(): SchemaRegistrySerde<any>;
  sample(i: number): unknown;
  /** What the topology makes of a value. */
  transform(value: any): unknown;
}

const CASES: FormatCase[] = [
  {
    format: 'AVRO',
    writer: () => avroSerde({ registry: { url }, schema: USER }),
    reader: () => avroSerde({ registry: { url } }),
    sample: (i) => ({ name: `user-${i}`, age: 20 + i }),
    transform: (u: { name: string; age: number }) => ({ name: u.name.toUpperCase(), age: u.age + 1 }),
  },
  {
    format: 'PROTOBUF',
    writer: () => protobufSerde({ registry: { url }, schema: PROTO, messageType: 'kp.it.Order' }),
    reader: () => protobufSerde({ registry: { url } }),
    sample: (i) => ({
      id: `o-${i}`,
      cents: `${9_007_199_254_740_993n + BigInt(i)}`,
      kind: 'EXPRESS',
      skus: ['a', `s${i}`],
    }),
    transform: (o: { id: string; cents: string; kind: string; skus: string[] }) => ({
      ...o,
      cents: `${BigInt(o.cents) * 2n}`,
      kind: 'PLAIN',
      skus: [...o.skus].reverse(),
    }),
  },
  {
    format: 'JSON',
    writer: () => jsonSchemaSerde({ registry: { url }, schema: PAYMENT }),
    reader: () => jsonSchemaSerde({ registry: { url } }),
    sample: (i) => ({ id: `p-${i}`, amount: i + 0.5 }),
    transform: (p: { id: string; amount: number }) => ({ id: p.id, amount: p.amount * 10 }),
  },
];

describe.each(CASES)('$format serde with the registry at the stack', (c) => {
  it('registers under <topic>-value, frames with the registry id, and reads back by id', async () => {
    const topic = uniqueName(`sr-${c.format.toLowerCase()}`);
    const writer = c.writer();
    const values = Array.from({ length: 5 }, (_, i) => c.sample(i));
    const records = await Promise.all(values.map((v) => writer.serializeAsync(topic, v, new Headers())));

    const latest = await rest('GET', `/subjects/${topic}-value/versions/latest`);
    expect(latest.status).toBe(200);
    expect(latest.json.schemaType ?? 'AVRO').toBe(c.format);
    for (const r of records) {
      expect(r![0]).toBe(0);
      expect(r!.readInt32BE(1)).toBe(latest.json.id);
    }
    if (c.format === 'PROTOBUF')
      for (const r of records) expect(r!.subarray(5, 7).toString('hex')).toBe('0202');
    const reader = c.reader();
    for (const [i, r] of records.entries())
      expect(await reader.deserializeAsync(topic, r!, new Headers())).toEqual(values[i]);
  });

  it('is read and written by a topology on the broker; a record not in the wire format is dead-lettered', async () => {
    const input = await createTopic(uniqueName(`sr-in-${c.format.toLowerCase()}`), 2);
    const output = await createTopic(uniqueName(`sr-out-${c.format.toLowerCase()}`), 2);
    const dlt = `${input}-dlt`;
    cleanups.push(() => deleteTopics([input, output, dlt]));

    const b = new StreamsBuilder();
    b.stream(input, { key: Serdes.String(), value: c.reader() })
      .mapValues((v) => c.transform(v))
      .to(output, { key: Serdes.String(), value: c.writer() });
    const app = new KafkaStreams(b.build(), {
      applicationId: uniqueName('sr-app'),
      bootstrapServers: bootstrapServers(),
      processingGuarantee: 'exactly_once_v2',
      stateDir: tempStateDir(cleanups, 'kp-sr-'),
      logger: silent,
    });
    cleanups.push(() => app.close());
    await app.start();
    await app.waitForRunning(60_000);

    const producerSerde = c.writer();
    const values = Array.from({ length: 6 }, (_, i) => c.sample(i));
    const records: ProducedRecord[] = [];
    for (const [i, v] of values.entries())
      records.push({
        topic: input,
        key: Buffer.from(`k${i}`),
        value: await producerSerde.serializeAsync(input, v, new Headers()),
      });
    records.push({ topic: input, key: Buffer.from('poison'), value: Buffer.from('{"plain":"json"}') });
    await produce(records);

    const out = await collect(output, { count: values.length, timeoutMs: 60_000 });
    expect(out).toHaveLength(values.length);
    const outId = (await rest('GET', `/subjects/${output}-value/versions/latest`)).json.id;
    const reader = c.reader();
    const got = new Map<string, unknown>();
    for (const r of out) {
      expect(r.value!.readInt32BE(1)).toBe(outId);
      got.set(r.key!.toString(), await reader.deserializeAsync(output, r.value, new Headers()));
    }
    for (const [i, v] of values.entries()) expect(got.get(`k${i}`)).toEqual(c.transform(v));

    const dead = await collect(dlt, { count: 1, timeoutMs: 30_000 });
    expect(dead).toHaveLength(1);
    expect(dead[0]!.key!.toString()).toBe('poison');
    expect(dead[0]!.value!.toString()).toBe('{"plain":"json"}');
    expect(dead[0]!.headers.lastValue(SpringDltHeaders.exceptionFqcn)?.toString()).toMatch(
      /SerializationException/,
    );
    expect(dead[0]!.headers.lastValue(SpringDltHeaders.exceptionMessage)?.toString()).toMatch(
      /not in the Schema Registry wire format \(its first byte is 0x7b/,
    );
    expect(app.state).not.toBe('ERROR');
  });
});

describe('Avro schema evolution and registry errors at the stack registry', () => {
  it('registers a compatible version, reads old records into it, and refuses an incompatible one (409)', async () => {
    const topic = uniqueName('sr-evolve');
    const subject = `${topic}-value`;
    const v1 = avroSerde<unknown>({ registry: { url }, schema: USER });
    const old = await v1.serializeAsync(topic, { name: 'a', age: 1 }, new Headers());
    expect((await rest('PUT', `/config/${subject}`, { compatibility: 'BACKWARD' })).status).toBe(200);

    const v2schema = {
      ...USER,
      fields: [...USER.fields, { name: 'email', type: 'string', default: 'none' }],
    };
    const v2 = avroSerde<unknown>({ registry: { url }, schema: v2schema });
    const fresh = await v2.serializeAsync(topic, { name: 'b', age: 2, email: 'b@x' }, new Headers());
    expect(fresh!.readInt32BE(1)).not.toBe(old!.readInt32BE(1));
    expect((await rest('GET', `/subjects/${subject}/versions`)).json).toEqual([1, 2]);
    expect(await v2.deserializeAsync(topic, old, new Headers())).toEqual({
      name: 'a',
      age: 1,
      email: 'none',
    });
    expect(await v1.deserializeAsync(topic, fresh, new Headers())).toEqual({ name: 'b', age: 2 });

    const v3 = avroSerde<unknown>({
      registry: { url },
      schema: { ...USER, fields: [{ name: 'name', type: 'int' }] },
    });
    const error = await v3
      .serializeAsync(topic, { name: 1 }, new Headers())
      .catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(IncompatibleSchemaError);
    expect((error as IncompatibleSchemaError).status).toBe(409);
    expect((error as Error).message).toContain(
      `Schema Registry at ${url} refused registering a AVRO schema under subject "${subject}"`,
    );
    expect((await rest('GET', `/subjects/${subject}/versions`)).json).toEqual([1, 2]);
  });

  it('says an id is unknown, looks schemas up without registering (autoRegister false), and names subjects by record', async () => {
    const topic = uniqueName('sr-errors');
    const reader = avroSerde<unknown>({ registry: { url } });
    const unknown = await reader
      .deserializeAsync(topic, frame(2_000_000_000, Buffer.from([2])), new Headers())
      .catch((e: unknown) => e as Error);
    expect(unknown).toBeInstanceOf(SchemaNotFoundError);
    expect((unknown as Error).message).toMatch(/fetching schema id 2000000000 \(404\/40403/);

    const schema = { ...USER, name: `Only${topic.replace(/[^A-Za-z0-9]/g, '')}` };
    const lookupOnly = avroSerde<unknown>({ registry: { url }, schema, autoRegister: false });
    const missing = await lookupOnly
      .serializeAsync(topic, { name: 'x', age: 1 }, new Headers())
      .catch((e: unknown) => e as Error);
    expect(missing).toBeInstanceOf(SchemaNotFoundError);
    expect((await rest('GET', `/subjects/${topic}-value/versions`)).status).toBe(404);
    const registered = await rest('POST', `/subjects/${topic}-value/versions`, {
      schema: JSON.stringify(schema),
    });
    expect(registered.status).toBe(200);
    const bytes = await lookupOnly.serializeAsync(topic, { name: 'x', age: 1 }, new Headers());
    expect(bytes!.readInt32BE(1)).toBe(registered.json.id);

    const byRecord = avroSerde<unknown>({ registry: { url }, schema, subject: 'record' });
    const rec = await byRecord.serializeAsync(topic, { name: 'y', age: 2 }, new Headers());
    const subjects = (await rest('GET', '/subjects')).json as string[];
    expect(subjects).toContain(`kp.it.${schema.name}`);
    expect(await reader.deserializeAsync(topic, rec, new Headers())).toEqual({ name: 'y', age: 2 });
  });
});
