/**
 * Column values as Debezium's PostgreSQL connector writes them with its default settings
 * (decimal.handling.mode=precise, time.precision.mode=adaptive, binary.handling.mode=bytes,
 * interval.handling.mode=numeric) through Kafka Connect's JsonConverter without schemas.
 *
 * Input is PostgreSQL's text output of a value, the form both logical replication (pgoutput) and
 * the snapshot's query deliver, read with DateStyle=ISO, IntervalStyle=postgres and TimeZone=UTC.
 * The README's type table lists each mapping.
 */
import { parse as parseArray } from 'postgres-array';

/** What a column holds: `undefined` in a tuple means a TOASTed value that did not change. */
export type ColumnText = string | null | undefined;

/** Converts one non-NULL text value to its JSON form. */
export type ValueConverter = (text: string) => unknown;

/** Debezium's unavailable.value.placeholder, written for a TOASTed value the change did not carry. */
export const UNAVAILABLE_VALUE = '__debezium_unavailable_value';
const UNAVAILABLE_BYTES = Buffer.from(UNAVAILABLE_VALUE, 'utf8').toString('base64');

/** A number written as its digits, so that a bigint beyond 2^53 keeps every digit. */
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/** A 64-bit integer for JSON.stringify, every digit kept. */
export function longValue(n: bigint): unknown {
  return rawJSON(String(n));
}

/** What a type is made of, from pg_type, for types this module does not know by OID. */
export interface TypeInfo {
  /** pg_type.typtype: b base, e enum, d domain, c composite, r range. */
  kind: string;
  /** Element type of an array type, else 0. */
  element: number;
  /** Base type of a domain, else 0. */
  base: number;
  name: string;
}

export const OID = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  xml: 142,
  float4: 700,
  float8: 701,
  money: 790,
  macaddr: 829,
  inet: 869,
  cidr: 650,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  timetz: 1266,
  bit: 1560,
  varbit: 1562,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

/** Array type OID → element type OID, for the built-in types. */
const ARRAY_ELEMENTS = new Map<number, number>([
  [1000, OID.bool],
  [1001, OID.bytea],
  [1002, OID.char],
  [1003, OID.name],
  [1005, OID.int2],
  [1007, OID.int4],
  [1009, OID.text],
  [1014, OID.bpchar],
  [1015, OID.varchar],
  [1016, OID.int8],
  [1021, OID.float4],
  [1022, OID.float8],
  [1115, OID.timestamp],
  [1182, OID.date],
  [1183, OID.time],
  [1185, OID.timestamptz],
  [1187, OID.interval],
  [1231, OID.numeric],
  [1270, OID.timetz],
  [199, OID.json],
  [3807, OID.jsonb],
  [2951, OID.uuid],
  [1028, OID.oid],
  [1041, OID.inet],
  [651, OID.cidr],
]);

/** Arrays of smallint, integer and bigint: Debezium fills an unchanged TOASTed one with the placeholder's bytes. */
const INTEGER_ARRAYS = new Set([1005, 1007, 1016]);

const KNOWN = new Set<number>([...Object.values(OID), ...ARRAY_ELEMENTS.keys()]);

/** Whether converting a column of this type needs a pg_type lookup first. */
export function needsTypeInfo(oid: number): boolean {
  return !KNOWN.has(oid);
}

/**
 * The converter for a column of type `oid` with modifier `typeMod` (pgoutput's relation message
 * and a query's field description both give them). `types` answers for OIDs `needsTypeInfo` names.
 */
export function converterFor(
  oid: number,
  typeMod: number,
  types: ReadonlyMap<number, TypeInfo> = new Map(),
): ValueConverter {
  const element = ARRAY_ELEMENTS.get(oid);
  if (element !== undefined) return arrayConverter(converterFor(element, -1, types));
  switch (oid) {
    case OID.bool:
      return (t) => t === 't';
    case OID.int2:
    case OID.int4:
    case OID.oid:
      return (t) => Number(t);
    case OID.int8:
      return (t) => rawJSON(t);
    case OID.float4:
    case OID.float8:
      return floatValue;
    case OID.numeric:
      return numericConverter(typeMod);
    case OID.money:
      return (t) => decimalBytes(t.replace(/[^0-9.-]/g, ''), 2);
    case OID.bytea:
      return (t) => byteaBytes(t).toString('base64');
    case OID.date:
      return (t) => daysSinceEpoch(t);
    case OID.time:
      return timePrecision(typeMod) <= 3
        ? (t) => Number(timeMicros(t) / 1000n)
        : (t) => rawJSON(String(timeMicros(t)));
    case OID.timetz:
      return zonedTime;
    case OID.timestamp: {
      const millis = timePrecision(typeMod) <= 3;
      return (t) => {
        // PgJDBC's infinity constants, as Debezium passes them on.
        if (t === 'infinity') return rawJSON(millis ? '9223372036825200' : '9223372036825200000');
        if (t === '-infinity') return rawJSON(millis ? '-9223372036832400' : '-9223372036832400000');
        return rawJSON(String(millis ? floorDiv(timestampMicros(t), 1000n) : timestampMicros(t)));
      };
    }
    case OID.timestamptz: {
      const precision = timePrecision(typeMod);
      return (t) => zonedTimestamp(t, precision);
    }
    case OID.interval:
      return (t) => rawJSON(String(intervalMicros(t)));
    default: {
      const info = types.get(oid);
      if (info?.kind === 'd' && info.base) return converterFor(info.base, typeMod, types);
      if (info?.element) return arrayConverter(converterFor(info.element, -1, types));
      // text, varchar, char, name, json, jsonb, uuid, xml, inet, enums and the rest: the text itself.
      return (t) => t;
    }
  }
}

/** A converter that also passes NULL and the unchanged-TOAST marker through as Debezium does. */
export function columnValue(convert: ValueConverter, oid: number, text: ColumnText): unknown {
  if (text === null) return null;
  if (text === undefined) return unavailable(oid);
  return convert(text);
}

/** What Debezium writes for a TOASTed value that a change did not carry. */
function unavailable(oid: number): unknown {
  if (oid === OID.bytea) return UNAVAILABLE_BYTES;
  if (INTEGER_ARRAYS.has(oid)) return [...Buffer.from(UNAVAILABLE_VALUE, 'utf8')];
  if (ARRAY_ELEMENTS.has(oid)) return oid === 1001 ? [UNAVAILABLE_BYTES] : [UNAVAILABLE_VALUE];
  return UNAVAILABLE_VALUE;
}

function arrayConverter(element: ValueConverter): ValueConverter {
  return (t) => flatten(parseArray(t, (e) => element(e)));
}

/** Debezium writes one-dimensional lists; multi-dimensional arrays are flattened row by row. */
function flatten(values: unknown[]): unknown[] {
  return values.some(Array.isArray) ? values.flat(Number.POSITIVE_INFINITY) : values;
}

function floatValue(t: string): unknown {
  if (t === 'NaN' || t === 'Infinity' || t === '-Infinity') return t;
  return rawJSON(javaDouble(t));
}

/**
 * A float as Java's Double.toString / Float.toString spell it (Jackson writes them so): PostgreSQL
 * already prints the shortest digits that read back as the same float4 or float8, so only the
 * layout changes: `100` → `100.0`, `1e+20` → `1.0E20`, `0.0001` → `1.0E-4`.
 */
export function javaDouble(text: string): string {
  const negative = text.startsWith('-');
  const m = /^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(negative ? text.slice(1) : text);
  if (!m) return text;
  let digits = `${m[1] ?? ''}${m[2] ?? ''}`;
  // value = 0.digits × 10^point
  let point = (m[1] ?? '').length + Number(m[3] ?? 0);
  const lead = digits.length - digits.replace(/^0+/, '').length;
  digits = digits.slice(lead).replace(/0+$/, '');
  point -= lead;
  const sign = negative ? '-' : '';
  if (digits === '') return `${sign}0.0`;
  // Java prints plainly when 10^-3 <= |v| < 10^7, otherwise as d.dddE±x.
  if (point >= -2 && point <= 7) {
    if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
    const whole = digits.slice(0, point).padEnd(point, '0');
    const fraction = digits.slice(point) || '0';
    return `${sign}${whole}.${fraction}`;
  }
  if (digits.length === 1) {
    // Java writes two digits here, the pair nearest the exact value (Double.MIN_VALUE: 4.9E-324).
    const pair = /^(\d)\.(\d)e([+-]\d+)$/.exec(Math.abs(Number(text)).toPrecision(2));
    if (pair) return `${sign}${pair[1]}.${pair[2]}E${Number(pair[3])}`;
  }
  return `${sign}${digits[0]}.${digits.slice(1) || '0'}E${point - 1}`;
}

function isSpecialNumeric(t: string): boolean {
  return t === 'NaN' || t === 'Infinity' || t === '-Infinity';
}

/** numeric(p, s): its scale; unconstrained numeric: -1. */
function numericScale(typeMod: number): number {
  return typeMod < 4 ? -1 : (typeMod - 4) & 0xffff;
}

function numericConverter(typeMod: number): ValueConverter {
  const scale = numericScale(typeMod);
  // NaN and ±Infinity have no Decimal form: Debezium writes null (decimal.handling.mode=precise).
  if (scale >= 0) return (t) => (isSpecialNumeric(t) ? null : decimalBytes(t, scale));
  // Debezium's VariableScaleDecimal: the value's scale (trailing zeros dropped) beside its unscaled bytes.
  return (t) => {
    if (isSpecialNumeric(t)) return null;
    const dot = t.indexOf('.');
    const trimmed = dot < 0 ? t : t.replace(/\.?0+$/, '');
    const tdot = trimmed.indexOf('.');
    const s = tdot < 0 ? 0 : trimmed.length - tdot - 1;
    return { scale: s, value: decimalBytes(trimmed, s) };
  };
}

/** A decimal's unscaled value as Java's BigInteger.toByteArray() in base64 (Connect's Decimal). */
export function decimalBytes(text: string, scale: number): string {
  const negative = text.startsWith('-');
  const digits = negative ? text.slice(1) : text;
  const dot = digits.indexOf('.');
  const whole = dot < 0 ? digits : digits.slice(0, dot);
  const fraction = (dot < 0 ? '' : digits.slice(dot + 1)).padEnd(scale, '0').slice(0, scale);
  const unscaled = BigInt(`${whole || '0'}${fraction}`) * (negative ? -1n : 1n);
  return twosComplement(unscaled).toString('base64');
}

function twosComplement(n: bigint): Buffer {
  let bytes = 1;
  while (n < -(1n << BigInt(8 * bytes - 1)) || n >= 1n << BigInt(8 * bytes - 1)) bytes++;
  const v = n < 0n ? (1n << BigInt(8 * bytes)) + n : n;
  return Buffer.from(v.toString(16).padStart(bytes * 2, '0'), 'hex');
}

/** bytea in PostgreSQL's hex output (`\x0a0b`), or the older escape form. */
function byteaBytes(t: string): Buffer {
  if (t.startsWith('\\x')) return Buffer.from(t.slice(2), 'hex');
  const out: number[] = [];
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '\\' && t[i + 1] === '\\') {
      out.push(0x5c);
      i++;
    } else if (t[i] === '\\') {
      out.push(Number.parseInt(t.slice(i + 1, i + 4), 8));
      i += 3;
    } else out.push(t.charCodeAt(i));
  }
  return Buffer.from(out);
}

/** time(p) and timestamp(p): p, or 6 where no precision is given. */
function timePrecision(typeMod: number): number {
  return typeMod < 0 ? 6 : typeMod;
}

const DAY_MS = 86_400_000;

function utcMillis(year: number, month: number, day: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  return d.getTime();
}

/** `2024-03-01` or `0044-03-15 BC`: days since 1970-01-01 (Debezium's io.debezium.time.Date). */
function daysSinceEpoch(t: string): unknown {
  const [y, m, d] = datePart(t);
  return Math.round(utcMillis(y, m, d) / DAY_MS);
}

function datePart(t: string): [number, number, number] {
  const bc = t.endsWith(' BC');
  const m = /^(\d+)-(\d\d)-(\d\d)/.exec(t);
  if (!m) throw new Error(`unexpected date "${t}"`);
  const year = Number(m[1]);
  return [bc ? 1 - year : year, Number(m[2]), Number(m[3])];
}

/** `HH:MM:SS[.ffffff]`: microseconds since midnight. */
function timeMicros(t: string): bigint {
  const m = /^(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?/.exec(t);
  if (!m) throw new Error(`unexpected time "${t}"`);
  const seconds = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  return BigInt(seconds) * 1_000_000n + BigInt((m[4] ?? '').padEnd(6, '0') || '0');
}

/** `2024-03-01 10:15:30.123456` (UTC, no zone): microseconds since the epoch. */
function timestampMicros(t: string): bigint {
  const space = t.indexOf(' ');
  const [y, m, d] = datePart(t);
  const bcFree = t.endsWith(' BC') ? t.slice(0, -3) : t;
  const time = bcFree.slice(space + 1);
  return BigInt(utcMillis(y, m, d)) * 1000n + timeMicros(time);
}

/** A zone offset as PostgreSQL prints it (`+02`, `-05:30`, `+05:30:15`): seconds east of UTC. */
function offsetSeconds(zone: string): number {
  const m = /^([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?$/.exec(zone);
  if (!m) throw new Error(`unexpected zone offset "${zone}"`);
  const s = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
  return m[1] === '-' ? -s : s;
}

/** Fraction digits as java.time's ISO formatters print them: none, 3, 6 or 9. */
function isoFraction(micros: bigint): string {
  if (micros === 0n) return '';
  const s = micros.toString().padStart(6, '0');
  return s.endsWith('000') ? `.${s.slice(0, 3)}` : `.${s}`;
}

/** Fraction digits without trailing zeros, none when zero (Debezium's ZonedTime). */
function trimmedFraction(micros: bigint): string {
  if (micros === 0n) return '';
  return `.${micros.toString().padStart(6, '0').replace(/0+$/, '')}`;
}

function isoTime(microsOfDay: bigint, fraction: (micros: bigint) => string = isoFraction): string {
  const secs = Number(microsOfDay / 1_000_000n);
  const hh = String(Math.floor(secs / 3600)).padStart(2, '0');
  const mm = String(Math.floor((secs % 3600) / 60)).padStart(2, '0');
  const ss = String(secs % 60).padStart(2, '0');
  return `${hh}:${mm}:${ss}${fraction(microsOfDay % 1_000_000n)}`;
}

const DAY_MICROS = 86_400_000_000n;

/** timetz: Debezium's ZonedTime, the time moved to UTC in ISO form (`08:15:30.5Z`). */
function zonedTime(t: string): unknown {
  const m = /^(\d\d:\d\d:\d\d(?:\.\d+)?)([+-].*)$/.exec(t);
  if (!m) throw new Error(`unexpected time with time zone "${t}"`);
  let micros = timeMicros(m[1]!) - BigInt(offsetSeconds(m[2]!)) * 1_000_000n;
  micros = ((micros % DAY_MICROS) + DAY_MICROS) % DAY_MICROS;
  return `${isoTime(micros, trimmedFraction)}Z`;
}

/** timestamptz(p): Debezium's ZonedTimestamp, ISO-8601 in UTC with exactly p fraction digits. */
function zonedTimestamp(t: string, precision: number): unknown {
  if (t === 'infinity' || t === '-infinity') return t;
  const m = /^(.*\d\d:\d\d:\d\d(?:\.\d+)?)([+-][\d:]+)( BC)?$/.exec(t);
  if (!m) throw new Error(`unexpected timestamp with time zone "${t}"`);
  const micros = timestampMicros(`${m[1]}${m[3] ?? ''}`) - BigInt(offsetSeconds(m[2]!)) * 1_000_000n;
  const fraction = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n;
  const iso = new Date(Number((micros - fraction) / 1000n)).toISOString();
  const digits =
    precision > 0
      ? `.${fraction.toString().padStart(6, '0').slice(0, precision).padEnd(precision, '0')}`
      : '';
  return `${iso.slice(0, iso.lastIndexOf('.'))}${digits}Z`;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/**
 * interval in the `postgres` IntervalStyle (`1 year 2 mons 3 days 04:05:06.5`): microseconds,
 * computed as Debezium's MicroDuration does, in doubles: PgJDBC's PGInterval parses the parts
 * (the seconds, fraction included, rounded to whole microseconds), then
 * `(long) ((((years·12 + months)·30.4375 + days)·24 + hours)·60 + minutes)·60 + seconds) · 1e6)`,
 * which truncates and, beyond a long, saturates. Exact integer arithmetic would differ from it by
 * a microsecond now and then (`-3 years 7 mons … 18:46:17.377` and the like).
 */
export function intervalMicros(t: string): bigint {
  let years = 0;
  let months = 0;
  let days = 0;
  let hours = 0;
  let minutes = 0;
  let seconds = 0;
  const re = /(-?\d+) (year|years|mon|mons|day|days)|([+-])?(\d+):(\d\d):(\d\d(?:\.\d*)?)/g;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    if (m[2]) {
      const n = Number(m[1]);
      if (m[2].startsWith('year')) years = n;
      else if (m[2].startsWith('mon')) months = n;
      else days = n;
    } else {
      const sign = m[3] === '-' ? -1 : 1;
      hours = sign * Number(m[4]);
      minutes = sign * Number(m[5]);
      seconds = sign * Number(m[6]);
    }
  }
  // PGInterval.setSeconds / getSeconds: whole seconds plus rounded microseconds.
  const rounded = BigInt(Math.round(seconds * 1e6));
  const secs = Number(rounded / 1_000_000n) + Number(rounded % 1_000_000n) / 1e6;
  const monthsTotal = (years * 12 + months) | 0;
  const total = ((((monthsTotal * 30.4375 + days) * 24 + hours) * 60 + minutes) * 60 + secs) * 1e6;
  const max = (1n << 63n) - 1n;
  if (Number.isNaN(total)) return 0n;
  if (total >= 9.223372036854776e18) return max;
  if (total <= -9.223372036854776e18) return -max - 1n;
  return BigInt(Math.trunc(total));
}

/** What Debezium's default-value mappers give a column whose default is a function call (now(), nextval(…)). */
const FUNCTION_DEFAULTS = new Map<number, string>([
  [OID.int2, '0'],
  [OID.int4, '0'],
  [OID.int8, '0'],
  [OID.float4, '0'],
  [OID.float8, '0'],
  [OID.numeric, '0'],
  [OID.text, ''],
  [OID.varchar, ''],
  [OID.bpchar, ''],
  [OID.date, '1970-01-01'],
  [OID.time, '00:00:00'],
  [OID.timestamp, '1970-01-01 00:00:00'],
  [OID.timestamptz, '1970-01-01 00:00:00+00'],
  [OID.uuid, '00000000-0000-0000-0000-000000000000'],
]);

/**
 * The default Debezium puts in a column's schema, as PostgreSQL text for the column's converter,
 * from the expression pg_get_expr prints: JsonConverter (replace.null.with.default, on by default)
 * writes it in place of a NULL, so a delete's `before` and an explicit NULL show it. As measured
 * with Debezium 3.6 (PostgresDefaultValueConverter):
 * - a quoted constant (`'pending'::text`, `'-1'::integer`) gives the text up to the next quote,
 *   as Debezium's `'(.*?)'` reads it (`'it''s'` gives `it`); a bare number or true/false itself;
 * - a function call or CURRENT_DATE-like keyword (now(), nextval(…), gen_random_uuid()), and an
 *   identity column, give the type's zero: 0, '', the epoch, the nil UUID;
 * - NULL, other expressions, and numeric without a scale (a struct, which cannot be a default)
 *   give undefined: no default.
 */
export function defaultText(
  expression: string | null | undefined,
  oid: number,
  typeMod: number,
  identity = false,
): string | undefined {
  if (oid === OID.numeric && numericScale(typeMod) < 0) return undefined;
  if (identity) return FUNCTION_DEFAULTS.get(oid);
  if (!expression) return undefined;
  let e = expression.trim();
  while (e.startsWith('(') && e.endsWith(')')) e = e.slice(1, -1).trim();
  if (/^NULL(::.*)?$/i.test(e)) return undefined;
  const quoted = /^'(.*?)'/s.exec(e);
  if (quoted) return quoted[1];
  if (/^-?\d+(?:\.\d+)?(?:e[+-]?\d+)?(?:::.*)?$/i.test(e)) return e.replace(/::.*$/, '');
  if (e === 'true' || e === 'false') return e === 'true' ? 't' : 'f';
  if (
    /^[A-Za-z0-9_.]+\(.*\)$/s.test(e) ||
    /^(current_date|current_time|current_timestamp|localtime|localtimestamp)(\(\d+\))?$/i.test(e)
  )
    return FUNCTION_DEFAULTS.get(oid);
  return undefined;
}
