/**
 * The stateless scenario's topology, `stream → mapValues → filter → to`; the default export is
 * the topology module the worker threads of a multi-threaded run build it from.
 */
import { Serdes, StreamsBuilder, type Topology } from '@kafka-pattern/streams-core';
import { isWorthShipping, type PricedOrder, priceOrder } from './workload.ts';

export default function statelessTopology(input: string, output: string): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream(input, { key: Serdes.String(), value: Serdes.String() })
    .mapValues(priceOrder)
    .filter((_key, order) => isWorthShipping(order))
    .to(output, { key: Serdes.String(), value: Serdes.JSON<PricedOrder>() });
  return builder.build();
}
