import { describe, expect, it } from 'vitest';
import { SCENARIOS, selectScenarios, selectSubjects } from '../src/scenarios.ts';

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

describe('selectSubjects', () => {
  it('keeps the subjects whose names start with one of the prefixes, dropping emptied scenarios', () => {
    const kept = selectSubjects(selectScenarios(['stateless', 'async']), ['kafka streams', 'KafkaJS']);
    expect(kept.map((s) => s.name)).toEqual(['stateless']);
    expect(kept[0]!.subjects.map((s) => `${s.name} ${s.guarantee}`)).toEqual([
      'Kafka Streams (Java) at_least_once',
      'Kafka Streams (Java) exactly_once_v2',
      'KafkaJS at_least_once',
      'KafkaJS exactly_once_v2',
    ]);
  });

  it('refuses prefixes that match nothing', () => {
    expect(() => selectSubjects(selectScenarios(['async']), ['Kafka Streams'])).toThrow(/No subject/);
  });
});
