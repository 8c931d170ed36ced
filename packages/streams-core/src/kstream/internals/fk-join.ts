/**
 * Builds a foreign-key table join into the topology: the left table's sub-topology sends
 * subscriptions through `<name>-subscription-registration-topic` (keyed by the foreign key,
 * partitioned like the right table), the right table's sub-topology keeps them in
 * `<name>-subscription-store` and answers through `<name>-subscription-response-topic` (keyed by
 * the left key, back to the left row's partition), where the answers are joined and the results
 * kept in a store, so that updates downstream carry exact old values.
 */

import type { Serde } from '../../serdes/serde.ts';
import { Serdes } from '../../serdes/serdes.ts';
import { TopologyException } from '../../topology/topology-errors.ts';
import type { KTable } from '../ktable.ts';
import type { ForeignKeyJoined } from '../options.ts';
import { type BuilderContext, upstreamTopics } from './builder-context.ts';
import {
  type ForeignKeyJoinKind,
  foreignTableJoinProcessor,
  responseJoinProcessor,
  subscriptionReceiveProcessor,
  subscriptionSendProcessor,
} from './fk-join-processors.ts';
import {
  responseSerde,
  type SubscriptionResponse,
  storedSubscriptionSerde,
  subscriptionSerde,
} from './fk-join-wire.ts';
import { tableSourceProcessor } from './table-source.ts';

export interface ForeignKeyJoinNode<K, VR> {
  readonly nodeName: string;
  readonly storeName: string;
  readonly keySerde: Serde<K>;
  readonly valueSerde: Serde<VR> | undefined;
}

function required<T>(serde: Serde<T> | undefined, what: string, option: string): Serde<T> {
  if (serde) return serde;
  throw new TopologyException(
    `A foreign-key join needs ${what}, which crosses an internal topic: pass { ${option}: ... } in the join's options`,
  );
}

export function addForeignKeyJoin<K, V, KO, VO, VR>(
  kind: ForeignKeyJoinKind,
  left: KTable<K, V>,
  right: KTable<KO, VO>,
  foreignKeyExtractor: (value: V, key: K) => KO | null | undefined,
  joiner: (value: V, rightValue: VO | null) => VR,
  options: ForeignKeyJoined<K, V, KO, VO, VR> = {},
): ForeignKeyJoinNode<K, VR> {
  const ctx: BuilderContext = left.ctx;
  if (right.ctx !== ctx)
    throw new TopologyException('Tables from two different StreamsBuilders cannot be joined');
  const leftKeySerde = required(options.key ?? left.keySerde, "the left table's key serde", 'key');
  const leftValueSerde = required(options.value ?? left.valueSerde, "the left table's value serde", 'value');
  const foreignKeySerde = required(
    options.subscriptionKey ?? right.keySerde,
    'the foreign key serde',
    'subscriptionKey',
  );
  const rightValueSerde = required(
    options.otherValue ?? right.valueSerde,
    "the right table's value serde",
    'otherValue',
  );
  const rightTopic = upstreamTopics(ctx.topology, right.nodeName)[0];
  const leftTopic = upstreamTopics(ctx.topology, left.nodeName)[0];
  if (rightTopic === undefined || leftTopic === undefined)
    throw new TopologyException('A foreign-key join needs tables read from topics');

  const topology = ctx.topology;
  const base = options.name ?? ctx.names.generate('KTABLE-FK-JOIN', `${left.nodeName}+${right.nodeName}`);
  const node = (suffix: string) => ctx.names.claim(`${base}-${suffix}`);
  const registrationTopic = `${base}-subscription-registration-topic`;
  const responseTopic = `${base}-subscription-response-topic`;
  const sendName = node('subscription-registration-processor');
  const registrationSink = node('subscription-registration-sink');
  const registrationSource = node('subscription-registration-source');
  const receiveName = node('subscription-receive');
  const foreignName = node('foreign-table-join');
  const responseSink = node('subscription-response-sink');
  const responseSource = node('subscription-response-source');
  const resolverName = node('subscription-response-resolver');
  const resultName = node('result');

  // Left side: subscriptions out.
  topology.addProcessor(
    sendName,
    subscriptionSendProcessor<K, V, KO, VO, VR>({
      kind,
      foreignKeyExtractor,
      joiner,
      leftKeySerde,
      leftValueSerde,
      foreignKeySerde,
      registrationTopic,
      registrationSink,
      resultNode: resultName,
    }),
    left.nodeName,
  );
  topology.addRepartitionTopic(registrationTopic, undefined, rightTopic);
  topology.addSink(
    registrationSink,
    registrationTopic,
    { keySerde: foreignKeySerde, valueSerde: subscriptionSerde, internal: true },
    sendName,
  );

  // Right side: subscriptions kept and answered, on arrival and on each right update.
  topology.addSource(registrationSource, registrationTopic, {
    keySerde: foreignKeySerde,
    valueSerde: subscriptionSerde,
    internal: true,
  });
  const subscriptions = ctx.keyValueStore(
    { name: `${base}-subscription-store`, caching: false },
    'KTABLE-FK-JOIN-SUBSCRIPTION-STATE-STORE',
    base,
    Serdes.Buffer(),
    storedSubscriptionSerde,
  );
  topology.addProcessor(
    receiveName,
    subscriptionReceiveProcessor(subscriptions.name, right.getter, foreignKeySerde, registrationTopic),
    registrationSource,
  );
  topology.addProcessor(
    foreignName,
    foreignTableJoinProcessor<KO, VO>(subscriptions.name, foreignKeySerde, registrationTopic),
    right.nodeName,
  );
  topology.addStateStore(subscriptions.builder, receiveName, foreignName);
  for (const s of right.getter.storeNames) topology.connectProcessorAndStateStores(s, receiveName);
  ctx.requireCopartition(registrationSource, right.nodeName);

  // Answers back to the partition of the left row that asked.
  const responses = responseSerde(rightValueSerde);
  topology.addRepartitionTopic(responseTopic, undefined, leftTopic);
  topology.addSink(
    responseSink,
    responseTopic,
    {
      keySerde: Serdes.Buffer(),
      valueSerde: responses,
      partitioner: (_topic: string, _key: Buffer, value: SubscriptionResponse<VO>, partitions: number) =>
        value.leftPartition < partitions ? value.leftPartition : undefined,
      internal: true,
    },
    receiveName,
    foreignName,
  );

  // Left side: answers joined, results kept.
  topology.addSource(responseSource, responseTopic, {
    keySerde: leftKeySerde,
    valueSerde: responses,
    internal: true,
  });
  topology.addProcessor(
    resolverName,
    responseJoinProcessor<K, V, VO, VR>(kind, left.getter, leftValueSerde, registrationTopic, joiner),
    responseSource,
  );
  for (const s of left.getter.storeNames) topology.connectProcessorAndStateStores(s, resolverName);
  ctx.requireCopartition(responseSource, left.nodeName);

  const materialized = options.materialized;
  const keySerde = materialized?.key ?? leftKeySerde;
  const result = ctx.keyValueStore(
    materialized,
    'KTABLE-FK-JOIN-OUTPUT-STATE-STORE',
    resultName,
    keySerde,
    materialized?.value,
  );
  topology.addProcessor(resultName, tableSourceProcessor(result.name), resolverName, sendName);
  topology.addStateStore(result.builder, resultName);
  return { nodeName: resultName, storeName: result.name, keySerde, valueSerde: materialized?.value };
}
