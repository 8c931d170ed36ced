export type { HeaderValue } from './headers.ts';
export { Headers } from './headers.ts';
export type { Cancellable, Processor, ProcessorContext, ProcessorSupplier, Punctuator } from './processor.ts';
export { PunctuationType } from './processor.ts';
export type { KeyValue, RecordMetadata, StreamRecord } from './record.ts';
