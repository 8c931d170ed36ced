/**
 * The stateful count as a user would hand-roll it without durable state: a JavaScript Map on
 * the raw @platformatic/kafka loop (../baseline/raw-loop.ts), emitting each key's new count as an
 * 8-byte big-endian long like Serdes.Long(). The counts live and die with the process: nothing
 * survives a restart or moves with a partition, which is what the framework's store and
 * changelog pay for.
 */
import { startRawPipe } from '../baseline/raw-loop.ts';
import type { StartPipe } from '../harness/pipe.ts';

export const start: StartPipe = (run) => {
  const counts = new Map<string, number>();
  return startRawPipe(run, (message) => {
    const key = message.key.toString();
    const count = (counts.get(key) ?? 0) + 1;
    counts.set(key, count);
    const value = Buffer.allocUnsafe(8);
    value.writeBigInt64BE(BigInt(count));
    return { key: message.key, value };
  });
};
