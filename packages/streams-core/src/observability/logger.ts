/**
 * The logger the framework writes through: the `(obj, msg)` call shape of pino (and of bunyan),
 * so an application hands in its own logger as it is. Every warning the runtime, the tasks and
 * the exception handlers emit goes here; nothing in the framework writes to the console itself.
 */

/** Structured fields first, then the message, as pino's `logger.warn({ taskId }, 'text')`. */
export type LogFn = (obj: Record<string, unknown>, msg: string) => void;

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

function fields(obj: Record<string, unknown>): string {
  const keys = Object.keys(obj);
  if (keys.length === 0) return '';
  return ` ${JSON.stringify(obj, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`;
}

/** The default: info and above to the console, prefixed; debug is dropped. */
export const consoleLogger: Logger = {
  debug: () => {},
  info: (obj, msg) => console.info(`[kafka-pattern] ${msg}${fields(obj)}`),
  warn: (obj, msg) => console.warn(`[kafka-pattern] ${msg}${fields(obj)}`),
  error: (obj, msg) => console.error(`[kafka-pattern] ${msg}${fields(obj)}`),
};

/** Drops everything: for tests and tools that report on their own. */
export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
