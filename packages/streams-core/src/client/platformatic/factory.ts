/**
 * The client factory on @platformatic/kafka: one place that knows the bootstrap servers and the
 * TLS and SASL settings, and builds every admin, producer, consumer and partition reader the
 * runtime asks for.
 */
import { KafkaClientError } from '../errors.ts';
import type {
  AdminPort,
  ClientConfig,
  ConsumerOptions,
  ConsumerPort,
  KafkaClientFactory,
  PartitionReaderOptions,
  PartitionReaderPort,
  ProducerOptions,
  ProducerPort,
} from '../port.ts';
import { securityProblem } from '../security.ts';
import { PlatformaticAdmin } from './admin.ts';
import type { ConnectionConfig } from './connection.ts';
import { PlatformaticConsumer } from './consumer.ts';
import { PlatformaticPartitionReader } from './partition-reader.ts';
import { PlatformaticProducer } from './producer.ts';

export function createPlatformaticClientFactory(config: ClientConfig): KafkaClientFactory {
  if (config.bootstrapServers.length === 0) {
    throw new Error('bootstrapServers is empty: give at least one "host:port" of the Kafka cluster');
  }
  const problem = securityProblem(config, '');
  if (problem !== undefined) throw new KafkaClientError(problem);
  const connection: ConnectionConfig = {
    bootstrapServers: [...config.bootstrapServers],
    clientId: config.clientId ?? 'kafka-pattern',
    ...(config.tls !== undefined ? { tls: config.tls } : {}),
    ...(config.sasl !== undefined ? { sasl: config.sasl } : {}),
  };
  return {
    admin: (): AdminPort => new PlatformaticAdmin(connection),
    producer: (options: ProducerOptions): ProducerPort => new PlatformaticProducer(connection, options),
    consumer: (options: ConsumerOptions): ConsumerPort => new PlatformaticConsumer(connection, options),
    partitionReader: (options: PartitionReaderOptions): PartitionReaderPort =>
      new PlatformaticPartitionReader(connection, options),
  };
}
