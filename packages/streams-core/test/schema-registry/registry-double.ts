/**
 * A test double of the Confluent Schema Registry REST API: an in-process HTTP server with the
 * endpoints the serdes use (GET /schemas/ids/{id}, POST /subjects/{s}/versions,
 * POST /subjects/{s}), its schemas in memory, every request recorded, and switches that make it
 * answer as a real registry does when it refuses a schema (409, 422) or fails (500).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
}

export interface RegistryDouble {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** The subjects and the ids registered under each, in order. */
  readonly subjects: Map<string, number[]>;
  /** Registers a schema directly (as another producer would have), giving its id. */
  add(subject: string, schemaType: string, schema: string): number;
  /** Subjects whose next registrations are refused with 409 (incompatible). */
  readonly incompatible: Set<string>;
  /** Answer the next this-many requests with 500. */
  failNext: number;
  close(): Promise<void>;
}

export async function startRegistryDouble(): Promise<RegistryDouble> {
  const schemas: Array<{ schemaType: string; schema: string }> = [];
  const subjects = new Map<string, number[]>();
  const requests: RecordedRequest[] = [];
  const incompatible = new Set<string>();

  const idOf = (schemaType: string, schema: string): number | undefined => {
    const i = schemas.findIndex((s) => s.schemaType === schemaType && s.schema === schema);
    return i < 0 ? undefined : i + 1;
  };
  const add = (subject: string, schemaType: string, schema: string): number => {
    let id = idOf(schemaType, schema);
    if (id === undefined) {
      schemas.push({ schemaType, schema });
      id = schemas.length;
    }
    const ids = subjects.get(subject) ?? [];
    if (!ids.includes(id)) ids.push(id);
    subjects.set(subject, ids);
    return id;
  };

  const double: RegistryDouble = {
    url: '',
    requests,
    subjects,
    add,
    incompatible,
    failNext: 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => {
      raw += chunk.toString('utf8');
    });
    req.on('end', () => {
      const body = raw ? (JSON.parse(raw) as { schema?: string; schemaType?: string }) : undefined;
      const rawPath = new URL(req.url ?? '/', 'http://x').pathname;
      const path = decodeURIComponent(rawPath);
      requests.push({ method: req.method ?? '', path, body });
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/vnd.schemaregistry.v1+json' });
        res.end(JSON.stringify(payload));
      };
      if (double.failNext > 0) {
        double.failNext--;
        send(500, { error_code: 50001, message: 'Error in the backend data store' });
        return;
      }
      let m = /^\/schemas\/ids\/(\d+)$/.exec(rawPath);
      if (req.method === 'GET' && m) {
        const s = schemas[Number(m[1]) - 1];
        if (!s) send(404, { error_code: 40403, message: `Schema ${m[1]} not found` });
        else send(200, s.schemaType === 'AVRO' ? { schema: s.schema } : s);
        return;
      }
      m = subjectPath(/^\/subjects\/([^/]+)\/versions$/, rawPath);
      if (req.method === 'POST' && m && body?.schema !== undefined) {
        const type = body.schemaType ?? 'AVRO';
        if (type === 'AVRO' && !isJson(body.schema)) {
          send(422, { error_code: 42201, message: 'Invalid schema' });
          return;
        }
        if (incompatible.has(m[1]!)) {
          send(409, {
            error_code: 409,
            message: 'Schema being registered is incompatible with an earlier schema for subject',
          });
          return;
        }
        send(200, { id: add(m[1]!, type, body.schema) });
        return;
      }
      m = subjectPath(/^\/subjects\/([^/]+)$/, rawPath);
      if (req.method === 'POST' && m && body?.schema !== undefined) {
        const ids = subjects.get(m[1]!);
        if (!ids) {
          send(404, { error_code: 40401, message: `Subject '${m[1]}' not found.` });
          return;
        }
        const id = idOf(body.schemaType ?? 'AVRO', body.schema);
        if (id === undefined || !ids.includes(id))
          send(404, { error_code: 40403, message: 'Schema not found' });
        else send(200, { subject: m[1], id, version: ids.indexOf(id) + 1, schema: body.schema });
        return;
      }
      send(404, { error_code: 404, message: 'HTTP 404 Not Found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  (double as { url: string }).url = `http://127.0.0.1:${port}`;
  return double;
}

/** Matches the raw (encoded) path, the subject in group 1 decoded. */
function subjectPath(re: RegExp, rawPath: string): RegExpExecArray | null {
  const m = re.exec(rawPath);
  if (m) m[1] = decodeURIComponent(m[1]!);
  return m;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A port on which nothing listens (bound, then closed again). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
