/**
 * The Kafka clients of an instance when no clientFactory is given: @platformatic/kafka with the
 * config's servers, client id and security settings. Every stream thread, on the main thread or
 * in a worker, opens its clients from it.
 */
import { createPlatformaticClientFactory } from '../client/platformatic/factory.ts';
import type { KafkaClientFactory } from '../client/port.ts';
import { bootstrapList, type StreamsConfig } from '../config/streams-config.ts';

export function defaultClientFactory(config: Omit<StreamsConfig, 'logger'>): KafkaClientFactory {
  return createPlatformaticClientFactory({
    bootstrapServers: bootstrapList(config.bootstrapServers),
    clientId: config.clientId ?? config.applicationId,
    ...(config.client?.tls !== undefined ? { tls: config.client.tls } : {}),
    ...(config.client?.sasl !== undefined ? { sasl: config.client.sasl } : {}),
  });
}
