import { ResponseError } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/client/platformatic/connection.ts';

const CODES = { CONCURRENT_TRANSACTIONS: 51, NOT_LEADER_OR_FOLLOWER: 6 };

/** An AddPartitionsToTxn (API key 24) answer with one partition's error, as the client reports it. */
function answered(apiId: keyof typeof CODES): Error {
  return new ResponseError(24, 3, { '/results/0': [CODES[apiId], null] }, {});
}

describe('retryDelayMs', () => {
  it('waits out CONCURRENT_TRANSACTIONS in milliseconds first, then in seconds', () => {
    const delays = [1, 2, 3, 4, 5].map((attempt) =>
      retryDelayMs(attempt, answered('CONCURRENT_TRANSACTIONS')),
    );
    expect(delays).toEqual([2, 10, 50, 500, 1500]);
    expect(delays.reduce((a, b) => a + b)).toBeGreaterThan(2000);
  });

  it('backs off from 100 ms for anything else, as before', () => {
    expect(
      [1, 2, 3, 4, 5, 6].map((attempt) => retryDelayMs(attempt, answered('NOT_LEADER_OR_FOLLOWER'))),
    ).toEqual([100, 250, 500, 1000, 1500, 1500]);
    expect(retryDelayMs(1, new Error('Connection closed'))).toBe(100);
  });
});
