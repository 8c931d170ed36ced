/**
 * Column values in Debezium's forms, checked against what Debezium 3.6's PostgreSQL connector wrote
 * for the same PostgreSQL text (its defaults, JsonConverter without schemas), value by value; and
 * the LSN and compact-JSON helpers the capture and the outbox relay use.
 */
import { describe, expect, it } from 'vitest';
import { compactJson } from '../outbox/compact-json.ts';
import { columnValue, converterFor, javaDouble, OID, UNAVAILABLE_VALUE } from './column-values.ts';
import { formatLsn, parseLsn } from './lsn.ts';

const json = (oid: number, text: string | null | undefined, typeMod = -1) =>
  JSON.stringify(columnValue(converterFor(oid, typeMod), oid, text));

/** numeric(p, s) as PostgreSQL encodes its type modifier. */
const numericMod = (p: number, s: number) => ((p << 16) | s) + 4;

describe('column values as Debezium writes them', () => {
  it.each([
    [OID.int8, '9223372036854775807', '9223372036854775807'],
    [OID.int8, '-9223372036854775808', '-9223372036854775808'],
    [OID.int2, '-32768', '-32768'],
    [OID.bool, 't', 'true'],
    [OID.float8, '0', '0.0'],
    [OID.float8, '-0', '-0.0'],
    [OID.float8, '100', '100.0'],
    [OID.float8, '0.0001', '1.0E-4'],
    [OID.float8, '1e+20', '1.0E20'],
    [OID.float8, '5e-324', '4.9E-324'],
    [OID.float8, 'NaN', '"NaN"'],
    [OID.float4, '3.1415927', '3.1415927'],
    [OID.float4, '1.6777216e+07', '1.6777216E7'],
    [OID.numeric, '1.50', '{"scale":1,"value":"Dw=="}'],
    [OID.numeric, '1200.00', '{"scale":0,"value":"BLA="}'],
    [OID.numeric, '-0.000000000000000000001', '{"scale":21,"value":"/w=="}'],
    [OID.numeric, '123456789012345678901234567890', '{"scale":0,"value":"AY7pD/bDc+DuTj8K0g=="}'],
    [OID.numeric, 'NaN', 'null'],
    [OID.bytea, '\\xdeadbeef', '"3q2+7w=="'],
    [OID.bytea, '\\x', '""'],
    [OID.date, '1969-12-31', '-1'],
    [OID.date, '0001-01-01', '-719162'],
    [OID.date, '9999-12-31', '2932896'],
    [OID.time, '24:00:00', '86400000000'],
    [OID.time, '12:34:56.789012', '45296789012'],
    [OID.timetz, '12:34:56.789012+05:30', '"07:04:56.789012Z"'],
    [OID.timetz, '01:00:00+02', '"23:00:00Z"'],
    [OID.timetz, '12:00:00.5+00', '"12:00:00.5Z"'],
    [OID.timestamp, '1969-12-31 23:59:59.999999', '-1'],
    [OID.timestamp, '0001-01-01 00:00:00', '-62135596800000000'],
    [OID.timestamp, 'infinity', '9223372036825200000'],
    [OID.timestamptz, '1969-07-20 20:17:40+00', '"1969-07-20T20:17:40.000000Z"'],
    [OID.timestamptz, '2024-01-02 01:04:05.123456+00', '"2024-01-02T01:04:05.123456Z"'],
    [OID.timestamptz, '0001-01-01 00:00:00+00 BC', '"0000-01-01T00:00:00.000000Z"'],
    [OID.timestamptz, 'infinity', '"infinity"'],
    [OID.interval, '1 year 2 mons 3 days 04:05:06.789', '37091106789000'],
    [OID.interval, '-1 mons -2 days +00:00:01', '-2802599000000'],
    [OID.interval, '178000000 years', '9223372036854775807'],
    [OID.jsonb, '{"a": [1, 2.50], "b": 1}', '"{\\"a\\": [1, 2.50], \\"b\\": 1}"'],
    [1007, '{1,NULL,-3}', '[1,null,-3]'],
    [1009, '{"",NULL,"a b","q\\"uote"}', '["",null,"a b","q\\"uote"]'],
    [1231, '{1.5,NULL,100}', '[{"scale":1,"value":"Dw=="},null,{"scale":0,"value":"ZA=="}]'],
  ])('type %i, %s → %s', (oid, text, expected) => {
    expect(json(oid, text)).toBe(expected);
  });

  it('uses the column modifier for fixed-scale decimals and the precision of times', () => {
    expect(json(OID.numeric, '99999999.99', numericMod(10, 2))).toBe('"AlQL4/8="');
    expect(json(OID.numeric, '-0.50', numericMod(10, 2))).toBe('"zg=="');
    expect(json(OID.numeric, '100', numericMod(5, 0))).toBe('"ZA=="');
    expect(json(OID.timestamp, '1960-06-15 12:00:00.5', 3)).toBe('-301233599500');
    expect(json(OID.timestamp, 'infinity', 3)).toBe('9223372036825200');
    expect(json(OID.time, '12:34:56.789', 3)).toBe('45296789');
    expect(json(OID.timestamptz, '2024-06-01 12:00:00.5+00', 3)).toBe('"2024-06-01T12:00:00.500Z"');
    expect(json(OID.timestamptz, '2024-06-01 12:00:00+00', 0)).toBe('"2024-06-01T12:00:00Z"');
  });

  it('writes NULL as null and an unchanged TOASTed value as the placeholder Debezium writes', () => {
    expect(json(OID.text, null)).toBe('null');
    expect(json(OID.text, undefined)).toBe(`"${UNAVAILABLE_VALUE}"`);
    expect(json(OID.jsonb, undefined)).toBe(`"${UNAVAILABLE_VALUE}"`);
    expect(json(OID.bytea, undefined)).toBe('"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="');
    expect(JSON.parse(json(1007, undefined))).toEqual([...Buffer.from(UNAVAILABLE_VALUE)]);
  });

  it('spells floats as Java does', () => {
    expect(javaDouble('1234567')).toBe('1234567.0');
    expect(javaDouble('12345678')).toBe('1.2345678E7');
    expect(javaDouble('0.001')).toBe('0.001');
  });
});

describe('helpers', () => {
  it('reads and prints LSNs', () => {
    expect(parseLsn('16/B374D848')).toBe(0x16b374d848n);
    expect(formatLsn(0x16b374d848n)).toBe('16/B374D848');
    expect(formatLsn(parseLsn('0/0'))).toBe('0/0');
  });

  it('compacts JSON text as Debezium writes it: strings and integers as they are, fractions as doubles', () => {
    expect(compactJson('{"a": [1, 2.50], "b": "x y", "n": 12345678901234567890}')).toBe(
      '{"a":[1,2.5],"b":"x y","n":12345678901234567890}',
    );
    expect(compactJson('{"q": "say \\"hi\\" now"}')).toBe('{"q":"say \\"hi\\" now"}');
  });
});
