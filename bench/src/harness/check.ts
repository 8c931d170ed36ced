/**
 * What every implementation of a scenario must have written, checked on its first drain before
 * any timed one: the output topic read back whole, each record reduced to one canonical line
 * (key and value as the scenario compares them: a count as a number, JSON with its fields in
 * one order and its numbers as JavaScript prints them), and the multiset of those lines equal to
 * the scenario's expected one. So every subject of a row does the same work, whatever its
 * serializers' formatting.
 */

export interface OutputCheck {
  /** One output record as a line. */
  readonly canonical: (key: Buffer, value: Buffer) => string;
  /** The lines of every output the first `count` records of each input topic produce. */
  readonly expected: (count: number) => string[];
}

/** Undefined when `actual` and `expected` hold the same lines as often; otherwise what differs. */
export function compareOutputs(actual: readonly string[], expected: readonly string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const line of expected) counts.set(line, (counts.get(line) ?? 0) + 1);
  const unexpected: string[] = [];
  for (const line of actual) {
    const n = counts.get(line);
    if (n === undefined) unexpected.push(line);
    else if (n === 1) counts.delete(line);
    else counts.set(line, n - 1);
  }
  const missing = [...counts.entries()].flatMap(([line, n]) => Array<string>(n).fill(line));
  if (missing.length === 0 && unexpected.length === 0) return undefined;
  const some = (lines: string[]) => lines.slice(0, 3).map((l) => `    ${l}`);
  return [
    `${actual.length} records written, ${expected.length} expected; ${missing.length} missing, ${unexpected.length} not expected`,
    ...(missing.length > 0 ? ['  missing, e.g.:', ...some(missing)] : []),
    ...(unexpected.length > 0 ? ['  not expected, e.g.:', ...some(unexpected)] : []),
  ].join('\n');
}

/** JSON text with object fields sorted, numbers as JavaScript prints them (200.0 → 200). */
export function canonicalJson(text: string): string {
  return JSON.stringify(sorted(JSON.parse(text)));
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, sorted(v)]),
    );
  }
  return value;
}

/** An 8-byte big-endian long, as Serdes.Long() and Kafka's LongSerializer write it. */
export function longValue(value: Buffer): string {
  return value.length === 8
    ? value.readBigInt64BE().toString()
    : `<${value.length} bytes: ${value.toString('hex')}>`;
}
