export * from './port.ts';
export * from './errors.ts';
export { createPlatformaticClientFactory } from './platformatic/factory.ts';
