import { describe, expect, it } from 'vitest';
import { standbyPlacement } from '../../src/runtime/standby-placement.ts';

const member = (clientId: string, tasks: string[], local = false) => ({ clientId, tasks, local });

describe('standbyPlacement', () => {
  it('keeps the tasks of the members just before this one in client-id order (a ring)', () => {
    const members = [
      member('c', ['0_2']),
      member('a', ['0_0']),
      member('b', ['0_1'], true),
      member('d', ['0_3']),
    ];
    expect(standbyPlacement(members, 1)).toEqual(new Set(['0_0']));
    expect(standbyPlacement(members, 2)).toEqual(new Set(['0_0', '0_3']));
  });

  it('wraps around the ring for the first member', () => {
    const members = [member('a', ['0_0'], true), member('b', ['0_1']), member('c', ['0_2'])];
    expect(standbyPlacement(members, 1)).toEqual(new Set(['0_2']));
  });

  it('gives every task exactly `replicas` standbys, never on its owner', () => {
    const ids = ['m1', 'm2', 'm3', 'm4', 'm5'];
    const tasks = ids.map((_, i) => [`0_${i}`, `1_${i}`]);
    for (const replicas of [1, 2, 3]) {
      const holders = new Map<string, string[]>();
      ids.forEach((self, i) => {
        const view = ids.map((id, j) => member(id, tasks[j]!, j === i));
        for (const t of standbyPlacement(view, replicas)!) holders.set(t, [...(holders.get(t) ?? []), self]);
      });
      ids.forEach((owner, i) => {
        for (const t of tasks[i]!) {
          expect(holders.get(t)).toHaveLength(replicas);
          expect(holders.get(t)).not.toContain(owner);
        }
      });
    }
  });

  it('is undefined (keep every task not run here) with too few members or when this one is missing', () => {
    expect(standbyPlacement([member('a', ['0_0'], true), member('b', ['0_1'])], 1)).toBeUndefined();
    expect(
      standbyPlacement([member('a', ['0_0']), member('b', ['0_1']), member('c', [])], 1),
    ).toBeUndefined();
  });
});
