export * from './errors.ts';
export { assign as assignCopartitioned } from './platformatic/assignor.ts';
export { securityOptions as platformaticSecurityOptions } from './platformatic/connection.ts';
export { toPortError as toKafkaClientError } from './platformatic/errors.ts';
export { createPlatformaticClientFactory } from './platformatic/factory.ts';
export * from './port.ts';
export * from './security.ts';
