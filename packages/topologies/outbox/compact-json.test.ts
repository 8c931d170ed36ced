import { describe, expect, it } from 'vitest';
import { compactJson } from './compact-json.ts';

describe('compactJson', () => {
  it('writes jsonb text as Jackson writes it after Debezium expanded it', () => {
    expect(compactJson('{"a": [1, 2.50], "b": {"c": "x y, \\"z\\""}}')).toBe(
      '{"a":[1,2.5],"b":{"c":"x y, \\"z\\""}}',
    );
    expect(compactJson('{"r": 0.00000015, "h": 100.0, "n": -0.5, "e": 1.0E20}')).toBe(
      '{"r":1.5E-7,"h":100.0,"n":-0.5,"e":1.0E20}',
    );
    expect(compactJson('[12345678901234567890, -3, 0]')).toBe('[12345678901234567890,-3,0]');
  });
});
