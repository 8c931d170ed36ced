/**
 * The client factory on @platformatic/kafka: one place that knows the bootstrap servers and
 * builds every admin, producer, consumer and partition reader the runtime asks for.
 */
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
import { PlatformaticAdmin } from './admin.ts';
import type { ConnectionConfig } from './connection.ts';
import { PlatformaticConsumer } from './consumer.ts';
import { PlatformaticPartitionReader } from './partition-reader.ts';
import { PlatformaticProducer } from './producer.ts';

export function createPlatformaticClientFactory(config: ClientConfig): KafkaClientFactory {
  if (config.bootstrapServers.length === 0) {
    throw new Error('bootstrapServers is empty: give at least one "host:port" of the Kafka cluster');
  }
  const connection: ConnectionConfig = {
    bootstrapServers: [...config.bootstrapServers],
    clientId: config.clientId ?? 'kafka-pattern',
  };
  return {
    admin: (): AdminPort => new PlatformaticAdmin(connection),
    producer: (options: ProducerOptions): ProducerPort => new PlatformaticProducer(connection, options),
    consumer: (options: ConsumerOptions): ConsumerPort => new PlatformaticConsumer(connection, options),
    partitionReader: (options: PartitionReaderOptions): PartitionReaderPort =>
      new PlatformaticPartitionReader(connection, options),
  };
}
