import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/observability/logger.ts';
import { type StreamsState, StreamsStateMachine, TRANSITIONS } from '../../src/runtime/streams-state.ts';

describe('StreamsStateMachine', () => {
  it('follows the transition table and tells every listener once per change', () => {
    const machine = new StreamsStateMachine(silentLogger);
    const seen: Array<[StreamsState, StreamsState]> = [];
    machine.onChange((next, prev) => seen.push([next, prev]));
    machine.transition('REBALANCING');
    machine.transition('RUNNING');
    machine.transition('RUNNING');
    machine.transition('CREATED');
    machine.transition('REBALANCING');
    machine.transition('REBALANCING');
    machine.transition('PENDING_SHUTDOWN');
    machine.transition('RUNNING');
    machine.transition('NOT_RUNNING');
    expect(seen).toEqual([
      ['REBALANCING', 'CREATED'],
      ['RUNNING', 'REBALANCING'],
      ['REBALANCING', 'RUNNING'],
      ['REBALANCING', 'REBALANCING'],
      ['PENDING_SHUTDOWN', 'REBALANCING'],
      ['NOT_RUNNING', 'PENDING_SHUTDOWN'],
    ]);
    expect(machine.state).toBe('NOT_RUNNING');
  });

  it('fails through PENDING_ERROR into ERROR, which is final', () => {
    const machine = new StreamsStateMachine(silentLogger);
    const seen: StreamsState[] = [];
    machine.onChange((next) => seen.push(next));
    machine.transition('REBALANCING');
    machine.fail();
    for (const s of Object.keys(TRANSITIONS) as StreamsState[]) machine.transition(s);
    expect(seen).toEqual(['REBALANCING', 'PENDING_ERROR', 'ERROR']);
  });

  it('a listener that throws is logged and does not stop the others', () => {
    const warnings: string[] = [];
    const machine = new StreamsStateMachine({ ...silentLogger, warn: (_o, msg) => warnings.push(msg) });
    const seen: StreamsState[] = [];
    machine.onChange(() => {
      throw new Error('listener bug');
    });
    machine.onChange((next) => seen.push(next));
    machine.transition('REBALANCING');
    expect(seen).toEqual(['REBALANCING']);
    expect(warnings).toEqual(['state listener failed: listener bug']);
  });
});
