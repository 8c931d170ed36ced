export { Headers } from './headers.ts';
export type { HeaderValue } from './headers.ts';
export type { StreamRecord, RecordMetadata, KeyValue } from './record.ts';
export { PunctuationType } from './processor.ts';
export type { Processor, ProcessorContext, ProcessorSupplier, Punctuator, Cancellable } from './processor.ts';
