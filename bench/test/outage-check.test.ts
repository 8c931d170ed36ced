import { describe, expect, it } from 'vitest';
import type { ScannedRecord } from '../src/harness/scan.ts';
import { checkOutput } from '../src/outage/check.ts';
import { keyedRecord } from '../src/stateful/workload.ts';
import { isWorthShipping, orderRecord, priceOrder } from '../src/stateless/workload.ts';

function rec(key: string, value: Buffer, offset = 0): ScannedRecord {
  return { partition: 0, offset, key: Buffer.from(key), value, timestamp: 0 };
}

const orders = (ids: number[]) =>
  ids.map((i) => rec(orderRecord(i).key, Buffer.from(orderRecord(i).value), i));
const priced = (ids: number[]) =>
  ids.map((i) => rec(orderRecord(i).key, Buffer.from(JSON.stringify(priceOrder(orderRecord(i).value)))));
const passing = (ids: number[]) => ids.filter((i) => isWorthShipping(priceOrder(orderRecord(i).value)));

function long(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
}

describe('checkOutput, stateless', () => {
  const ids = Array.from({ length: 50 }, (_, i) => i);
  const out = passing(ids);

  it('is complete when every passing input is in the output once', () => {
    const c = checkOutput('stateless', 'exactly_once_v2', orders(ids), priced(out));
    expect(c).toEqual({
      expected: out.length,
      outputs: out.length,
      missing: 0,
      duplicates: 0,
      irregular: 0,
      complete: true,
    });
  });

  it('takes duplicates under at_least_once only', () => {
    const twice = priced([...out, out[0]!, out[1]!]);
    expect(checkOutput('stateless', 'at_least_once', orders(ids), twice)).toMatchObject({
      duplicates: 2,
      complete: true,
    });
    expect(checkOutput('stateless', 'exactly_once_v2', orders(ids), twice)).toMatchObject({
      duplicates: 2,
      complete: false,
    });
  });

  it('fails on a missing output under both guarantees', () => {
    for (const g of ['at_least_once', 'exactly_once_v2'] as const) {
      expect(checkOutput('stateless', g, orders(ids), priced(out.slice(1)))).toMatchObject({
        missing: 1,
        complete: false,
      });
    }
  });

  it('counts an input written twice as two expected outputs', () => {
    const doubled = orders([...ids, out[0]!]);
    expect(checkOutput('stateless', 'exactly_once_v2', doubled, priced(out))).toMatchObject({
      missing: 1,
      complete: false,
    });
    expect(checkOutput('stateless', 'exactly_once_v2', doubled, priced([...out, out[0]!]))).toMatchObject({
      complete: true,
    });
  });
});

describe('checkOutput, count', () => {
  const inputs = [0, 3, 6].map((i) => {
    const r = keyedRecord(i);
    return rec(r.key, Buffer.from(r.value));
  });
  const key = (i: number) => keyedRecord(i).key;

  it('is exact when each key counts 1, 2, …, n', () => {
    const sameKey = [inputs[0]!, inputs[0]!, inputs[1]!];
    const outputs = [rec(key(0), long(1)), rec(key(0), long(2)), rec(key(3), long(1))];
    expect(checkOutput('count', 'exactly_once_v2', sameKey, outputs)).toMatchObject({
      expected: 3,
      missing: 0,
      duplicates: 0,
      irregular: 0,
      complete: true,
    });
  });

  it('takes a count raised by reprocessing under at_least_once only', () => {
    const outputs = [rec(key(0), long(1)), rec(key(0), long(2)), rec(key(3), long(1)), rec(key(6), long(1))];
    expect(checkOutput('count', 'at_least_once', inputs, outputs)).toMatchObject({
      duplicates: 1,
      complete: true,
    });
    expect(checkOutput('count', 'exactly_once_v2', inputs, outputs)).toMatchObject({ complete: false });
  });

  it('fails when a key is counted short', () => {
    const outputs = [rec(key(0), long(1)), rec(key(3), long(1))];
    expect(checkOutput('count', 'at_least_once', inputs, outputs)).toMatchObject({
      missing: 1,
      complete: false,
    });
  });
});
