export {
  type AbortEvent,
  CHANNELS,
  type CommitEvent,
  type DeadLetterEvent,
  type PollEvent,
  type ProcessBatchEvent,
  type RebalanceEvent,
  type RestoreEvent,
} from './diagnostics.ts';
export { consoleLogger, type LogFn, type Logger, silentLogger } from './logger.ts';
