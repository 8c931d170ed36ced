/**
 * KTable.suppress: holds back a table's updates in a SuppressionBuffer and emits them when their
 * time comes, as Kafka Streams' KTableSuppressProcessor does. Stream time here is the largest
 * timestamp of the updates this node has seen, and the buffer is only checked when an update
 * arrives (as in Kafka Streams, no punctuation).
 */

import { StreamsException } from '../../errors/exception-handlers.ts';
import type { Processor, ProcessorContext, ProcessorSupplier } from '../../processor/api/processor.ts';
import type { Serde } from '../../serdes/serde.ts';
import type { Windowed } from '../../serdes/windowed.ts';
import { TopologyException } from '../../topology/topology-errors.ts';
import type { Change } from '../change.ts';
import type { Suppressed } from '../windows/suppressed.ts';
import type { BuilderContext } from './builder-context.ts';
import { type Eviction, type SuppressionBuffer, suppressionBufferBuilder } from './suppress-buffer.ts';
import { findGrace } from './window-grace.ts';

interface SuppressOptions {
  readonly storeName: string;
  /** Buffered entries whose time is at most stream time minus this are emitted. */
  readonly suppressDurationMs: number;
  /** Window end (untilWindowCloses) or the update's timestamp (untilTimeLimit). */
  readonly windowEndTime: boolean;
  readonly maxRecords: number;
  readonly maxBytes: number;
  readonly emitEarlyWhenFull: boolean;
  /** Final results never include deletes. */
  readonly dropTombstones: boolean;
}

export function suppressProcessor<K, V>(o: SuppressOptions): ProcessorSupplier<K, Change<V>, K, Change<V>> {
  return () => {
    let ctx: ProcessorContext<K, Change<V>>;
    let buffer: SuppressionBuffer<K, V>;
    let observedStreamTime = -1;
    let name = '';

    const emit = (e: Eviction<K, V>): void => {
      if (e.change.newValue === null && o.dropTombstones) return;
      ctx.forward({ key: e.key, value: e.change, timestamp: e.timestamp, headers: e.headers });
    };
    const overCapacity = () => buffer.numRecords > o.maxRecords || buffer.bufferSize > o.maxBytes;

    const p: Processor<K, Change<V>, K, Change<V>> = {
      init(c) {
        ctx = c;
        buffer = c.getStateStore(o.storeName);
        name = o.storeName;
      },
      process(r) {
        observedStreamTime = Math.max(observedStreamTime, r.timestamp);
        const time = o.windowEndTime ? (r.key as unknown as Windowed<unknown>).window.end : r.timestamp;
        buffer.put(time, r.key, r.value, {
          timestamp: r.timestamp,
          headers: r.headers,
          topic: ctx.recordMetadata()?.topic ?? '',
        });
        const expiryTime = observedStreamTime - o.suppressDurationMs;
        while (buffer.numRecords > 0 && buffer.minTimestamp <= expiryTime) emit(buffer.evictFirst());
        if (!overCapacity()) return;
        if (o.emitEarlyWhenFull) {
          while (overCapacity()) emit(buffer.evictFirst());
          return;
        }
        throw new StreamsException(
          `Suppression buffer "${name}" exceeded its capacity: ${buffer.numRecords}/${o.maxRecords} records, ${buffer.bufferSize}/${o.maxBytes} bytes. ` +
            'Raise BufferConfig.maxRecords/maxBytes, or use emitEarlyWhenFull() where early results are acceptable',
        );
      },
      onStreamTimeAdvance(streamTime) {
        observedStreamTime = Math.max(observedStreamTime, streamTime);
        const expiryTime = observedStreamTime - o.suppressDurationMs;
        while (buffer.numRecords > 0 && buffer.minTimestamp <= expiryTime) emit(buffer.evictFirst());
      },
    };
    return p;
  };
}

/** Adds the suppress node and its buffer store after a table's node; returns the node's name. */
export function addSuppress(
  ctx: BuilderContext,
  parent: string,
  keySerde: Serde<any> | undefined,
  valueSerde: Serde<any> | undefined,
  suppressed: Suppressed<any>,
): string {
  const name = ctx.name(suppressed.name, 'KTABLE-SUPPRESS', parent);
  const storeName = ctx.names.claim(suppressed.name ? `${suppressed.name}-store` : `${name}-STATE-STORE`);
  if (!keySerde) {
    throw new TopologyException(
      `suppress() keeps held-back updates in store "${storeName}" and needs the table's key serde: give it where the table is created (e.g. { key: Serdes.String() } in groupByKey or Materialized)`,
    );
  }
  const untilWindowCloses = suppressed.kind === 'untilWindowCloses';
  const config = suppressed.bufferConfig;
  const options: SuppressOptions = {
    storeName,
    suppressDurationMs: untilWindowCloses ? findGrace(ctx, parent) : suppressed.timeToWaitMs,
    windowEndTime: untilWindowCloses,
    maxRecords: config.maxRecords,
    maxBytes: config.maxBytes,
    emitEarlyWhenFull: config.whenFull === 'EMIT_EARLY',
    dropTombstones: untilWindowCloses,
  };
  ctx.topology.addProcessor(name, suppressProcessor(options), parent);
  ctx.topology.addStateStore(
    suppressionBufferBuilder(storeName, keySerde, valueSerde as Serde<any>, config.logging, config.logConfig),
    name,
  );
  return name;
}
