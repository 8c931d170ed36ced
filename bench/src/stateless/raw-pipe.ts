/**
 * The stateless scenario's baseline: the same parse/price/filter on the hand-rolled
 * @platformatic/kafka loop (../baseline/raw-loop.ts).
 */
import { startRawPipe } from '../baseline/raw-loop.ts';
import type { StartPipe } from '../harness/pipe.ts';
import { isWorthShipping, priceOrder } from './workload.ts';

export const start: StartPipe = (run) =>
  startRawPipe(run, (message) => {
    const order = priceOrder(message.value.toString());
    return isWorthShipping(order)
      ? { key: message.key, value: Buffer.from(JSON.stringify(order)) }
      : undefined;
  });
