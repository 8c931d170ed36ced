export { JoinWindows } from './join-windows.ts';
export { SessionWindows } from './session-windows.ts';
export { SlidingWindows } from './sliding-windows.ts';
export { BufferConfig, EagerBufferConfig, StrictBufferConfig, Suppressed } from './suppressed.ts';
export { TimeWindows } from './time-windows.ts';
