/**
 * JSON compared the way a consumer of Jackson's output sees it: numbers as their exact text
 * (`0.0` is not `0`, `9223372036854775807` keeps every digit), objects with their fields in order.
 * For the differential tests against Debezium, which print what JsonConverter wrote.
 */

/** A JSON number as written, digit for digit. */
export class JsonNumber {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/** A value left out of the comparison; `kind` is its JSON type, which still has to agree. */
export class Excluded {
  readonly kind: string;
  constructor(kind: string) {
    this.kind = kind;
  }
}

/** What JSON.parse hands a reviver (Node 22+): the source text of a primitive. */
interface ReviverContext {
  source?: string;
}

/** Parses JSON keeping each number's text as a {@link JsonNumber}. */
export function parseExact(text: string): unknown {
  return JSON.parse(text, ((_key: string, value: unknown, context?: ReviverContext) =>
    typeof value === 'number' ? new JsonNumber(context!.source!) : value) as (
    key: string,
    value: unknown,
  ) => unknown);
}

const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/** Writes a tree from {@link parseExact} back as compact JSON, each number as it was written. */
export function stringifyExact(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v instanceof JsonNumber ? rawJSON(v.text) : v instanceof Excluded ? `<excluded ${v.kind}>` : v,
  );
}

/** The JSON type of a parsed value: null, number, string, boolean, array or object. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof JsonNumber) return 'number';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

export interface Difference {
  path: string;
  expected: string;
  actual: string;
}

const MAX_SHOWN = 160;

function show(value: unknown): string {
  const s = value === undefined ? '(absent)' : stringifyExact(value);
  return s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN)}…[${s.length} chars]` : s;
}

/**
 * Every difference between two parsed trees, with its path (`after.c_real`, `before[3]`): a number
 * spelt differently, another string, a field missing, extra or out of order, another type.
 */
export function differences(expected: unknown, actual: unknown, path = '$'): Difference[] {
  const diff = (): Difference[] => [{ path, expected: show(expected), actual: show(actual) }];
  if (expected instanceof Excluded || actual instanceof Excluded) {
    if (!(expected instanceof Excluded && actual instanceof Excluded)) return diff();
    return expected.kind === actual.kind ? [] : diff();
  }
  if (kindOf(expected) !== kindOf(actual)) return diff();
  if (expected instanceof JsonNumber) return expected.text === (actual as JsonNumber).text ? [] : diff();
  if (Array.isArray(expected)) {
    const a = actual as unknown[];
    if (expected.length !== a.length)
      return [
        {
          path: `${path}.length`,
          expected: `${expected.length}: ${show(expected)}`,
          actual: `${a.length}: ${show(a)}`,
        },
      ];
    return expected.flatMap((e, i) => differences(e, a[i], `${path}[${i}]`));
  }
  if (expected !== null && typeof expected === 'object') {
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const out: Difference[] = [];
    for (const k of Object.keys(e)) {
      if (!(k in a)) out.push({ path: `${path}.${k}`, expected: show(e[k]), actual: '(absent)' });
      else out.push(...differences(e[k], a[k], `${path}.${k}`));
    }
    for (const k of Object.keys(a))
      if (!(k in e)) out.push({ path: `${path}.${k}`, expected: '(absent)', actual: show(a[k]) });
    if (out.length === 0 && Object.keys(e).join(',') !== Object.keys(a).join(','))
      out.push({
        path: `${path} (field order)`,
        expected: Object.keys(e).join(','),
        actual: Object.keys(a).join(','),
      });
    return out;
  }
  return expected === actual ? [] : diff();
}
