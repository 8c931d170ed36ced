/**
 * Suppressed: how `KTable.suppress` holds back updates. `untilWindowCloses` emits each window's
 * final result once; `untilTimeLimit` emits a key's latest value once the time limit has passed
 * in stream time. The buffer's bounds and what happens when it is full are a BufferConfig.
 */
import type { Windowed } from '../../serdes/windowed.ts';
import { checkMillis } from './durations.ts';

interface BufferBounds {
  readonly maxRecords: number;
  readonly maxBytes: number;
  /** false: the buffer is local only and lost with the machine. */
  readonly logging: boolean;
  readonly logConfig: Readonly<Record<string, string>>;
}

abstract class BufferConfigBase<Self> {
  readonly maxRecords: number;
  readonly maxBytes: number;
  readonly logging: boolean;
  readonly logConfig: Readonly<Record<string, string>>;

  constructor(bounds: BufferBounds) {
    this.maxRecords = bounds.maxRecords;
    this.maxBytes = bounds.maxBytes;
    this.logging = bounds.logging;
    this.logConfig = bounds.logConfig;
  }

  protected abstract copy(bounds: BufferBounds): Self;

  withMaxRecords(n: number): Self {
    return this.copy({ ...this, maxRecords: checkMillisLike('maxRecords', n) });
  }

  withMaxBytes(n: number): Self {
    return this.copy({ ...this, maxBytes: checkMillisLike('maxBytes', n) });
  }

  /** Changes are not written to a changelog: a restarted task starts with an empty buffer. */
  withLoggingDisabled(): Self {
    return this.copy({ ...this, logging: false, logConfig: {} });
  }

  withLoggingEnabled(config: Record<string, string> = {}): Self {
    return this.copy({ ...this, logging: true, logConfig: { ...config } });
  }
}

function checkMillisLike(what: string, n: number): number {
  if (n === Number.POSITIVE_INFINITY) return n;
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`Buffer ${what} must be a positive whole number, got ${String(n)}`);
  return n;
}

/** When full, emits the oldest records early: fewer updates are suppressed, none lost. */
export class EagerBufferConfig extends BufferConfigBase<EagerBufferConfig> {
  readonly whenFull = 'EMIT_EARLY' as const;
  protected copy(bounds: BufferBounds): EagerBufferConfig {
    return new EagerBufferConfig(bounds);
  }
  shutDownWhenFull(): StrictBufferConfig {
    return new StrictBufferConfig(this);
  }
  emitEarlyWhenFull(): EagerBufferConfig {
    return this;
  }
}

/** Never emits early: when full, the task fails (unbounded buffers are never full). */
export class StrictBufferConfig extends BufferConfigBase<StrictBufferConfig> {
  readonly whenFull = 'SHUT_DOWN' as const;
  protected copy(bounds: BufferBounds): StrictBufferConfig {
    return new StrictBufferConfig(bounds);
  }
  emitEarlyWhenFull(): EagerBufferConfig {
    return new EagerBufferConfig(this);
  }
  shutDownWhenFull(): StrictBufferConfig {
    return this;
  }
  withNoBound(): StrictBufferConfig {
    return new StrictBufferConfig({
      ...this,
      maxRecords: Number.POSITIVE_INFINITY,
      maxBytes: Number.POSITIVE_INFINITY,
    });
  }
}

export type BufferConfig = EagerBufferConfig | StrictBufferConfig;

const UNBOUNDED: BufferBounds = {
  maxRecords: Number.POSITIVE_INFINITY,
  maxBytes: Number.POSITIVE_INFINITY,
  logging: true,
  logConfig: {},
};

export const BufferConfig = {
  /** No bound: memory (and the buffer's store) grows with the number of keys held back. */
  unbounded(): StrictBufferConfig {
    return new StrictBufferConfig(UNBOUNDED);
  },
  /** At most `n` keys; when exceeded, the oldest are emitted early (`.shutDownWhenFull()` to fail instead). */
  maxRecords(n: number): EagerBufferConfig {
    return new EagerBufferConfig({ ...UNBOUNDED, maxRecords: checkMillisLike('maxRecords', n) });
  },
  /** At most `n` bytes of serialized keys and values (an estimate, as in Kafka Streams). */
  maxBytes(n: number): EagerBufferConfig {
    return new EagerBufferConfig({ ...UNBOUNDED, maxBytes: checkMillisLike('maxBytes', n) });
  },
} as const;

/** A suppression for a KTable keyed by K. Create with `Suppressed.untilWindowCloses` or `untilTimeLimit`. */
export interface Suppressed<K> {
  readonly kind: 'untilWindowCloses' | 'untilTimeLimit';
  /** untilTimeLimit: how long after a key's first held-back update it is emitted. */
  readonly timeToWaitMs: number;
  readonly bufferConfig: BufferConfig;
  /** Names the suppress processor (and its store, `<name>-store`). */
  readonly name: string | undefined;
  withName(name: string): Suppressed<K>;
  /** @internal ties the suppression to the table's key type */
  readonly __key?: (key: K) => void;
}

function make<K>(
  kind: Suppressed<K>['kind'],
  timeToWaitMs: number,
  bufferConfig: BufferConfig,
  name: string | undefined,
): Suppressed<K> {
  return {
    kind,
    timeToWaitMs,
    bufferConfig,
    name,
    withName: (n: string) => make<K>(kind, timeToWaitMs, bufferConfig, n),
  };
}

export const Suppressed = {
  /**
   * Emits only the final result of each window, once stream time passes the window's end plus
   * its grace period. The buffer must be strict: emitting early would not be a final result.
   * Deletes (tombstones) are not emitted.
   */
  untilWindowCloses(bufferConfig: StrictBufferConfig = BufferConfig.unbounded()): Suppressed<Windowed<any>> {
    if (!(bufferConfig instanceof StrictBufferConfig)) {
      throw new TypeError(
        'Suppressed.untilWindowCloses needs a strict buffer (BufferConfig.unbounded() or ....shutDownWhenFull()): emitting early would not be a final result',
      );
    }
    return make('untilWindowCloses', 0, bufferConfig, undefined);
  },
  /**
   * Holds back a key's updates until `timeToWaitMs` of stream time after its first held-back
   * update, then emits the latest. `untilTimeLimit(0, ...)` emits every update.
   */
  untilTimeLimit<K = any>(
    timeToWaitMs: number,
    bufferConfig: BufferConfig = BufferConfig.unbounded(),
  ): Suppressed<K> {
    checkMillis('Suppression time limit', timeToWaitMs, 0);
    return make<K>('untilTimeLimit', timeToWaitMs, bufferConfig, undefined);
  },
} as const;
