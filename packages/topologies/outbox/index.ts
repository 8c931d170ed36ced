export { type AppendOptions, appendToOutbox, type OutboxEvent } from './append-to-outbox.ts';
export { OutboxRelay, type OutboxRelayOptions } from './outbox-relay.ts';
export { DEFAULT_OUTBOX_TABLE, ensureOutboxTable } from './outbox-table.ts';
