/**
 * The stateless scenario with RxJS on the rx entry point: the receiver's records through the
 * same parse/price/filter as operators into a sender. at_least_once: a record is acknowledged
 * when its output is acknowledged by the broker (or when it is filtered out), and the receiver
 * commits acknowledged offsets every commit interval. exactly_once_v2: `receiveExactlyOnce`, one
 * transaction per poll with the consumed offsets in it.
 */
import { Serdes } from '@kafka-pattern/streams-core';
import {
  KafkaReceiver,
  KafkaSender,
  type ReceiverOffset,
  type ReceiverRecord,
  type SenderRecord,
} from '@kafka-pattern/streams-core/rx';
import { EMPTY, firstValueFrom, mergeMap, of, type Subscription } from 'rxjs';
import type { StartPipe } from '../harness/pipe.ts';
import { isWorthShipping, type PricedOrder, priceOrder } from './workload.ts';

export const start: StartPipe = async (run) => {
  const receiver = KafkaReceiver.create({
    bootstrapServers: run.bootstrapServers,
    groupId: run.groupId,
    topics: [run.input],
    keyDeserializer: Serdes.String(),
    valueDeserializer: Serdes.String(),
    commitIntervalMs: run.commitIntervalMs,
    commitBatchSize: Number.MAX_SAFE_INTEGER,
    maxBufferedPerPartition: 5_000,
  });
  const owned = firstValueFrom(receiver.assignments$);
  const output = <C>(r: ReceiverRecord<string, string>, correlationMetadata: C) => {
    const order = priceOrder(r.value!);
    return isWorthShipping(order)
      ? ({ topic: run.output, key: r.key, value: order, correlationMetadata } as SenderRecord<
          string,
          PricedOrder,
          C
        >)
      : undefined;
  };
  const serializers = { keySerializer: Serdes.String(), valueSerializer: Serdes.JSON<PricedOrder>() };
  let failure: unknown;
  const closeAll = async (subscription: Subscription, sender: { close(): Promise<void> }) => {
    subscription.unsubscribe();
    await receiver.close();
    await sender.close();
    if (failure !== undefined) throw failure;
  };
  const fail = (error: unknown) => {
    failure = error;
    console.error(`rx pipe failed: ${String(error)}`);
  };

  if (run.guarantee === 'exactly_once_v2') {
    const sender = KafkaSender.create({
      bootstrapServers: run.bootstrapServers,
      ...serializers,
      transactionalId: `${run.groupId}-rx`,
      maxInFlight: 5_000,
    });
    const subscription = receiver
      .receiveExactlyOnce(sender, (batch) =>
        batch.flatMap((r) => {
          const out = output(r, null);
          return out === undefined ? [] : [out];
        }),
      )
      .subscribe({ error: fail });
    await owned;
    return { close: () => closeAll(subscription, sender) };
  }

  const sender = KafkaSender.create({
    bootstrapServers: run.bootstrapServers,
    ...serializers,
    maxInFlight: 5_000,
  });
  const subscription = sender
    .send(
      receiver.receive().pipe(
        mergeMap((r) => {
          const out = output<ReceiverOffset>(r, r.receiverOffset);
          if (out !== undefined) return of(out);
          r.receiverOffset.acknowledge();
          return EMPTY;
        }),
      ),
    )
    .subscribe({ next: (result) => result.correlationMetadata.acknowledge(), error: fail });
  await owned;
  return { close: () => closeAll(subscription, sender) };
};
