/**
 * The workload the CDC tests and the CDC benchmark share: a table with one column per PostgreSQL
 * type that PostgresCdc must encode exactly as Debezium does, and a seeded, deterministic sequence
 * of transactions against it (inserts, updates with and without the TOASTed column, primary-key
 * changes, deletes, mixed multi-row transactions, rollbacks) that reaches every edge value below.
 *
 * Values are PostgreSQL's text input form (what a SQL literal holds), sent as text parameters
 * with an explicit cast, so the same transactions give the same rows on every run and the SQL
 * literal of each value is known to the test. Values Debezium 3.6 (defaults: decimal.handling.mode
 * =precise, time.precision.mode=adaptive, interval.handling.mode=numeric) cannot represent are
 * left out and listed in {@link UNREPRESENTABLE}.
 *
 * Two things to know when comparing with Debezium: `started()` is the task start, not the end of
 * the snapshot (DDL before the record with `source.snapshot` "last" can fail the snapshot); and
 * c_bigint holds values beyond 2^53, which JSON.parse without a reviver rounds.
 */
import type pg from 'pg';

/** A column of the types table: its name and SQL type. */
export interface TypeColumn {
  readonly name: string;
  readonly type: string;
}

/** The columns of {@link createTypesTable}, in table order; `id int` is the primary key. */
export const TYPE_COLUMNS: readonly TypeColumn[] = [
  { name: 'id', type: 'integer' },
  { name: 'c_smallint', type: 'smallint' },
  { name: 'c_integer', type: 'integer' },
  { name: 'c_bigint', type: 'bigint' },
  { name: 'c_numeric_10_2', type: 'numeric(10,2)' },
  { name: 'c_numeric', type: 'numeric' },
  { name: 'c_real', type: 'real' },
  { name: 'c_double', type: 'double precision' },
  { name: 'c_text', type: 'text' },
  { name: 'c_varchar', type: 'varchar(20)' },
  { name: 'c_char', type: 'char(5)' },
  { name: 'c_boolean', type: 'boolean' },
  { name: 'c_date', type: 'date' },
  { name: 'c_time', type: 'time' },
  { name: 'c_timetz', type: 'time with time zone' },
  { name: 'c_timestamp', type: 'timestamp' },
  { name: 'c_timestamp3', type: 'timestamp(3)' },
  { name: 'c_timestamptz', type: 'timestamptz' },
  { name: 'c_interval', type: 'interval' },
  { name: 'c_json', type: 'json' },
  { name: 'c_jsonb', type: 'jsonb' },
  { name: 'c_uuid', type: 'uuid' },
  { name: 'c_bytea', type: 'bytea' },
  { name: 'c_int_array', type: 'integer[]' },
  { name: 'c_text_array', type: 'text[]' },
  { name: 'big', type: 'text' },
];

/** The nullable columns: all but the primary key. */
export const VALUE_COLUMNS: readonly TypeColumn[] = TYPE_COLUMNS.filter((c) => c.name !== 'id');

/** A row: column name to PostgreSQL text input (a SQL literal's content), or null for NULL. */
export type Row = { readonly id: number } & { readonly [column: string]: string | number | null };

export type Operation =
  | { readonly op: 'insert'; readonly row: Row }
  /** Sets `set`'s columns of row `id`; `set` never holds `id` (see `rekey`). */
  | { readonly op: 'update'; readonly id: number; readonly set: Readonly<Record<string, string | null>> }
  /** Moves row `id` to primary key `to`, setting `set`'s columns in the same statement. */
  | {
      readonly op: 'rekey';
      readonly id: number;
      readonly to: number;
      readonly set: Readonly<Record<string, string | null>>;
    }
  | { readonly op: 'delete'; readonly id: number };

export interface Transaction {
  readonly ops: readonly Operation[];
  /** Ends in ROLLBACK: nothing of it may be captured. */
  readonly rollback: boolean;
}

/**
 * Values the workload leaves out: Debezium 3.6 with default settings emits them wrongly or
 * differently in snapshot and streaming (measured with the real connector, see the CDC report).
 */
export const UNREPRESENTABLE: readonly string[] = [
  "numeric/numeric(p,s) 'NaN', 'Infinity', '-Infinity': null, with a WARN (precise mode has no such value)",
  "date 'infinity' / '-infinity': garbage day counts that differ between snapshot and streaming",
  'dates before year 1 (BC): the snapshot (JDBC, Julian calendar) and streaming disagree',
  'timestamp beyond 294276 AD: overflows to a negative number',
  "multi-dimensional arrays ('{{1,2},{3,4}}'): [null,null], with a WARN",
];

/** Creates `public.<table>` with one column per type and `big` stored out of line, uncompressed. */
export async function createTypesTable(client: pg.Client, table: string): Promise<void> {
  const columns = TYPE_COLUMNS.map(
    (c) => `${ident(c.name)} ${c.type}${c.name === 'id' ? ' PRIMARY KEY' : ''}`,
  );
  await client.query(`CREATE TABLE public.${ident(table)} (${columns.join(', ')})`);
  // EXTERNAL: out of line and never compressed, so every `big` value above ~2 KB really is TOASTed.
  await client.query(`ALTER TABLE public.${ident(table)} ALTER COLUMN big SET STORAGE EXTERNAL`);
}

/** Creates `public.<table> (tenant text, id int, seq bigint, value text, PRIMARY KEY (tenant, id))`. */
export async function createCompositeKeyTable(client: pg.Client, table: string): Promise<void> {
  await client.query(
    `CREATE TABLE public.${ident(table)} (tenant text NOT NULL, id integer NOT NULL, seq bigint, value text, PRIMARY KEY (tenant, id))`,
  );
}

/** Runs the transactions one after another, each in BEGIN … COMMIT (or ROLLBACK). */
export async function applyTransactions(
  client: pg.Client,
  table: string,
  txs: readonly Transaction[],
): Promise<void> {
  const t = `public.${ident(table)}`;
  for (const tx of txs) {
    await client.query('BEGIN');
    try {
      for (const o of tx.ops) {
        const { text, values } = statement(t, o);
        await client.query(text, values);
      }
    } catch (e) {
      await client.query('ROLLBACK');
      throw e;
    }
    await client.query(tx.rollback ? 'ROLLBACK' : 'COMMIT');
  }
}

/** The SQL statement of one operation, with its parameters. */
export function statement(qualifiedTable: string, o: Operation): { text: string; values: unknown[] } {
  const cast = (name: string, n: number) => `$${n}::${typeOf(name)}`;
  switch (o.op) {
    case 'insert': {
      const names = TYPE_COLUMNS.map((c) => c.name).filter((n) => n in o.row);
      return {
        text: `INSERT INTO ${qualifiedTable} (${names.map(ident).join(', ')}) VALUES (${names.map((n, i) => cast(n, i + 1)).join(', ')})`,
        values: names.map((n) => o.row[n]),
      };
    }
    case 'update':
    case 'rekey': {
      const set: Array<[string, unknown]> = Object.entries(o.set);
      if (o.op === 'rekey') set.unshift(['id', o.to]);
      return {
        text: `UPDATE ${qualifiedTable} SET ${set.map(([n], i) => `${ident(n)} = ${cast(n, i + 1)}`).join(', ')} WHERE id = $${set.length + 1}`,
        values: [...set.map(([, v]) => v), o.id],
      };
    }
    case 'delete':
      return { text: `DELETE FROM ${qualifiedTable} WHERE id = $1`, values: [o.id] };
  }
}

function typeOf(column: string): string {
  const c = TYPE_COLUMNS.find((x) => x.name === column);
  if (!c) throw new Error(`No column ${column}`);
  return c.type;
}

function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Edge values per column, each reached by the first transactions of every generated sequence. The
 * literals are PostgreSQL input; PostgreSQL normalises some (1.5 in numeric(10,2) is 1.50).
 */
export const EDGE_VALUES: Readonly<Record<string, readonly string[]>> = {
  c_smallint: ['-32768', '32767', '0', '-1'],
  c_integer: ['-2147483648', '2147483647', '0', '-42'],
  c_bigint: ['-9223372036854775808', '9223372036854775807', '9007199254740993', '0', '-1'],
  c_numeric_10_2: ['99999999.99', '-99999999.99', '0.00', '0.01', '-0.5', '1.5'],
  c_numeric: [
    '3.14159265358979323846264338327950288419716939937510',
    '-0.000000000000000000001',
    '0',
    '123456789012345678901234567890',
    '1.000',
    '-42',
  ],
  c_real: ['1.1', '-1.5', '0', '3.4028235e38', '1e-37', 'Infinity', '-Infinity', 'NaN'],
  c_double: ['0.1', '-2.5', '0', '1.7976931348623157e308', '5e-324', 'Infinity', '-Infinity', 'NaN'],
  c_text: ['', 'héllo wörld ✓ 😀 中文', `quote ' double " backslash \\ tab \t newline \n end`, 'NULL'],
  c_varchar: ['', 'exactly twenty chars', 'ünïcødé'],
  c_char: ['ab', '', 'abcde', 'é'],
  c_boolean: ['true', 'false'],
  c_date: ['1970-01-01', '1969-12-31', '0001-01-01', '1900-02-28', '2024-02-29', '9999-12-31', '1582-10-15'],
  c_time: ['00:00:00', '23:59:59.999999', '12:34:56.789012', '00:00:00.000001', '24:00:00'],
  c_timetz: ['12:34:56.789012+05:30', '00:00:00+00', '23:59:59-08', '01:00:00+02'],
  c_timestamp: [
    '2024-01-02 03:04:05.123456',
    '1969-12-31 23:59:59.999999',
    '1900-01-01 00:00:00',
    '0001-01-01 00:00:00',
    'infinity',
    '-infinity',
  ],
  c_timestamp3: ['2024-01-02 03:04:05.123', '1960-06-15 12:00:00.5', '1970-01-01 00:00:00', 'infinity'],
  c_timestamptz: [
    '2024-01-02 03:04:05.123456+02',
    '1969-07-20 20:17:40Z',
    '1900-01-01 00:00:00+00',
    'infinity',
    '-infinity',
  ],
  c_interval: [
    '1 year 2 mons 3 days 04:05:06.789',
    '-1 day',
    '00:00:00',
    '1 mon',
    '-00:00:00.000001',
    '100 years',
  ],
  c_json: ['{"b": 1,  "a": [1, 2.50]}', '[]', 'null', '"str"', '123', '{"u": "\\u00e9 é"}'],
  c_jsonb: ['{"b": 1,  "a": [1, 2.50]}', '[]', 'null', '"str"', '123', '{"u": "\\u00e9 é"}'],
  c_uuid: ['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'],
  c_bytea: ['\\x', '\\x00', '\\x00ff0000', '\\xdeadbeef'],
  c_int_array: ['{}', '{1,NULL,-3}', '{2147483647,-2147483648}', '{NULL}'],
  c_text_array: ['{}', '{"",NULL,"a b","q\\"uote"}', '{"NULL"}', '{ünï,"c,d"}'],
  big: [],
};

/** A small, fast, seedable PRNG (mulberry32). */
export class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  hex(bytes: number): string {
    let s = '';
    for (let i = 0; i < bytes; i++) s += this.int(0, 255).toString(16).padStart(2, '0');
    return s;
  }
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const CHARS = 'abcxyz ABC 019 éü中😀\'"\\,{}';

function randomText(r: Random, max: number): string {
  // By code point, so that varchar(n) limits (in characters) hold.
  const chars = [...CHARS];
  let s = '';
  for (let i = r.int(0, max); i > 0; i--) s += r.pick(chars);
  return s;
}

function randomDate(r: Random): string {
  return `${r.int(1900, 2100)}-${pad(r.int(1, 12))}-${pad(r.int(1, 28))}`;
}

function randomTime(r: Random, fraction: number): string {
  const base = `${pad(r.int(0, 23))}:${pad(r.int(0, 59))}:${pad(r.int(0, 59))}`;
  return fraction ? `${base}.${pad(r.int(0, 10 ** fraction - 1), fraction)}` : base;
}

function quoteElement(s: string): string {
  return `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** A random value for a column (never NULL; the caller decides on NULLs and edge values). */
function randomValue(r: Random, column: string): string {
  switch (column) {
    case 'c_smallint':
      return String(r.int(-32768, 32767));
    case 'c_integer':
      return String(r.int(-2147483648, 2147483647));
    case 'c_bigint':
      return String(BigInt(r.int(-(2 ** 31), 2 ** 31 - 1)) * 4294967296n + BigInt(r.int(0, 2 ** 32 - 1)));
    case 'c_numeric_10_2':
      return `${r.chance(0.3) ? '-' : ''}${r.int(0, 99999999)}.${pad(r.int(0, 99))}`;
    case 'c_numeric':
      return `${r.chance(0.3) ? '-' : ''}${r.int(0, 10 ** r.int(0, 9))}${r.chance(0.7) ? `.${r.hex(r.int(1, 8)).replace(/[a-f]/g, '7')}` : ''}`;
    case 'c_real':
      return String(Math.fround((r.next() - 0.5) * 10 ** r.int(-5, 10)));
    case 'c_double':
      return String((r.next() - 0.5) * 10 ** r.int(-10, 20));
    case 'c_text':
      return randomText(r, 40);
    case 'c_varchar':
      return randomText(r, 20);
    case 'c_char':
      return randomText(r, 5);
    case 'c_boolean':
      return r.chance(0.5) ? 'true' : 'false';
    case 'c_date':
      return randomDate(r);
    case 'c_time':
      return randomTime(r, r.pick([0, 3, 6]));
    case 'c_timetz': {
      const offset = r.int(-12, 14);
      return `${randomTime(r, r.pick([0, 6]))}${offset < 0 ? '-' : '+'}${pad(Math.abs(offset))}${r.chance(0.2) ? ':30' : ''}`;
    }
    case 'c_timestamp':
      return `${randomDate(r)} ${randomTime(r, 6)}`;
    case 'c_timestamp3':
      return `${randomDate(r)} ${randomTime(r, 3)}`;
    case 'c_timestamptz': {
      const offset = r.int(-12, 14);
      return `${randomDate(r)} ${randomTime(r, 6)}${offset < 0 ? '-' : '+'}${pad(Math.abs(offset))}`;
    }
    case 'c_interval':
      return `${r.int(-5, 5)} years ${r.int(-11, 11)} mons ${r.int(-40, 40)} days ${randomTime(r, 6)}`;
    case 'c_json':
    case 'c_jsonb':
      return JSON.stringify({ n: r.int(-1000, 1000), s: randomText(r, 8), a: [r.chance(0.5), null] });
    case 'c_uuid': {
      const h = r.hex(16);
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    case 'c_bytea':
      return `\\x${r.hex(r.int(0, 24))}`;
    case 'c_int_array':
      return `{${Array.from({ length: r.int(0, 4) }, () => (r.chance(0.2) ? 'NULL' : String(r.int(-1000, 1000)))).join(',')}}`;
    case 'c_text_array':
      return `{${Array.from({ length: r.int(0, 4) }, () => (r.chance(0.2) ? 'NULL' : quoteElement(randomText(r, 6)))).join(',')}}`;
    case 'big':
      return bigValue(r);
    default:
      throw new Error(`No generator for ${column}`);
  }
}

/** A value for `big`: 10 to 16 KB of random hex, far above the ~2 KB TOAST threshold. */
export function bigValue(r: Random): string {
  return r.hex(r.int(5 * 1024, 8 * 1024));
}

export interface WorkloadOptions {
  /** The first primary key used; ids grow from here (rekeys move rows to fresh ids too). */
  firstId?: number;
}

/**
 * A deterministic sequence of `count` transactions for the given seed. The first ones insert the
 * edge rows (a row of NULLs, then rows that together hold every value of {@link EDGE_VALUES}),
 * the rest mix single inserts, updates that leave `big` alone or change it, primary-key changes,
 * deletes, multi-row transactions of mixed operations, and now and then a rollback. Operations
 * only touch rows that exist at that point, so every statement affects exactly one row.
 */
export function generateTransactions(
  seed: number,
  count: number,
  options: WorkloadOptions = {},
): Transaction[] {
  const r = new Random(seed);
  let nextId = options.firstId ?? 1;
  const live: number[] = [];
  const txs: Transaction[] = [];

  const value = (column: string): string | null => {
    if (r.chance(0.1)) return null;
    const edges = EDGE_VALUES[column] ?? [];
    if (edges.length && r.chance(0.25)) return r.pick(edges);
    return randomValue(r, column);
  };
  const fullRow = (id: number): Row => {
    const row: Record<string, string | number | null> = { id };
    for (const c of VALUE_COLUMNS) row[c.name] = value(c.name);
    return row as Row;
  };
  /** A few columns to change, `big` only when `withBig`. */
  const changes = (withBig: boolean): Record<string, string | null> => {
    const set: Record<string, string | null> = {};
    const candidates = VALUE_COLUMNS.filter((c) => c.name !== 'big');
    for (let i = r.int(1, 4); i > 0; i--) {
      const c = r.pick(candidates).name;
      set[c] = value(c);
    }
    if (withBig) set.big = r.chance(0.1) ? null : bigValue(r);
    return set;
  };

  // Edge rows: one of NULLs in every nullable column, then as many as the longest edge list.
  const edgeRows: Row[] = [{ id: nextId++ }];
  const longest = Math.max(...Object.values(EDGE_VALUES).map((v) => v.length));
  for (let i = 0; i < longest; i++) {
    const row: Record<string, string | number | null> = { id: nextId++ };
    for (const c of VALUE_COLUMNS) {
      const edges = EDGE_VALUES[c.name] ?? [];
      row[c.name] = edges.length ? edges[i % edges.length]! : randomValue(r, c.name);
    }
    edgeRows.push(row as Row);
  }
  for (const row of edgeRows) {
    if (txs.length >= count) break;
    txs.push({ ops: [{ op: 'insert', row }], rollback: false });
    live.push(row.id);
  }

  // One operation on the model `ids` (a copy of `live` while inside a transaction).
  const operation = (ids: number[], kinds: readonly string[]): Operation => {
    const kind = ids.length === 0 ? 'insert' : r.pick(kinds);
    const idx = r.int(0, ids.length - 1);
    const id = ids[idx]!;
    switch (kind) {
      case 'update':
        return { op: 'update', id, set: changes(false) };
      case 'updateBig':
        return { op: 'update', id, set: changes(true) };
      case 'rekey': {
        const to = nextId++;
        ids[idx] = to;
        return { op: 'rekey', id, to, set: r.chance(0.5) ? changes(false) : {} };
      }
      case 'delete':
        ids.splice(idx, 1);
        return { op: 'delete', id };
      default: {
        const row = fullRow(nextId++);
        ids.push(row.id);
        return { op: 'insert', row };
      }
    }
  };

  // Inserts outweigh deletes so that the table grows and snapshot rows live on to be changed.
  const single = ['insert', 'insert', 'update', 'update', 'update', 'updateBig', 'rekey', 'delete'];
  while (txs.length < count) {
    const ids = [...live];
    const shape = r.next();
    const rollback = shape < 0.07;
    const ops: Operation[] = [];
    const n = rollback || shape > 0.75 ? r.int(2, 5) : 1;
    for (let i = 0; i < n; i++) ops.push(operation(ids, single));
    txs.push({ ops, rollback });
    if (!rollback) live.splice(0, live.length, ...ids);
  }
  return txs;
}

/** The ids of the rows that exist after the transactions ran on an empty table. */
export function liveIds(txs: readonly Transaction[]): number[] {
  const ids = new Set<number>();
  for (const tx of txs) {
    if (tx.rollback) continue;
    for (const o of tx.ops) {
      if (o.op === 'insert') ids.add(o.row.id);
      else if (o.op === 'delete') ids.delete(o.id);
      else if (o.op === 'rekey') {
        ids.delete(o.id);
        ids.add(o.to);
      }
    }
  }
  return [...ids];
}
