/**
 * Stateless record-at-a-time processors behind the KStream operators. Each is a small factory
 * returning a supplier; the processors keep no state beyond their context.
 */

import type { Headers } from '../../processor/api/headers.ts';
import type { Processor, ProcessorContext, ProcessorSupplier } from '../../processor/api/processor.ts';
import type { StreamRecord } from '../../processor/api/record.ts';

type Ctx = ProcessorContext<any, any>;

function simple<K, V>(
  process: (ctx: Ctx, record: StreamRecord<K, V>) => void,
): ProcessorSupplier<K, V, any, any> {
  return () => {
    let ctx: Ctx;
    const p: Processor<K, V, any, any> = {
      init(c) {
        ctx = c;
      },
      process(record) {
        process(ctx, record);
      },
    };
    return p;
  };
}

export function filterProcessor<K, V>(
  predicate: (key: K, value: V, headers: Headers) => boolean,
  negate = false,
): ProcessorSupplier<K, V, K, V> {
  return simple<K, V>((ctx, r) => {
    if (predicate(r.key, r.value, r.headers) !== negate) ctx.forward(r);
  });
}

export function mapProcessor<K, V, KR, VR>(
  mapper: (key: K, value: V) => readonly [KR, VR],
): ProcessorSupplier<K, V, KR, VR> {
  return simple<K, V>((ctx, r) => {
    const [key, value] = mapper(r.key, r.value);
    ctx.forward({ key, value, timestamp: r.timestamp, headers: r.headers });
  });
}

export function mapValuesProcessor<K, V, VR>(
  mapper: (value: V, key: K, headers: Headers) => VR,
): ProcessorSupplier<K, V, K, VR> {
  return simple<K, V>((ctx, r) => {
    ctx.forward({
      key: r.key,
      value: mapper(r.value, r.key, r.headers),
      timestamp: r.timestamp,
      headers: r.headers,
    });
  });
}

export function selectKeyProcessor<K, V, KR>(
  selector: (key: K, value: V) => KR,
): ProcessorSupplier<K, V, KR, V> {
  return simple<K, V>((ctx, r) => {
    ctx.forward({
      key: selector(r.key, r.value),
      value: r.value,
      timestamp: r.timestamp,
      headers: r.headers,
    });
  });
}

export function flatMapProcessor<K, V, KR, VR>(
  mapper: (key: K, value: V) => Iterable<readonly [KR, VR]>,
): ProcessorSupplier<K, V, KR, VR> {
  return simple<K, V>((ctx, r) => {
    for (const [key, value] of mapper(r.key, r.value)) {
      ctx.forward({ key, value, timestamp: r.timestamp, headers: r.headers });
    }
  });
}

export function flatMapValuesProcessor<K, V, VR>(
  mapper: (value: V, key: K, headers: Headers) => Iterable<VR>,
): ProcessorSupplier<K, V, K, VR> {
  return simple<K, V>((ctx, r) => {
    for (const value of mapper(r.value, r.key, r.headers)) {
      ctx.forward({ key: r.key, value, timestamp: r.timestamp, headers: r.headers });
    }
  });
}

export function peekProcessor<K, V>(
  action: (key: K, value: V, headers: Headers) => void,
  forward: boolean,
): ProcessorSupplier<K, V, K, V> {
  return simple<K, V>((ctx, r) => {
    action(r.key, r.value, r.headers);
    if (forward) ctx.forward(r);
  });
}

export function passThroughProcessor<K, V>(): ProcessorSupplier<K, V, K, V> {
  return simple<K, V>((ctx, r) => ctx.forward(r));
}

/** Sends each record to the first branch whose predicate holds; unmatched records are dropped. */
export function branchProcessor<K, V>(
  branches: ReadonlyArray<{ predicate: (key: K, value: V) => boolean; child: string }>,
): ProcessorSupplier<K, V, K, V> {
  return simple<K, V>((ctx, r) => {
    for (const b of branches) {
      if (b.predicate(r.key, r.value)) {
        ctx.forward(r, b.child);
        return;
      }
    }
  });
}

/** Forwards each record with a copy of its headers that `update` changed. */
export function withHeadersProcessor<K, V>(
  update: (headers: Headers, key: K, value: V) => void,
): ProcessorSupplier<K, V, K, V> {
  return simple<K, V>((ctx, r) => {
    const headers = r.headers.clone();
    update(headers, r.key, r.value);
    ctx.forward({ key: r.key, value: r.value, timestamp: r.timestamp, headers });
  });
}

/** Holds the source partition at a record that is not due yet; forwards the ones that are. */
export function holdProcessor<K, V>(
  dueTime: (key: K, value: V, headers: Headers) => number,
): ProcessorSupplier<K, V, K, V> {
  return simple<K, V>((ctx, r) => {
    const due = dueTime(r.key, r.value, r.headers);
    if (due > ctx.currentSystemTimeMs()) ctx.holdPartitionUntil(due);
    else ctx.forward(r);
  });
}
