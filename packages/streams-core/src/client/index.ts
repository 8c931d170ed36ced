export * from './errors.ts';
export { assign as assignCopartitioned } from './platformatic/assignor.ts';
export { createPlatformaticClientFactory } from './platformatic/factory.ts';
export * from './port.ts';
export * from './security.ts';
