/**
 * The pure conversions the differential test against Debezium 3.6 found wrong (see
 * test/patterns/cdc-debezium.test.ts): intervals in Debezium's double arithmetic, and the
 * column defaults JsonConverter writes in place of NULL.
 */
import { describe, expect, it } from 'vitest';
import { defaultText, intervalMicros, OID } from './column-values.ts';

describe('intervalMicros', () => {
  it('computes in doubles and truncates, as MicroDuration does', () => {
    // Exact arithmetic gives …166378; Debezium's doubles give …166377.
    expect(intervalMicros('4 years 4 mons 01:43:58.166378')).toBe(136755838166377n);
    expect(intervalMicros('1 year 2 mons 3 days 04:05:06.789')).toBe(37091106789000n);
    expect(intervalMicros('-00:00:00.000001')).toBe(-1n);
    expect(intervalMicros('-1 mons -2 days +00:00:01')).toBe(-2802599000000n);
    expect(intervalMicros('178000000 years')).toBe(9223372036854775807n);
    expect(intervalMicros('00:00:00')).toBe(0n);
  });
});

describe('defaultText', () => {
  const int4 = (e: string | null) => defaultText(e, OID.int4, -1);
  it('reads constants as Debezium does, quoted text up to the next quote', () => {
    expect(int4('7')).toBe('7');
    expect(int4("'-1'::integer")).toBe('-1');
    expect(defaultText("'it''s new'::text", OID.text, -1)).toBe('it');
    expect(defaultText("'v'::character varying", OID.varchar, 13)).toBe('v');
    expect(defaultText('true', OID.bool, -1)).toBe('t');
    expect(defaultText('1.5', OID.numeric, (8 << 16) + 2 + 4)).toBe('1.5');
  });
  it("gives the type's zero for a function call or an identity column", () => {
    expect(defaultText('now()', OID.timestamptz, -1)).toBe('1970-01-01 00:00:00+00');
    expect(defaultText('CURRENT_DATE', OID.date, -1)).toBe('1970-01-01');
    expect(defaultText('gen_random_uuid()', OID.uuid, -1)).toBe('00000000-0000-0000-0000-000000000000');
    expect(defaultText("upper('x'::text)", OID.text, -1)).toBe('');
    expect(int4("nextval('s_seq'::regclass)")).toBe('0');
    expect(defaultText(null, OID.int4, -1, true)).toBe('0');
  });
  it('gives no default for NULL, expressions and numeric without a scale', () => {
    expect(int4(null)).toBeUndefined();
    expect(defaultText('NULL::text', OID.text, -1)).toBeUndefined();
    expect(int4('1 + 2')).toBeUndefined();
    expect(defaultText("'1.50'::numeric", OID.numeric, -1)).toBeUndefined();
  });
});
