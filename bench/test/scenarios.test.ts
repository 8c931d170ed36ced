import { describe, expect, it } from 'vitest';
import { SCENARIOS, selectScenarios } from '../src/scenarios.ts';

const names = (names: string[]) => selectScenarios(names).map((s) => s.name);

describe('selectScenarios', () => {
  it('selects every scenario when none is named', () => {
    expect(names([])).toEqual(SCENARIOS.map((s) => s.name));
  });

  it('takes full names and unique prefixes, case-insensitive, in registry order', () => {
    expect(names(['stateful', 'stateless'])).toEqual(['stateless', 'stateful count']);
    expect(names(['Windowed Count', 'stream'])).toEqual(['windowed count', 'stream-stream join']);
    expect(names(['stateless', 'stateless'])).toEqual(['stateless']);
  });

  it('refuses an unknown or ambiguous name', () => {
    expect(() => names(['nope'])).toThrow(/No scenario named 'nope': known are 'stateless'/);
    expect(() => names(['state'])).toThrow(/'state' names 'stateless' and 'stateful count'/);
  });
});
