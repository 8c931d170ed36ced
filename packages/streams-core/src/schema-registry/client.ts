/**
 * A client of the Confluent Schema Registry REST API (also served by Apicurio Registry under
 * `/apis/ccompat/v7`, and by Redpanda and Karapace): schemas by id, registration and look-up
 * under a subject, with both directions cached for the life of the client.
 */
import { SerializationException } from '../serdes/serialization-exception.ts';

export type SchemaType = 'AVRO' | 'PROTOBUF' | 'JSON';

/** A schema as the registry keeps it: its text and its type. */
export interface SchemaDefinition {
  readonly schemaType: SchemaType;
  /** The schema text: Avro or JSON Schema as JSON, Protobuf as a `.proto` file. */
  readonly schema: string;
}

/** What the serdes need of a registry; `createSchemaRegistryClient` gives the REST one. */
export interface SchemaRegistry {
  /** The registry's base URL, for messages. */
  readonly url: string;
  /** The schema of an id (cached: ids never change their schema). */
  getSchemaById(id: number): Promise<SchemaDefinition>;
  /** Registers the schema under the subject (or finds it there already) and gives its id. */
  register(subject: string, schema: SchemaDefinition): Promise<number>;
  /** The id of a schema already registered under the subject, without registering it. */
  lookup(subject: string, schema: SchemaDefinition): Promise<number>;
}

export interface SchemaRegistryClientOptions {
  /**
   * Base URL of the Confluent-compatible API, such as `http://localhost:8081` (Confluent, Redpanda,
   * Karapace) or `http://localhost:8080/apis/ccompat/v7` (Apicurio Registry).
   */
  readonly url: string;
  /** HTTP basic credentials (Confluent Cloud: the API key and secret). */
  readonly basicAuth?: { readonly username: string; readonly password: string };
  /** More request headers, such as `Authorization: Bearer …`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Time allowed for one request, in ms. Default 10,000. */
  readonly timeoutMs?: number;
  /** Retries of a request that failed to connect, timed out or got 429/5xx. Default 2. */
  readonly retries?: number;
  /** Pause before the first retry, in ms, doubled for each next one. Default 200. */
  readonly retryBackoffMs?: number;
}

/** A failure of the registry or of a request to it. Extends SerializationException. */
export class SchemaRegistryError extends SerializationException {
  /** The HTTP status, when the registry answered. */
  readonly status: number | undefined;
  /** The registry's own error code (`error_code`, such as 40403), when it gave one. */
  readonly errorCode: number | undefined;

  constructor(
    message: string,
    options: { status?: number; errorCode?: number; topic?: string; cause?: unknown },
  ) {
    super(message, options);
    this.status = options.status;
    this.errorCode = options.errorCode;
  }
}

/** The registry did not answer (connection refused, DNS, timeout, TLS). */
export class SchemaRegistryUnreachableError extends SchemaRegistryError {}

/** No schema has that id (40403), or the schema is not registered under that subject (40401, 40403). */
export class SchemaNotFoundError extends SchemaRegistryError {}

/** The registry refused the schema as incompatible with the subject's earlier versions (HTTP 409). */
export class IncompatibleSchemaError extends SchemaRegistryError {}

/** The registry refused the schema as invalid (HTTP 422, 42201). */
export class InvalidSchemaError extends SchemaRegistryError {}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export function createSchemaRegistryClient(options: SchemaRegistryClientOptions): SchemaRegistry {
  return new RestSchemaRegistry(options);
}

class RestSchemaRegistry implements SchemaRegistry {
  readonly url: string;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #backoffMs: number;
  readonly #byId = new Map<number, Promise<SchemaDefinition>>();
  readonly #ids = new Map<string, Promise<number>>();

  constructor(options: SchemaRegistryClientOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new TypeError(
        `Schema Registry url ${JSON.stringify(options.url)} is not a URL such as http://localhost:8081`,
      );
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new TypeError(`Schema Registry url ${JSON.stringify(options.url)} must be http: or https:`);
    this.url = options.url.replace(/\/+$/, '');
    this.#headers = { Accept: `${CONTENT_TYPE}, application/json`, ...options.headers };
    if (options.basicAuth)
      this.#headers.Authorization = `Basic ${Buffer.from(`${options.basicAuth.username}:${options.basicAuth.password}`).toString('base64')}`;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#retries = options.retries ?? 2;
    this.#backoffMs = options.retryBackoffMs ?? 200;
  }

  getSchemaById(id: number): Promise<SchemaDefinition> {
    return cached(this.#byId, id, async () => {
      const body = (await this.#request(
        'GET',
        `/schemas/ids/${id}`,
        undefined,
        `fetching schema id ${id}`,
      )) as {
        schema?: unknown;
        schemaType?: unknown;
      };
      if (typeof body.schema !== 'string')
        throw new SchemaRegistryError(
          `Schema Registry at ${this.url} answered for schema id ${id} without a schema`,
          {},
        );
      const schemaType = (body.schemaType ?? 'AVRO') as SchemaType;
      return { schemaType, schema: body.schema };
    });
  }

  register(subject: string, schema: SchemaDefinition): Promise<number> {
    return cached(this.#ids, idKey(subject, schema), async () => {
      const body = (await this.#request(
        'POST',
        `/subjects/${encodeURIComponent(subject)}/versions`,
        requestBody(schema),
        `registering a ${schema.schemaType} schema under subject "${subject}"`,
      )) as { id?: unknown };
      return this.#rememberId(body.id, subject, schema);
    });
  }

  lookup(subject: string, schema: SchemaDefinition): Promise<number> {
    return cached(this.#ids, idKey(subject, schema), async () => {
      const body = (await this.#request(
        'POST',
        `/subjects/${encodeURIComponent(subject)}`,
        requestBody(schema),
        `looking up a ${schema.schemaType} schema under subject "${subject}"`,
      )) as { id?: unknown };
      return this.#rememberId(body.id, subject, schema);
    });
  }

  #rememberId(id: unknown, subject: string, schema: SchemaDefinition): number {
    if (typeof id !== 'number' || !Number.isInteger(id))
      throw new SchemaRegistryError(
        `Schema Registry at ${this.url} gave no schema id for subject "${subject}"`,
        {},
      );
    // The id's schema is the one just sent: a later read of this id needs no request.
    if (!this.#byId.has(id)) this.#byId.set(id, Promise.resolve(schema));
    return id;
  }

  async #request(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    what: string,
  ): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(`${this.url}${path}`, {
          method,
          headers: body === undefined ? this.#headers : { ...this.#headers, 'Content-Type': CONTENT_TYPE },
          ...(body === undefined ? {} : { body }),
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (error) {
        if (attempt < this.#retries) {
          await pause(this.#backoffMs * 2 ** attempt);
          continue;
        }
        const reason = describeFetchError(error, this.#timeoutMs);
        throw new SchemaRegistryUnreachableError(
          `Schema Registry at ${this.url} is unreachable (${reason}) while ${what}, after ${attempt + 1} attempt${attempt === 0 ? '' : 's'}. ` +
            "Check that the registry runs and that the serde's registry url points at its Confluent-compatible API " +
            '(for Apicurio Registry, the path /apis/ccompat/v7).',
          { cause: error },
        );
      }
      if (response.ok) {
        try {
          return await response.json();
        } catch (error) {
          throw new SchemaRegistryError(
            `Schema Registry at ${this.url} answered ${what} with a body that is not JSON: is the url that of its REST API?`,
            { status: response.status, cause: error },
          );
        }
      }
      const text = await response.text().catch(() => '');
      if ((response.status === 429 || response.status >= 500) && attempt < this.#retries) {
        await pause(this.#backoffMs * 2 ** attempt);
        continue;
      }
      throw this.#failure(response.status, text, what);
    }
  }

  #failure(status: number, text: string, what: string): SchemaRegistryError {
    let errorCode: number | undefined;
    let message = text.slice(0, 500);
    try {
      const parsed = JSON.parse(text) as { error_code?: unknown; message?: unknown };
      if (typeof parsed.error_code === 'number') errorCode = parsed.error_code;
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {
      // not JSON: the text as it is
    }
    const said = `${status}${errorCode === undefined ? '' : `/${errorCode}`}: ${message || 'no message'}`;
    const options = { status, ...(errorCode === undefined ? {} : { errorCode }) };
    if (status === 409)
      return new IncompatibleSchemaError(
        `Schema Registry at ${this.url} refused ${what}: the schema is incompatible with the subject's earlier versions ` +
          `under its compatibility level (${said}). Change the schema compatibly (Avro: new fields need defaults), ` +
          'or register it under another subject.',
        options,
      );
    if (status === 404)
      return new SchemaNotFoundError(
        `Schema Registry at ${this.url}: nothing found when ${what} (${said}). ` +
          (what.startsWith('fetching')
            ? 'The record was written against another registry, or its schema was deleted.'
            : 'The schema is not registered under this subject: register it, or let the serde do so (autoRegister).'),
        options,
      );
    if (status === 422)
      return new InvalidSchemaError(
        `Schema Registry at ${this.url} refused ${what} as invalid (${said}).`,
        options,
      );
    if (status === 401 || status === 403)
      return new SchemaRegistryError(
        `Schema Registry at ${this.url} refused ${what}: not authorized (${said}). Check the serde's registry credentials.`,
        options,
      );
    return new SchemaRegistryError(`Schema Registry at ${this.url} failed ${what} (${said}).`, options);
  }
}

function requestBody(schema: SchemaDefinition): string {
  // The registry takes no schemaType for Avro from older clients; sending it always is accepted.
  return JSON.stringify({ schemaType: schema.schemaType, schema: schema.schema });
}

function idKey(subject: string, schema: SchemaDefinition): string {
  return `${subject}\u0000${schema.schemaType}\u0000${schema.schema}`;
}

/** A promise per key, shared by concurrent callers, forgotten again when it fails. */
function cached<K, V>(map: Map<K, Promise<V>>, key: K, load: () => Promise<V>): Promise<V> {
  let promise = map.get(key);
  if (!promise) {
    promise = load();
    map.set(key, promise);
    promise.catch(() => {
      if (map.get(key) === promise) map.delete(key);
    });
  }
  return promise;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
    const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
    if (cause && typeof cause.message === 'string') return cause.message;
    return error.message;
  }
  return String(error);
}
