import { describe, expect, it } from 'vitest';
import {
  DeadLetterLog,
  type DeadLetterLogClock,
  type DeadLetterLogEntry,
} from '../../src/errors/dead-letter-log.ts';
import type { Logger } from '../../src/observability/logger.ts';

/** A clock whose time moves only when the test says so, running the timers that fall due. */
class FakeClock implements DeadLetterLogClock {
  time = 1_000_000;
  timers: Array<{ at: number; callback: () => void; cancelled: boolean }> = [];

  now = (): number => this.time;

  schedule(callback: () => void, ms: number): () => void {
    const timer = { at: this.time + ms, callback, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => !t.cancelled && t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.time = due.at;
      due.cancelled = true;
      due.callback();
    }
    this.time = until;
  }

  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }
}

function setup(options: { perInterval?: number; intervalMs?: number } = {}) {
  const clock = new FakeClock();
  const lines: Array<{ msg: string; obj: Record<string, unknown> }> = [];
  const record = (obj: Record<string, unknown>, msg: string) => void lines.push({ obj, msg });
  const logger: Logger = { debug: record, info: record, warn: record, error: record };
  const log = new DeadLetterLog({ logger, clock, ...options });
  return { clock, lines, log, messages: () => lines.map((l) => l.msg) };
}

function entry(topic: string, offset: number, message = `bad value at ${offset}`): DeadLetterLogEntry {
  return {
    kind: 'processing',
    taskId: '0_1',
    nodeName: 'KSTREAM-MAPVALUES-0000000001',
    source: { topic, partition: 1, offset: BigInt(offset) },
    deadLetterTopic: `${topic}-dlt`,
    exception: 'RangeError',
    message,
  };
}

describe('DeadLetterLog', () => {
  it('logs a dead letter in full: where from, the dead-letter topic, the node, the task and why', () => {
    const { log, lines } = setup();
    log.log(entry('orders', 42, 'amount must be positive'));
    expect(lines).toEqual([
      {
        msg: 'dead letter: orders-1@42 moved to orders-dlt after a processing error in KSTREAM-MAPVALUES-0000000001 (task 0_1): RangeError: amount must be positive',
        obj: {
          taskId: '0_1',
          node: 'KSTREAM-MAPVALUES-0000000001',
          kind: 'processing',
          source: { topic: 'orders', partition: 1, offset: 42n },
          deadLetterTopic: 'orders-dlt',
          exception: 'RangeError',
        },
      },
    ]);
  });

  it('logs the first N per interval in full, then one summary line when the interval ends', () => {
    const { log, clock, messages } = setup({ perInterval: 3, intervalMs: 10_000 });
    for (let i = 0; i < 1_237; i++) log.log(entry('orders', i));
    expect(messages()).toHaveLength(3);
    expect(messages()[2]).toMatch(/^dead letter: orders-1@2 moved to orders-dlt/);
    clock.advance(9_999);
    expect(messages()).toHaveLength(3);
    clock.advance(1);
    expect(messages()).toHaveLength(4);
    expect(messages()[3]).toBe(
      '… and 1,234 more dead letters from orders in the last 10 s, to orders-dlt (the last: orders-1@1236, RangeError: bad value at 1236)',
    );
    expect(clock.pending).toBe(0);
  });

  it('starts a new interval after the summary: the next ones are logged in full again', () => {
    const { log, clock, messages } = setup({ perInterval: 2, intervalMs: 10_000 });
    for (let i = 0; i < 5; i++) log.log(entry('orders', i));
    clock.advance(10_000);
    log.log(entry('orders', 5));
    log.log(entry('orders', 6));
    log.log(entry('orders', 7));
    expect(messages()).toEqual([
      expect.stringMatching(/^dead letter: orders-1@0 /),
      expect.stringMatching(/^dead letter: orders-1@1 /),
      expect.stringMatching(/^… and 3 more dead letters from orders in the last 10 s/),
      expect.stringMatching(/^dead letter: orders-1@5 /),
      expect.stringMatching(/^dead letter: orders-1@6 /),
    ]);
    clock.advance(10_000);
    expect(messages().at(-1)).toMatch(/^… and 1 more dead letters from orders in the last 10 s/);
  });

  it('limits each source topic on its own', () => {
    const { log, clock, messages } = setup({ perInterval: 1, intervalMs: 5_000 });
    log.log(entry('orders', 0));
    log.log(entry('orders', 1));
    log.log(entry('payments', 0));
    log.log(entry('payments', 1));
    log.log(entry('payments', 2));
    clock.advance(5_000);
    expect(messages()).toEqual([
      expect.stringMatching(/^dead letter: orders-1@0 /),
      expect.stringMatching(/^dead letter: payments-1@0 /),
      expect.stringMatching(/^… and 1 more dead letters from orders in the last 5 s/),
      expect.stringMatching(/^… and 2 more dead letters from payments in the last 5 s/),
    ]);
  });

  it('an interval with nothing held back ends without a summary and schedules nothing', () => {
    const { log, clock, messages } = setup({ perInterval: 5, intervalMs: 10_000 });
    log.log(entry('orders', 0));
    expect(clock.pending).toBe(0);
    clock.advance(60_000);
    log.log(entry('orders', 1));
    expect(messages()).toHaveLength(2);
    expect(messages().every((m) => m.startsWith('dead letter: '))).toBe(true);
  });

  it('a dead letter after the interval but before its timer ran gets the summary first', () => {
    const { log, clock, messages } = setup({ perInterval: 1, intervalMs: 10_000 });
    log.log(entry('orders', 0));
    log.log(entry('orders', 1));
    // The clock moved on but the timer has not run yet (a busy event loop).
    clock.time += 12_000;
    log.log(entry('orders', 2));
    expect(messages()).toEqual([
      expect.stringMatching(/^dead letter: orders-1@0 /),
      expect.stringMatching(/^… and 1 more dead letters from orders in the last 10 s/),
      expect.stringMatching(/^dead letter: orders-1@2 /),
    ]);
    clock.advance(20_000);
    expect(messages()).toHaveLength(3);
  });

  it('close() logs what is held back, over the time it covers, and cancels the timers', () => {
    const { log, clock, messages, lines } = setup({ perInterval: 1, intervalMs: 10_000 });
    log.log(entry('orders', 0));
    log.log(entry('orders', 1));
    log.log(entry('orders', 2));
    clock.advance(3_200);
    log.close();
    expect(messages().at(-1)).toBe(
      '… and 2 more dead letters from orders in the last 3.2 s, to orders-dlt (the last: orders-1@2, RangeError: bad value at 2)',
    );
    expect(lines.at(-1)!.obj).toMatchObject({ sourceTopic: 'orders', more: 2, intervalMs: 3_200 });
    expect(clock.pending).toBe(0);
    clock.advance(60_000);
    expect(messages()).toHaveLength(2);
  });
});
