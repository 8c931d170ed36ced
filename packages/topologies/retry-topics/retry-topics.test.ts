import { Headers } from '@kafka-pattern/streams-core';
import { describe, expect, it } from 'vitest';
import {
  attemptOf,
  decodeBigInteger,
  dueTimeOf,
  encodeBigInteger,
  hopHeaders,
  MAX_BACKOFF_MS,
  RetryTopicHeaders,
} from './headers.ts';
import { backoffDelays, nextRetryTopic, retryTopicChain } from './topic-names.ts';
import { retryTopics } from './topology.ts';

describe('back-off delays, as Spring 4.1 computes them', () => {
  it('fixed when only delayMs is given', () => {
    expect(backoffDelays(3)).toEqual([1000, 1000]);
    expect(backoffDelays(4, { delayMs: 250 })).toEqual([250, 250, 250]);
    expect(backoffDelays(1)).toEqual([]);
  });

  it('exponential, truncated to whole ms, up to maxDelayMs', () => {
    expect(backoffDelays(5, { delayMs: 1000, multiplier: 1.5 })).toEqual([1000, 1500, 2250, 3375]);
    expect(backoffDelays(6, { delayMs: 1000, multiplier: 2, maxDelayMs: 5000 })).toEqual([
      1000, 2000, 4000, 5000, 5000,
    ]);
    expect(backoffDelays(3, { delayMs: 7, multiplier: 1.1 })).toEqual([7, 7]);
    // maxDelayMs alone: multiplier 1, every delay capped.
    expect(backoffDelays(3, { delayMs: 3000, maxDelayMs: 2000 })).toEqual([2000, 2000]);
  });

  it('refuses settings Spring refuses, saying which', () => {
    expect(() => backoffDelays(0)).toThrow(/attempts must be a whole number of at least 1/);
    expect(() => backoffDelays(3, { delayMs: 10, multiplier: 0.5 })).toThrow(/multiplier must be 1 or more/);
    expect(() => backoffDelays(3, { delayMs: -1 })).toThrow(/delayMs/);
  });
});

describe('topic names, as @RetryableTopic names them', () => {
  const names = (attempts: number, backoff: Parameters<typeof retryTopicChain>[2], s: 'index' | 'delay') =>
    retryTopicChain('payments', attempts, backoff, s).retries;

  it('one retry topic for a fixed back-off, whatever the suffixing', () => {
    for (const s of ['index', 'delay'] as const) {
      expect(names(3, { delayMs: 1000 }, s)).toEqual(['payments-retry']);
      expect(names(2, { delayMs: 1000, multiplier: 2 }, s)).toEqual(['payments-retry']);
      expect(names(4, { delayMs: 500, multiplier: 1 }, s)).toEqual(['payments-retry']);
      expect(names(1, { delayMs: 1000 }, s)).toEqual([]);
    }
    expect(retryTopicChain('payments').dlt).toBe('payments-dlt');
  });

  it('one topic per delay for exponential back-off: by index or by delay', () => {
    expect(names(4, { delayMs: 1000, multiplier: 2 }, 'index')).toEqual([
      'payments-retry-0',
      'payments-retry-1',
      'payments-retry-2',
    ]);
    expect(names(4, { delayMs: 1000, multiplier: 2 }, 'delay')).toEqual([
      'payments-retry-1000',
      'payments-retry-2000',
      'payments-retry-4000',
    ]);
  });

  it('the attempts at maxDelayMs share the last retry topic', () => {
    const index = retryTopicChain('payments', 5, { delayMs: 1000, multiplier: 2, maxDelayMs: 3000 }, 'index');
    expect(index.retries).toEqual(['payments-retry-0', 'payments-retry-1', 'payments-retry-2']);
    expect(index.delays).toEqual([1000, 2000, 3000]);
    expect(index.lastIsReused).toBe(true);
    expect(names(5, { delayMs: 1000, multiplier: 2, maxDelayMs: 3000 }, 'delay')).toEqual([
      'payments-retry-1000',
      'payments-retry-2000',
      'payments-retry-3000',
    ]);
  });

  it('routes main -> first retry topic -> next ..., a reused last topic to itself, and past the last to none', () => {
    const chain = retryTopicChain('p', 5, { delayMs: 100, multiplier: 2, maxDelayMs: 200 }, 'index');
    expect(chain.retries).toEqual(['p-retry-0', 'p-retry-1']);
    expect(nextRetryTopic(chain, 'p')).toEqual({ topic: 'p-retry-0', delayMs: 100 });
    expect(nextRetryTopic(chain, 'p-retry-0')).toEqual({ topic: 'p-retry-1', delayMs: 200 });
    expect(nextRetryTopic(chain, 'p-retry-1')).toEqual({ topic: 'p-retry-1', delayMs: 200 });
    const plain = retryTopicChain('p', 3, { delayMs: 100, multiplier: 2 }, 'index');
    expect(nextRetryTopic(plain, 'p-retry-1')).toBeUndefined();
  });

  it('retryTopics returns the same names', () => {
    const { topics } = retryTopics({
      topic: 'payments',
      key: { name: 'k', serialize: () => null, deserialize: () => null },
      value: { name: 'v', serialize: () => null, deserialize: () => null },
      handler: async () => 1,
      attempts: 4,
      backoff: { delayMs: 1000, multiplier: 2 },
    });
    expect(topics).toEqual({
      main: 'payments',
      retries: ['payments-retry-0', 'payments-retry-1', 'payments-retry-2'],
      dlt: 'payments-dlt',
    });
  });
});

describe('header encodings', () => {
  it("timestamps as Java's BigInteger.toByteArray()", () => {
    // Bytes a Spring 4.1.2 listener wrote for this timestamp.
    expect(encodeBigInteger(1796173960104).toString('hex')).toBe('01a2344f93a8');
    expect(encodeBigInteger(0).toString('hex')).toBe('00');
    expect(encodeBigInteger(127).toString('hex')).toBe('7f');
    expect(encodeBigInteger(128).toString('hex')).toBe('0080');
    expect(encodeBigInteger(-1).toString('hex')).toBe('ff');
    expect(encodeBigInteger(-129).toString('hex')).toBe('ff7f');
    for (const n of [
      0,
      1,
      255,
      256,
      65_535,
      1_700_000_000_000,
      Number.MAX_SAFE_INTEGER,
      -5,
      -1_700_000_000_000,
    ])
      expect(decodeBigInteger(encodeBigInteger(n))).toBe(n);
    expect(decodeBigInteger(Buffer.alloc(9))).toBeUndefined();
    expect(decodeBigInteger(Buffer.alloc(0))).toBeUndefined();
  });

  it('attempts: a 4-byte or 1-byte int, 1 when absent or out of range', () => {
    expect(attemptOf(new Headers())).toBe(1);
    expect(attemptOf(new Headers([[RetryTopicHeaders.attempts, Buffer.from('00000003', 'hex')]]))).toBe(3);
    expect(attemptOf(new Headers([[RetryTopicHeaders.attempts, Buffer.from([5])]]))).toBe(5);
    expect(attemptOf(new Headers([[RetryTopicHeaders.attempts, Buffer.from('0000', 'hex')]]))).toBe(1);
    expect(attemptOf(new Headers([[RetryTopicHeaders.attempts, Buffer.from('00010000', 'hex')]]))).toBe(1);
    const appended = new Headers([
      [RetryTopicHeaders.attempts, Buffer.from('00000002', 'hex')],
      [RetryTopicHeaders.attempts, Buffer.from('00000003', 'hex')],
    ]);
    expect(attemptOf(appended)).toBe(3);
  });

  it('a due time more than a day ahead is ignored, as Spring ignores it', () => {
    const now = 1_700_000_000_000;
    const at = (ms: number) => new Headers([[RetryTopicHeaders.backoffTimestamp, encodeBigInteger(ms)]]);
    expect(dueTimeOf(at(now + 5_000), now)).toBe(now + 5_000);
    expect(dueTimeOf(at(now + MAX_BACKOFF_MS + 1), now)).toBeUndefined();
    expect(dueTimeOf(new Headers(), now)).toBeUndefined();
  });

  it('hop headers: the failure replaced, the first position kept, the retry headers appended, in Spring order', () => {
    const from = { topic: 'p', partition: 2, offset: 7n, timestamp: 1_000, consumerGroup: 'app' };
    const first = hopHeaders(
      new Headers([['trace', 'x']]),
      {
        error: new Error('declined', { cause: new TypeError('socket') }),
        from,
        attempt: 1,
        dueMs: 5_000,
        toDeadLetter: false,
      },
      true,
    );
    expect(first.toArray().map(([n]) => n)).toEqual([
      'trace',
      'kafka_exception-fqcn',
      'kafka_exception-cause-fqcn',
      'kafka_exception-message',
      'kafka_exception-stacktrace',
      'kafka_original-topic',
      'kafka_original-partition',
      'kafka_original-offset',
      'kafka_original-timestamp',
      'kafka_original-timestamp-type',
      'kafka_dlt-original-consumer-group',
      'retry_topic-original-timestamp',
      'retry_topic-attempts',
      'retry_topic-backoff-timestamp',
    ]);
    expect(first.getString('kafka_exception-fqcn')).toBe('Error');
    expect(first.getString('kafka_exception-cause-fqcn')).toBe('TypeError');
    expect(first.getString('kafka_exception-message')).toBe('declined; socket');
    expect(first.get('kafka_original-partition')!.toString('hex')).toBe('00000002');
    expect(first.get('kafka_original-offset')!.toString('hex')).toBe('0000000000000007');
    expect(first.get('retry_topic-original-timestamp')!.toString('hex')).toBe('03e8');
    expect(first.get('retry_topic-attempts')!.toString('hex')).toBe('00000002');
    const second = hopHeaders(
      first,
      {
        error: new Error('again'),
        from: { ...from, topic: 'p-retry', offset: 0n, timestamp: 4_000 },
        attempt: 2,
        dueMs: 9_000,
        toDeadLetter: true,
      },
      false,
    );
    expect(second.getString('kafka_original-topic')).toBe('p');
    expect(second.get('retry_topic-original-timestamp')!.toString('hex')).toBe('03e8');
    expect(second.values('retry_topic-attempts').map((b) => b.readInt32BE(0))).toEqual([2, 3]);
    expect(second.values('kafka_exception-message').map(String)).toEqual(['again']);
    expect(second.getString('kafka_dlt-original-topic')).toBe('p');
    expect(second.getString('kafka_dlt-exception-message')).toBe('again');
    expect(second.get('kafka_dlt-original-offset')!.toString('hex')).toBe('0000000000000007');
  });
});
