export { type StreamElement, streamToObservable } from './crossing.ts';
export { PartitionOffsets } from './offset-tracker.ts';
export {
  type ClientSource,
  type CommitEvent,
  type ExactlyOnceBatch,
  KafkaReceiver,
  type PartitionBufferStats,
  type PartitionsEvent,
  type ReceiverOffset,
  type ReceiverOptions,
  type ReceiverRecord,
  type ReceiverStats,
} from './receiver.ts';
export {
  KafkaSender,
  type RecordMetadata,
  type SenderOptions,
  type SenderRecord,
  type SenderResult,
  TransactionalKafkaSender,
  type TransactionalSenderOptions,
} from './sender.ts';
