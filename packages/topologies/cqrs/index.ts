export * from './catalogue.ts';
export * from './command-api.ts';
export * from './projection.ts';
export * from './view.ts';
export * from './view-client.ts';
