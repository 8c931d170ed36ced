/**
 * Runtime events on `node:diagnostics_channel`, for tracing and metrics without a dependency:
 * `subscribe('kafka-pattern:commit', (event) => …)`. Each publisher checks `hasSubscribers`
 * first, so an event nobody listens to costs one property read and builds nothing.
 */
import { channel } from 'node:diagnostics_channel';
import type { TopicPartition } from '../client/port.ts';

export interface PollEvent {
  readonly applicationId: string;
  readonly partitions: number;
  readonly records: number;
  readonly durationMs: number;
}
export interface ProcessBatchEvent {
  readonly applicationId: string;
  readonly records: number;
  readonly durationMs: number;
}
export interface CommitEvent {
  readonly applicationId: string;
  readonly guarantee: 'at_least_once' | 'exactly_once_v2';
  readonly offsets: number;
  readonly durationMs: number;
}
export interface AbortEvent {
  readonly applicationId: string;
  readonly reason: string;
}
export interface RebalanceEvent {
  readonly applicationId: string;
  readonly phase: 'revoked' | 'assigned';
  readonly partitions: readonly TopicPartition[];
}
export interface RestoreEvent {
  readonly applicationId: string;
  readonly taskId: string;
  readonly store: string;
  readonly changelog: string;
  readonly partition: number;
  readonly restored: number;
  readonly durationMs: number;
}
export interface DeadLetterEvent {
  readonly applicationId: string;
  readonly taskId: string;
  readonly topic: string;
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: bigint };
  readonly reason: string;
}

/** Channel names, one per event. */
export const CHANNELS = {
  poll: 'kafka-pattern:poll',
  processBatch: 'kafka-pattern:process-batch',
  commit: 'kafka-pattern:commit',
  abort: 'kafka-pattern:abort',
  rebalance: 'kafka-pattern:rebalance',
  restore: 'kafka-pattern:restore',
  deadLetter: 'kafka-pattern:dead-letter',
} as const;

export const diagnostics = {
  poll: channel(CHANNELS.poll),
  processBatch: channel(CHANNELS.processBatch),
  commit: channel(CHANNELS.commit),
  abort: channel(CHANNELS.abort),
  rebalance: channel(CHANNELS.rebalance),
  restore: channel(CHANNELS.restore),
  deadLetter: channel(CHANNELS.deadLetter),
};
