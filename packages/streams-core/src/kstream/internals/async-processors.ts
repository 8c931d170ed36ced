/**
 * The processors behind `mapValuesAsync` and `foreachAsync`. Each owns one AsyncStep of its task
 * (processor/internals/async-step.ts), which runs the calls, keeps per-key order and the
 * concurrency bound, and hands results back on the stream thread's turn.
 */
import type { Headers } from '../../processor/api/headers.ts';
import type { ProcessorSupplier } from '../../processor/api/processor.ts';
import type { AsyncStep } from '../../processor/internals/async-step.ts';
import type { InternalContext } from '../../processor/internals/processor-context.ts';

export interface ResolvedAsyncOptions {
  readonly concurrency: number;
  readonly timeoutMs: number;
}

export function mapValuesAsyncProcessor<K, V, VR>(
  mapper: (value: V, key: K, headers: Headers, signal: AbortSignal) => Promise<VR>,
  options: ResolvedAsyncOptions,
): ProcessorSupplier<K, V, K, VR> {
  return () => {
    let step: AsyncStep<VR>;
    return {
      init(ctx) {
        step = (ctx as unknown as InternalContext).asyncStep<VR>(
          options,
          (r, signal) => mapper(r.value as V, r.key as K, r.headers, signal),
          (r, value) => ctx.forward({ key: r.key as K, value, timestamp: r.timestamp, headers: r.headers }),
        );
      },
      process(record) {
        step.accept(record);
      },
    };
  };
}

export function foreachAsyncProcessor<K, V>(
  action: (key: K, value: V, headers: Headers, signal: AbortSignal) => Promise<void>,
  options: ResolvedAsyncOptions,
): ProcessorSupplier<K, V, never, never> {
  return () => {
    let step: AsyncStep<void>;
    return {
      init(ctx) {
        step = (ctx as unknown as InternalContext).asyncStep<void>(
          options,
          (r, signal) => action(r.key as K, r.value as V, r.headers, signal),
          () => {},
        );
      },
      process(record) {
        step.accept(record);
      },
    };
  };
}
