/** The stateless scenario on a hand-written KafkaJS loop (../baseline/kafkajs-loop.ts). */
import { startKafkaJsPipe } from '../baseline/kafkajs-loop.ts';
import type { StartPipe } from '../harness/pipe.ts';
import { isWorthShipping, priceOrder } from './workload.ts';

export const start: StartPipe = (run) =>
  startKafkaJsPipe(run, (key, value) => {
    const order = priceOrder(value.toString());
    return isWorthShipping(order) ? { key, value: Buffer.from(JSON.stringify(order)) } : undefined;
  });
