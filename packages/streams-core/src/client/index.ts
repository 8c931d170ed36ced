export * from './errors.ts';
export { createPlatformaticClientFactory } from './platformatic/factory.ts';
export * from './port.ts';
