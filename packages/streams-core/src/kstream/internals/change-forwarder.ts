/**
 * How a table-producing processor sends an update downstream. With the record cache on, the
 * store, not the processor, decides when an update leaves: the processor writes the store and
 * forwards nothing, and the cache's flush sends the folded update. Every processor that writes a
 * table's store must make that choice the same way, or downstream would see some updates twice.
 */

import { Headers } from '../../processor/api/headers.ts';
import type { ProcessorContext } from '../../processor/api/processor.ts';
import type { StreamRecord } from '../../processor/api/record.ts';
import type { KeyValueStore, TypedKeyValueStore } from '../../state/key-value-store.ts';
import type { ValueAndTimestamp } from '../../state/value-and-timestamp.ts';
import type { Change } from '../change.ts';

/**
 * Sends a table update downstream now, or, when the store has the record cache on, when the
 * cache flushes it: repeated updates of a key between commits then reach downstream once, with
 * the value they replaced at the last flush as the old value (Kafka Streams' caching semantics).
 * Flushed updates carry no headers: the cache keeps values, not the records that made them.
 */
export function changeForwarder<K, V>(
  ctx: ProcessorContext<K, Change<V>>,
  store: KeyValueStore<K, ValueAndTimestamp<V>> & {
    setFlushListener?: TypedKeyValueStore<K, ValueAndTimestamp<V>>['setFlushListener'];
  },
): (record: StreamRecord<K, Change<V>>) => void {
  const cached = store.setFlushListener?.((key, n, o) => {
    ctx.forward({
      key,
      value: { newValue: n?.value ?? null, oldValue: o?.value ?? null },
      timestamp: n?.timestamp ?? o?.timestamp ?? Math.max(ctx.currentStreamTimeMs(), 0),
      headers: new Headers(),
    });
  });
  return cached ? () => {} : (record) => ctx.forward(record);
}
