/**
 * The stateful count on a hand-written KafkaJS loop (../baseline/kafkajs-loop.ts), counting in a
 * JavaScript Map like the raw pipe + Map: each key's new count as an 8-byte big-endian long, no
 * durable state.
 */
import { startKafkaJsPipe } from '../baseline/kafkajs-loop.ts';
import type { StartPipe } from '../harness/pipe.ts';

export const start: StartPipe = (run) => {
  const counts = new Map<string, number>();
  return startKafkaJsPipe(run, (key) => {
    const k = key.toString();
    const count = (counts.get(k) ?? 0) + 1;
    counts.set(k, count);
    const value = Buffer.allocUnsafe(8);
    value.writeBigInt64BE(BigInt(count));
    return { key, value };
  });
};
