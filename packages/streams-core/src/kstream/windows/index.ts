export { TimeWindows } from './time-windows.ts';
export { SlidingWindows } from './sliding-windows.ts';
export { SessionWindows } from './session-windows.ts';
export { JoinWindows } from './join-windows.ts';
export { Suppressed, BufferConfig, EagerBufferConfig, StrictBufferConfig } from './suppressed.ts';
