export type { CaptureState } from './change-capture.ts';
export type { CaptureGuarantee } from './change-writer.ts';
export { UNAVAILABLE_VALUE } from './column-values.ts';
export { dropCapture } from './drop-capture.ts';
export { CDC_VERSION, PostgresCdc, type PostgresCdcOptions } from './postgres-cdc.ts';
